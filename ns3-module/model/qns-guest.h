/*
 * QnsGuest - a QEMU guest as an ns-3 Object: what it boots, how much memory
 * it has, the command it runs, its NICs. By default it is the default guest
 * (qns's own kernel and initramfs, which configure the NICs' IPv4 addresses,
 * start the services, run the command and power off).
 *
 * A guest is put into a simulation by QnsHelper::Install(guest, nic,
 * device), once per NIC; its QEMU starts when the simulation starts, at
 * time 0, and after the run Failure() says whether its part was a success.
 *
 *   Ptr<QnsGuest> g = CreateObjectWithAttributes<QnsGuest>(
 *       "Name", StringValue("h1"), "Command", StringValue("ping -c 3 10.1.1.2"));
 *   g->AddNic("10.1.1.1/24");
 */
#ifndef QNS_GUEST_MODEL_H
#define QNS_GUEST_MODEL_H

#include "qns-guest-argv.h"

#include "ns3/ipv4-address.h"
#include "ns3/mac48-address.h"
#include "ns3/object.h"

#include <string>
#include <vector>

namespace ns3
{

/* Its settings are a QnsGuestSpec (qns-guest-spec.h), which its attributes
 * set field by field and SetSpec sets whole (the C API's way): one
 * description, checked once when the guest is prepared. */
class QnsGuest : public Object, private QnsGuestSpec
{
public:
    enum NicModel {
        VIRTIO,
        E1000,
    };

    static TypeId GetTypeId();
    QnsGuest();
    ~QnsGuest() override;

    /* Adds a NIC and returns its number (0, 1, ...). ipv4 "A.B.C.D/P" is set
     * by the default guest ("" for none); mac "" is the default
     * 52:54:00:GG:GG:NN (guest number, NIC number + 1). */
    uint32_t AddNic(const std::string &ipv4 = "", NicModel model = VIRTIO,
                    const std::string &mac = "");
    /* The same with ns-3's types: the address and its mask, the model, and
     * a MAC (Mac48Address(): the default). */
    uint32_t AddNic(Ipv4Address address, Ipv4Mask mask, NicModel model = VIRTIO,
                    Mac48Address mac = Mac48Address());
    uint32_t GetNicCount() const;
    /* ExtraArgs, Program and Files as words (no shell quoting or commas to
     * get right); an empty argv is a program of no words, which Prepare
     * refuses. */
    void SetExtraArgs(const std::vector<std::string> &args);
    void SetProgram(const std::vector<std::string> &argv);
    void SetFiles(const std::vector<std::string> &files);
    /* The files Disk's image names as its backing (a qcow2 chain's): QEMU
     * reads them too, so its confinement shows them. */
    void SetDiskBacking(const std::vector<std::string> &files);
    /* The whole description at once, and as it stands. */
    void SetSpec(const QnsGuestSpec &spec);
    const QnsGuestSpec &GetSpec() const;
    /* "" before the guest is prepared; then its own or the default MAC. */
    std::string GetMac(uint32_t nic) const;
    std::string GetIpv4(uint32_t nic) const;

    /* Checks the settings and builds the QEMU command line of the guest as
     * the index-th of its simulation (default name guestN, default MACs, RNG
     * seed = seed + index), its console written to outDir/NAME.console.
     * Called by QnsHelper::Install. False with the reason in err, which
     * names the guest. */
    bool Prepare(int index, uint32_t seed, uint32_t spinUs, const std::string &outDir,
                 std::string &err);
    bool IsPrepared() const;
    int GetIndex() const;
    std::string GetName() const;
    const QnsGuestDesc &GetDescription() const;

private:
    /* A field of the description as a member of QnsGuest, for an attribute's
     * accessor. */
    template <typename T> static T QnsGuest::*Field(T QnsGuestSpec::*field)
    {
        return field;
    }

    /* The text attributes ExtraArgs and Program (shell words) and Files
     * (comma-separated SRC:DST pairs), split once when they are set. */
    void SetExtraArgsText(std::string text);
    std::string GetExtraArgsText() const;
    void SetProgramText(std::string text);
    std::string GetProgramText() const;
    void SetFilesText(std::string text);
    std::string GetFilesText() const;
    /* The Boot attribute (ns-3's EnumValue holds an int). */
    void SetBootValue(int boot);
    int GetBootValue() const;

    std::string m_extraArgsError, m_programError; /* a quoting mistake, for Prepare */
    int m_index;
    QnsGuestDesc m_desc;
};

} // namespace ns3

#endif

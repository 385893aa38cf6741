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

#include "ns3/object.h"

#include <string>
#include <vector>

namespace ns3
{

class QnsGuest : public Object
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
    uint32_t GetNicCount() const;
    /* ExtraArgs and Program as words (no shell quoting to get right); an
     * empty argv is a program of no words, which Prepare refuses. */
    void SetExtraArgs(const std::vector<std::string> &args);
    void SetProgram(const std::vector<std::string> &argv);
    /* The files Disk's image names as its backing (a qcow2 chain's): QEMU
     * reads them too, so its confinement shows them. */
    void SetDiskBacking(const std::vector<std::string> &files);
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

    /* The C API's view of the settings (pointers into this object's strings,
     * valid while it lives and is not changed). */
    qns_guest_config GetConfig() const;

private:
    std::string m_name, m_qemu, m_guestDir, m_kernel, m_initrd, m_append, m_kernelArgs, m_disk;
    std::string m_command, m_services, m_extraArgs, m_program, m_files;
    uint32_t m_memoryMb;
    uint32_t m_icountShift;
    bool m_endsRun;
    bool m_agent;
    std::vector<qns_nic_config> m_nics; /* their strings point into m_nicText */
    std::vector<std::pair<std::string, std::string>> m_nicText; /* (ipv4, mac) */
    /* ExtraArgs and Program split into words, as the config points to them */
    mutable std::vector<std::string> m_extraWords, m_programWords;
    mutable std::vector<const char *> m_extraArgv, m_programArgv;
    /* Files split into its SRC:DST pairs, as the config points to them */
    mutable std::vector<std::string> m_fileSpecs;
    mutable std::vector<const char *> m_fileArgv;
    std::vector<std::string> m_diskBacking;
    mutable std::vector<const char *> m_diskBackingArgv;
    int m_index;
    QnsGuestDesc m_desc;
};

} // namespace ns3

#endif

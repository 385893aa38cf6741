/*
 * qns-guests.cc - the C API's guests: a guest's configuration into a
 * QnsGuest of the simulation's run, and what each guest was prepared as
 * (its QEMU command line, the files packed into its initrd).
 */
#include "qns-sim-internal.h"

#include "ns3/core-module.h"

#include <cstring>
#include <string>
#include <vector>

using namespace ns3;

/* What a config describes, over spec (the attribute defaults): the C API's
 * one way into the model's description of a guest. False with err only for
 * what a C array cannot be (a negative NIC count); QnsGuestSpecCheck checks
 * the rest when the guest is added. */
static bool SpecFromConfig(const qns_sim *sim, const qns_guest_config &c, const std::string &name,
                           QnsGuestSpec &spec, std::string &err)
{
    auto text = [](const char *v) { return v ? std::string(v) : std::string(); };
    auto words = [](const char *const *v) {
        std::vector<std::string> w;
        for (const char *const *p = v; p && *p; p++) {
            w.emplace_back(*p);
        }
        return w;
    };
    if (c.nic_count < 0) {
        err = "guest " + name + ": nic_count " + std::to_string(c.nic_count) + " is negative";
        return false;
    }
    spec.name = text(c.name);
    spec.qemu = sim->qemu;
    spec.guestDir = sim->guestDir;
    spec.snapshotDir = sim->snapshotDir;
    spec.stop = sim->stop;
    spec.stopCtx = sim->stopCtx;
    spec.snapshotBoot = sim->snapshotBoot;
    spec.kernel = text(c.kernel);
    spec.initrd = text(c.initrd);
    spec.append = text(c.append);
    spec.kernelArgs = text(c.kernel_args);
    spec.disk = text(c.disk);
    spec.diskBacking = words(c.disk_backing);
    spec.memoryMb = c.memory_mb;
    spec.command = text(c.command);
    spec.services = text(c.services);
    spec.files = words(c.files);
    spec.extraArgs = words(c.extra_args);
    spec.hasProgram = c.program != nullptr;
    spec.program = words(c.program);
    spec.endsRun = c.ends_run != 0;
    spec.agent = c.agent != 0;
    if (c.boot != QNS_BOOT_AUTO && c.boot != QNS_BOOT_COLD && c.boot != QNS_BOOT_SNAPSHOT) {
        err = "guest " + name + ": boot " + std::to_string(static_cast<int>(c.boot)) +
              " is not QNS_BOOT_AUTO, QNS_BOOT_COLD or QNS_BOOT_SNAPSHOT";
        return false;
    }
    spec.boot = c.boot == QNS_BOOT_SNAPSHOT ? QnsBoot::Snapshot
                : c.boot == QNS_BOOT_COLD   ? QnsBoot::Cold
                                            : QnsBoot::Auto;
    /* More than the array holds: as many default NICs, which the check refuses. */
    spec.nics.assign(static_cast<size_t>(c.nic_count), QnsNicSpec());
    for (int i = 0; i < c.nic_count && i < QNS_MAX_NICS; i++) {
        const qns_nic_config &n = c.nics[i];
        spec.nics[static_cast<size_t>(i)] = {text(n.ipv4), text(n.mac),
                                             n.model == QNS_NIC_E1000 ? QnsNicModel::E1000
                                                                      : QnsNicModel::Virtio};
    }
    return true;
}

extern "C" int qns_sim_add_guest(qns_sim *sim, const qns_guest_config *guest, char *errbuf)
{
    std::string err;
    const std::string name =
        guest->name ? guest->name : "guest" + std::to_string(sim->guests.size());
    Ptr<QnsGuest> g = CreateObject<QnsGuest>();
    QnsGuestSpec spec = g->GetSpec();
    if (!SpecFromConfig(sim, *guest, name, spec, err)) {
        QnsSetErr(errbuf, err);
        return -1;
    }
    g->SetSpec(spec);
    if (guest->rank > QNS_MAX_RANK) {
        QnsSetErr(errbuf, "guest " + name + ": rank " + std::to_string(guest->rank) + " is above " +
                              std::to_string(QNS_MAX_RANK));
        return -1;
    }
    if (!sim->helper.GetRun()->AddGuest(g, err)) {
        QnsSetErr(errbuf, err);
        return -1;
    }
    sim->guests.push_back(g->GetDescription());
    sim->guestRanks.push_back(guest->rank);
    sim->argvs.clear(); /* pointers into guests may have moved */
    sim->fileLists.clear();
    return static_cast<int>(sim->guests.size()) - 1;
}

/* Guest number guest's strings (field of its description) as a
 * NULL-terminated array, kept in cache: null for no such guest. */
static const char *const *GuestStrings(const qns_sim *sim, int guest,
                                       std::vector<std::string> QnsGuestDesc::*field,
                                       std::vector<std::vector<const char *>> &cache)
{
    if (guest < 0 || guest >= static_cast<int>(sim->guests.size())) {
        return nullptr;
    }
    if (cache.size() != sim->guests.size()) {
        cache.assign(sim->guests.size(), {});
        for (size_t i = 0; i < sim->guests.size(); i++) {
            for (const auto &a : sim->guests[i].*field) {
                cache[i].push_back(a.c_str());
            }
            cache[i].push_back(nullptr);
        }
    }
    return cache[static_cast<size_t>(guest)].data();
}

extern "C" const char *const *qns_sim_guest_argv(const qns_sim *sim, int guest)
{
    return GuestStrings(sim, guest, &QnsGuestDesc::argv, const_cast<qns_sim *>(sim)->argvs);
}

extern "C" const char *const *qns_sim_guest_files(const qns_sim *sim, int guest)
{
    return GuestStrings(sim, guest, &QnsGuestDesc::files, const_cast<qns_sim *>(sim)->fileLists);
}

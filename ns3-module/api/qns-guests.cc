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

/* The QnsGuest a config describes; null with err when a setting is out of
 * the guest's range. */
static Ptr<QnsGuest> GuestFromConfig(const qns_sim *sim, const qns_guest_config &c,
                                     const std::string &name, std::string &err)
{
    Ptr<QnsGuest> g = CreateObject<QnsGuest>();
    auto set = [&](const char *attr, const char *v) {
        if (v != nullptr) {
            g->SetAttribute(attr, StringValue(v));
        }
    };
    set("Name", c.name);
    set("Qemu", sim->qemu.c_str());
    set("GuestDir", sim->guestDir.c_str());
    set("Kernel", c.kernel);
    set("Initrd", c.initrd);
    set("Append", c.append);
    set("KernelArgs", c.kernel_args);
    set("Disk", c.disk);
    set("Command", c.command);
    set("Services", c.services);
    if (c.memory_mb != 0 &&
        (c.memory_mb < 16 || !g->SetAttributeFailSafe("MemoryMb", UintegerValue(c.memory_mb)))) {
        err = "guest " + name + ": memory_mb " + std::to_string(c.memory_mb) +
              " is out of range (16 .. 1048576)";
        return nullptr;
    }
    g->SetAttribute("EndsRun", BooleanValue(c.ends_run != 0));
    g->SetAttribute("Agent", BooleanValue(c.agent != 0));
    auto words = [](const char *const *v) {
        std::vector<std::string> w;
        for (const char *const *p = v; p && *p; p++) {
            w.emplace_back(*p);
        }
        return w;
    };
    /* QnsGuest's Files separates pairs with commas. */
    std::string files;
    for (const char *const *p = c.files; p && *p; p++) {
        if (std::strchr(*p, ',') != nullptr) {
            err = "guest " + name + ": files: '" + *p +
                  "' has a ',', which separates files in QnsGuest's Files; rename it";
            return nullptr;
        }
        files += (files.empty() ? "" : ", ") + std::string(*p);
    }
    if (c.files && c.files[0] && files.empty()) {
        files = ","; /* an empty pair: still given, and refused as such */
    }
    set("Files", files.empty() ? nullptr : files.c_str());
    g->SetExtraArgs(words(c.extra_args));
    g->SetDiskBacking(words(c.disk_backing));
    if (c.program != nullptr) {
        g->SetProgram(words(c.program));
    }
    if (c.nic_count < 0 || c.nic_count > QNS_MAX_NICS) {
        err = "guest " + name + ": " + std::to_string(c.nic_count) + " NICs, at most " +
              std::to_string(QNS_MAX_NICS);
        return nullptr;
    }
    for (int i = 0; i < c.nic_count; i++) {
        const qns_nic_config &n = c.nics[i];
        g->AddNic(n.ipv4 ? n.ipv4 : "",
                  n.model == QNS_NIC_E1000 ? QnsGuest::E1000 : QnsGuest::VIRTIO,
                  n.mac ? n.mac : "");
    }
    return g;
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

extern "C" int qns_sim_add_guest(qns_sim *sim, const qns_guest_config *guest, char *errbuf)
{
    std::string err;
    const std::string name =
        guest->name ? guest->name : "guest" + std::to_string(sim->guests.size());
    Ptr<QnsGuest> g = GuestFromConfig(sim, *guest, name, err);
    if (!g) {
        QnsSetErr(errbuf, err);
        return -1;
    }
    for (int i = 0; i < guest->nic_count; i++) {
        const char *ip = guest->nics[i].ipv4;
        if (ip != nullptr &&
            !QnsCheckHostAddress("guest " + name + " NIC " + std::to_string(i), ip, err)) {
            QnsSetErr(errbuf, err);
            return -1;
        }
    }
    if (guest->rank > QNS_MAX_RANK) {
        QnsSetErr(errbuf, "guest " + name + ": rank " + std::to_string(guest->rank) + " is above " +
                              std::to_string(QNS_MAX_RANK));
        return -1;
    }
    /* A guest's RNG seed is ns-3's seed plus its number. */
    RngSeedManager::SetSeed(sim->cfg.seed);
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

extern "C" const char *const *qns_sim_guest_argv(const qns_sim *sim, int guest)
{
    return GuestStrings(sim, guest, &QnsGuestDesc::argv, const_cast<qns_sim *>(sim)->argvs);
}

extern "C" const char *const *qns_sim_guest_files(const qns_sim *sim, int guest)
{
    return GuestStrings(sim, guest, &QnsGuestDesc::files, const_cast<qns_sim *>(sim)->fileLists);
}

/*
 * qns-sim.cc - a simulation of the C API (qns.h): its configuration and
 * the checks of it, progress reports, a request to stop, and the results a
 * run left (qns-run.cc gathers them).
 */
#include "qns-sim-internal.h"

#include "qns-guest-image.h"

#include "ns3/core-module.h"

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <string>
#include <unistd.h>

using namespace ns3;

namespace ns3
{

void QnsSetErr(char *errbuf, const std::string &msg)
{
    if (errbuf != nullptr) {
        std::snprintf(errbuf, QNS_ERRBUF_SIZE, "%s", msg.c_str());
    }
}

} // namespace ns3

/* qns_sim_config_check, and the guest image folder guest_image names. */
static bool CheckConfig(const qns_sim_config *config, std::string &imageDir, std::string &err)
{
    if (config == nullptr) {
        return true;
    }
    char e[QNS_ERRBUF_SIZE];
    if (qns_sync_spin_check(config->spin_us, config->pin, e) < 0) {
        err = e;
        return false;
    }
    if (config->guest_image &&
        !QnsGuestImageDir(config->guest_image, config->guest_dir ? config->guest_dir : "", imageDir,
                          err)) {
        return false;
    }
    if (config->watchdog_ms != QNS_WATCHDOG_NONE && config->watchdog_ms > INT_MAX) {
        err = "watchdog_ms " + std::to_string(config->watchdog_ms) + " is above " +
              std::to_string(INT_MAX) + " (QNS_WATCHDOG_NONE for no watchdog)";
        return false;
    }
    return true;
}

/* The stop pipe of a new simulation; its read end is not descriptor 0. */
static bool OpenStopPipe(int stopPipe[2], char *errbuf)
{
    if (pipe2(stopPipe, O_CLOEXEC | O_NONBLOCK) < 0) {
        QnsSetErr(errbuf, std::string("cannot create the stop pipe: ") + std::strerror(errno));
        return false;
    }
    if (stopPipe[0] == 0) {
        /* stdin was closed; descriptor 0 means "no stop descriptor" below */
        int fd = fcntl(0, F_DUPFD_CLOEXEC, 3);
        close(0);
        if (fd < 0) {
            close(stopPipe[1]);
            QnsSetErr(errbuf, std::string("cannot move the stop pipe: ") + std::strerror(errno));
            return false;
        }
        stopPipe[0] = fd;
    }
    return true;
}

/* The configuration with its defaults; the strings it names are kept as
 * copies (outDir, qemu, guestDir). */
static void SetConfig(qns_sim *sim, const qns_sim_config *config, const std::string &imageDir)
{
    if (config != nullptr) {
        sim->cfg = *config;
    } else {
        std::memset(&sim->cfg, 0, sizeof(sim->cfg));
    }
    if (sim->cfg.quantum_us == 0) {
        sim->cfg.quantum_us = QNS_QUANTUM_US_DEFAULT;
    }
    if (sim->cfg.seed == 0) {
        sim->cfg.seed = 1;
    }
    if (sim->cfg.watchdog_ms == 0) {
        sim->cfg.watchdog_ms = QNS_WATCHDOG_DEFAULT_MS;
    } else if (sim->cfg.watchdog_ms == QNS_WATCHDOG_NONE) {
        sim->cfg.watchdog_ms = 0; /* the scheduler's "no bound" */
    }
    sim->outDir = sim->cfg.out_dir ? sim->cfg.out_dir : ".";
    sim->qemu = sim->cfg.qemu && *sim->cfg.qemu ? sim->cfg.qemu : QnsInstalledQemu();
    sim->guestDir = !imageDir.empty()                           ? imageDir
                    : sim->cfg.guest_dir && *sim->cfg.guest_dir ? sim->cfg.guest_dir
                                                                : QnsInstalledGuestDir();
    sim->snapshotDir = sim->cfg.snapshot_dir ? sim->cfg.snapshot_dir : "";
    sim->stop = sim->cfg.stop;
    sim->stopCtx = sim->cfg.stop_ctx;
    sim->snapshotBoot = sim->cfg.snapshot_boot;
    sim->cfg.snapshot_dir = nullptr;
    sim->cfg.out_dir = nullptr;
    sim->cfg.qemu = nullptr;
    sim->cfg.guest_dir = nullptr;
    sim->cfg.guest_image = nullptr;
    sim->cfg.watchdog_off = nullptr;
}

/* The output folder and the scheduler's attributes, as the configuration
 * gives them. */
static void SetUpHelper(qns_sim *sim, const qns_sim_config *config)
{
    sim->helper.SetOutputDirectory(sim->outDir);
    sim->helper.SetSchedulerAttribute("Quantum", TimeValue(MicroSeconds(sim->cfg.quantum_us)));
    sim->helper.SetSchedulerAttribute("WatchdogMs", UintegerValue(sim->cfg.watchdog_ms));
    sim->helper.SetSchedulerAttribute(
        "WatchdogOff", StringValue(config && config->watchdog_off
                                       ? config->watchdog_off
                                       : "set watchdog_ms to QNS_WATCHDOG_NONE in qns_sim_config"));
    sim->helper.SetSchedulerAttribute("SpinUs", UintegerValue(sim->cfg.spin_us));
    sim->helper.SetSchedulerAttribute("Pin", BooleanValue(sim->cfg.pin != 0));
    sim->helper.SetSchedulerAttribute("Adaptive",
                                      BooleanValue(sim->cfg.rounds != QNS_ROUNDS_FIXED));
    sim->helper.GetScheduler()->SetStopFd(sim->stopPipe[0]);
    sim->helper.GetRun()->SetGuestSeed(sim->cfg.seed);
}

extern "C" int qns_sim_config_check(const qns_sim_config *config, char *errbuf)
{
    std::string imageDir, err;
    if (!CheckConfig(config, imageDir, err)) {
        QnsSetErr(errbuf, err);
        return -1;
    }
    return 0;
}

extern "C" qns_sim *qns_sim_new(const qns_sim_config *config, char *errbuf)
{
    std::string imageDir, err;
    if (!CheckConfig(config, imageDir, err)) {
        QnsSetErr(errbuf, err);
        return nullptr;
    }
    int stopPipe[2];
    if (!OpenStopPipe(stopPipe, errbuf)) {
        return nullptr;
    }
    auto sim = new qns_sim();
    sim->stopPipe[0] = stopPipe[0];
    sim->stopPipe[1] = stopPipe[1];
    SetConfig(sim, config, imageDir);
    SetUpHelper(sim, config);
    return sim;
}

extern "C" int qns_guest_image_dir(const char *key, const char *first, char *dir, size_t size,
                                   char *errbuf)
{
    std::string d, err;
    if (!QnsGuestImageDir(key, first ? first : "", d, err)) {
        QnsSetErr(errbuf, err);
        return -1;
    }
    if (d.size() + 1 > size) {
        QnsSetErr(errbuf,
                  "guest image folder " + d + " is longer than " + std::to_string(size) + " bytes");
        return -1;
    }
    std::memcpy(dir, d.c_str(), d.size() + 1);
    return 0;
}

extern "C" void qns_sim_set_progress(qns_sim *sim, qns_progress_fn fn, void *ctx,
                                     uint32_t interval_ms)
{
    sim->progressFn = fn;
    sim->progressCtx = ctx;
    sim->progressMs = interval_ms;
}

extern "C" int qns_sim_guest_stats(const qns_sim *sim, int guest, qns_guest_stats *out)
{
    if (guest < 0 || guest >= static_cast<int>(sim->stats.size())) {
        return -1;
    }
    *out = sim->stats[static_cast<size_t>(guest)];
    return 0;
}

extern "C" uint64_t qns_sim_rounds(const qns_sim *sim)
{
    return sim->rounds;
}

extern "C" int qns_sim_stopped_by(const qns_sim *sim)
{
    return sim->stoppedBy;
}

extern "C" uint64_t qns_sim_end_ns(const qns_sim *sim)
{
    return sim->endNs;
}

extern "C" uint64_t qns_sim_late_frames(const qns_sim *sim)
{
    return sim->late;
}

extern "C" void qns_sim_request_stop(qns_sim *sim)
{
    /* Only write(2): async-signal-safe; errno is kept for the code the
     * signal interrupted. The byte stays unread, so the pipe stays readable
     * and every later wait wakes too; a full pipe (EAGAIN) is as readable as
     * ever. */
    int saved = errno;
    char byte = 1;
    if (sim != nullptr && write(sim->stopPipe[1], &byte, 1) < 0) {
        /* EAGAIN: a stop is already pending */
    }
    errno = saved;
}

extern "C" void qns_sim_free(qns_sim *sim)
{
    if (sim == nullptr) {
        return;
    }
    close(sim->stopPipe[0]);
    close(sim->stopPipe[1]);
    delete sim;
}

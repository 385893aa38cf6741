/* QnsSyncScheduler's own late-frame detector, at its exact boundary: a frame
 * for a guest is late when it is stamped before what the guest has been
 * granted, even while the guest's last reply is further back. Driven with
 * ns-3 events that hand frames straight to the scheduler, with a fake guest
 * that logs what it receives. */
#include "qns-sync-scheduler.h"
#include "test_support.h"

#include "ns3/core-module.h"

#include <cstdarg>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <setjmp.h>
#include <string>
#include <unistd.h>

extern "C"
{
#include <cmocka.h>
}

using namespace ns3;

namespace
{

struct Outcome {
    bool failed;
    std::string error;
    uint64_t late;
    uint64_t traced;
    std::string log;
};

void CountLate(uint64_t *n, int, int, uint64_t)
{
    (*n)++;
}

/* One guest granted 10 us a round; at 15 us (inside the round that grants
 * it up to 20 us) ns-3 hands the scheduler a frame stamped `stampNs`. */
Outcome HandFrameAt(uint64_t stampNs)
{
    Outcome o{};
    std::string log = "sched-" + std::to_string(getpid()) + ".log";
    std::string console = "sched-" + std::to_string(getpid()) + ".console";
    {
        ts_argv a;
        ts_fake_argv(&a, QNS_FAKE_GUEST, 1);
        ts_add(&a, "-log");
        ts_add(&a, "%s", log.c_str());
        Ptr<QnsSyncScheduler> sched = CreateObject<QnsSyncScheduler>();
        sched->SetAttribute("Quantum", TimeValue(MicroSeconds(10)));
        sched->SetAttribute("Adaptive", BooleanValue(false)); /* a round every quantum */
        sched->SetAttribute("WatchdogMs", UintegerValue(10000));
        qns_guest_spec spec = {};
        spec.name = "g";
        spec.argv = a.v;
        spec.nic_count = 1;
        spec.console_path = console.c_str();
        assert_int_equal(sched->AddGuest(spec), 0);
        sched->TraceConnectWithoutContext("LateDelivery", MakeBoundCallback(&CountLate, &o.traced));
        static const uint8_t frame[60] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
        Simulator::Schedule(MicroSeconds(15), &QnsSyncScheduler::SendToGuest, sched, 0, 0, stampNs,
                            frame, static_cast<uint32_t>(sizeof(frame)));
        sched->Start();
        Simulator::Stop(MicroSeconds(50));
        Simulator::Run();
        sched->Finish();
        o.failed = sched->Failed();
        o.error = sched->GetError();
        o.late = sched->GetLateFrames();
        sched->Dispose();
        Simulator::Destroy();
    }
    FILE *f = std::fopen(log.c_str(), "r");
    char line[256];
    while (f != nullptr && std::fgets(line, sizeof(line), f) != nullptr) {
        o.log += line;
    }
    if (f != nullptr) {
        std::fclose(f);
    }
    unlink(log.c_str());
    unlink(console.c_str());
    return o;
}

void frame_stamped_before_the_granted_end_is_late(void **state)
{
    (void)state;
    /* The guest replied up to 10 us but runs to 20 us: 19999 ns is late. */
    Outcome o = HandFrameAt(19999);
    assert_true(o.failed);
    assert_string_equal(o.error.c_str(),
                        "a frame for guest g nic 0 is stamped 19999 ns, in the guest's past: it "
                        "may already run to 20000 ns");
    assert_int_equal(o.late, 1);
    assert_int_equal(o.traced, 1);
    assert_string_equal(o.log.c_str(), "");
    assert_int_equal(ts_child_count(), 0);
}

void frame_stamped_at_the_granted_end_is_on_time(void **state)
{
    (void)state;
    Outcome o = HandFrameAt(20000);
    assert_false(o.failed);
    assert_int_equal(o.late, 0);
    assert_int_equal(o.traced, 0);
    char want[64];
    std::snprintf(want, sizeof(want), "rx 20000 0 60 ");
    assert_int_equal(o.log.compare(0, std::strlen(want), want), 0);
    assert_int_equal(ts_child_count(), 0);
}

/* Used directly, the scheduler's watchdog names its own attribute as the
 * way to wait for a guest however long it takes. */
void hung_guest_is_told_how_to_turn_the_watchdog_off(void **state)
{
    (void)state;
    std::string console = "sched-" + std::to_string(getpid()) + ".console";
    std::string error;
    {
        ts_argv a;
        ts_fake_argv(&a, QNS_FAKE_GUEST, 0);
        ts_add(&a, "hang:2");
        Ptr<QnsSyncScheduler> sched = CreateObject<QnsSyncScheduler>();
        sched->SetAttribute("Quantum", TimeValue(MicroSeconds(10)));
        sched->SetAttribute("Adaptive", BooleanValue(false));
        sched->SetAttribute("WatchdogMs", UintegerValue(200));
        sched->SetAttribute("ShutdownTimeoutMs", UintegerValue(300));
        qns_guest_spec spec = {};
        spec.name = "g";
        spec.argv = a.v;
        spec.console_path = console.c_str();
        assert_int_equal(sched->AddGuest(spec), 0);
        sched->Start();
        Simulator::Stop(MicroSeconds(50));
        Simulator::Run();
        sched->Finish();
        assert_true(sched->Failed());
        error = sched->GetError();
        sched->Dispose();
        Simulator::Destroy();
    }
    unlink(console.c_str());
    assert_string_equal(error.c_str(),
                        "guest g did not reply within 200 ms in round 2 and used no CPU in the "
                        "last 180 ms (0 ms; hung); to wait for it however long it takes, set the "
                        "QnsSyncScheduler attribute WatchdogMs to 0");
    assert_int_equal(ts_child_count(), 0);
}

} // namespace

int main()
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(frame_stamped_before_the_granted_end_is_late),
        cmocka_unit_test(frame_stamped_at_the_granted_end_is_on_time),
        cmocka_unit_test(hung_guest_is_told_how_to_turn_the_watchdog_off),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}

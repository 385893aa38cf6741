#!/bin/bash
# qemu-args.sh — the one place that says how qns boots its default guest.
#
#   qemu-args.sh --cmdline              recommended kernel command line (the
#                                       qns.* parameters are appended to it)
#   qemu-args.sh --base KERNEL INITRD   machine arguments, one per line (no
#                                       clock, console or NIC: see below)
#   qemu-args.sh --clock [SEED]         free-running deterministic clock for a
#                                       plain QEMU run (under qns, -qqq's
#                                       caller sets icount and rtc itself)
#   qemu-args.sh --nic e1000|virtio ID MAC
#                                       the -device value for a NIC on netdev ID
#
# Plain QEMU example (one e1000 NIC on a socket netdev):
#   qemu-system-x86_64 $(qemu-args.sh --base vmlinux initramfs.cpio) \
#     -append "$(qemu-args.sh --cmdline) qns.net=eth0,10.0.0.1/24 qns.cmd=..." \
#     $(qemu-args.sh --clock 1) -serial stdio \
#     -netdev socket,id=n0,listen=127.0.0.1:5555 \
#     -device "$(qemu-args.sh --nic e1000 n0 52:54:00:00:00:01)"
set -euo pipefail

# Quiet, and skip what is slow or nondeterministic under TCG:
#  acpi=off            no ACPI table parsing/AML (largest wall-time win); the
#                      guest leaves by reboot, which -no-reboot turns into exit
#  panic=-1            a dying /init reboots (= QEMU exits) at once, no hang
#  reboot=t            reboot by triple fault: immediate, needs no firmware
#  cryptomgr.notests   no crypto self-tests (~1.5 s virtual)
#  no_timer_check      no IO-APIC timer sanity check
#  tsc=reliable        no clocksource watchdog; the TSC is icount-driven
#  init_on_alloc=0     do not zero every allocated page (Debian turns it on)
#  rodata=off          no read-only remapping and W+X page-table scan (~0.25 s)
#  nolapic             one vCPU needs no local APIC: interrupts go through the
#                      8259 PIC, the timer is the HPET/PIT. Under TCG with
#                      icount the local APIC is costly: boot-to-poweroff took
#                      ~2.7 s of QEMU CPU time instead of ~7.3 s, and 0.97 s of
#                      virtual time instead of 1.18 s (measured, QEMU 7.2)
#  8250.nr_uarts=1     probe one serial port, not four
#  i8042.noaux i8042.nokbd  no PS/2 probing
#  nokaslr             fixed layout (PVH boots unrandomised anyway)
#  random.trust_cpu=off random.trust_bootloader=off  entropy from (virtual) timing only
#  mitigations=off     no speculative-execution workarounds: faster under TCG
#  audit=0 apparmor=0 lsm=... no security modules' set-up work
CMDLINE="console=ttyS0,115200 quiet acpi=off panic=-1 reboot=t \
cryptomgr.notests no_timer_check tsc=reliable init_on_alloc=0 rodata=off nolapic 8250.nr_uarts=1 \
i8042.noaux i8042.nokbd nokaslr random.trust_cpu=off random.trust_bootloader=off \
mitigations=off audit=0 apparmor=0"

usage() { sed -n '2,20p' "$0" >&2; exit 2; }

[ "$#" -ge 1 ] || usage
case $1 in
    --cmdline)
        [ "$#" -eq 1 ] || usage
        echo "$CMDLINE" ;;
    --base)
        [ "$#" -eq 3 ] || usage
        printf '%s\n' -machine pc -cpu qemu64 -smp 1 -m 256M -accel tcg \
            -nodefaults -no-user-config -display none -no-reboot \
            -kernel "$2" -initrd "$3" ;;
    --clock)
        [ "$#" -le 2 ] || usage
        printf '%s\n' -icount shift=1,sleep=off -rtc clock=vm,base=2020-01-01T00:00:00 \
            -seed "${2:-1}" ;;
    --nic)
        [ "$#" -eq 4 ] || usage
        case $2 in
            # (QEMU 10 has no autonegotiation=off any more: see README.md)
            e1000) echo "e1000,netdev=$3,mac=$4" ;;
            # Offloads off on the device side too, and notify by I/O exit
            # (no ioeventfd); under -qqq the device transmits right in
            # that notify, so a frame leaves when the guest hands it over.
            # status=off: the link is up from the driver's probe; with a
            # link-status field Linux reports carrier a second time, its
            # link watcher handles that 1 s later and flushes the route
            # cache in the middle of the scenario's command.
            virtio) echo "virtio-net-pci,netdev=$3,mac=$4,status=off,ioeventfd=off,csum=off,gso=off,guest_csum=off,guest_tso4=off,guest_tso6=off,guest_ecn=off,guest_ufo=off,host_tso4=off,host_tso6=off,host_ecn=off,host_ufo=off,mrg_rxbuf=off" ;;
            *) usage ;;
        esac ;;
    *) usage ;;
esac

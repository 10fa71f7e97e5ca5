#!/bin/sh
# Chapter 6 milestone, run on the ARM64 host. god checks the guest's timer
# measurement itself and exits 0 only if the guest powered off, took exactly
# N timer interrupts, armed exactly CNTFRQ x ms / 1000 counts per tick, and
# measured at least N intervals (the timer is never early) and no more than
# god's own wall time. None of that depends on how busy the host is. On top of that, for two settings chosen here, we check:
#   - the guest found the GIC god created (v3: system registers, v2: the
#     memory-mapped CPU interface) and says so first,
#   - the guest echoes the N and interval we passed in x0/x1,
#   - the elapsed time the guest computed and printed itself (in assembly)
#     matches the one god computes from the raw counter values the guest
#     stored in RAM (to the microsecond: the guest truncates),
# then that a run which cannot finish in time is stopped by --timeout
# (exit 3) and that a bad option is refused (exit 2).
fail() { echo "FAIL: $*"; exit 1; }

for setting in "10 10" "25 4"; do
    set -- $setting
    out=$(./god run --ticks "$1" --interval-ms "$2" timer.bin 2>err.txt) ||
        { rc=$?; echo "$out"; cat err.txt; fail "god run --ticks $1 --interval-ms $2 exited $rc"; }
    echo "$out"
    gic=$(sed -n 's/^god: in-kernel \(GICv[23]\)$/\1/p' err.txt)
    case $gic in
    GICv3) want="GICv3: CPU interface in system registers" ;;
    GICv2) want="GICv2: CPU interface at 0x8010000" ;;
    *) fail "god did not say which GIC it created" ;;
    esac
    [ "$(echo "$out" | head -n 1)" = "$want" ] || fail "god created a $gic, the guest did not say '$want'"
    line=$(echo "$out" | grep '^timer: ') || fail "no report from the guest"
    echo "$line" | grep -Eq "^timer: $1 ticks of $2 ms at [0-9]+ Hz, elapsed [0-9]+ us$" ||
        fail "guest report '$line' does not echo $1 ticks of $2 ms"
    guest_us=$(echo "$line" | sed 's/.*elapsed \([0-9]*\) us/\1/')
    vmm_ms=$(echo "$out" | sed -n 's/^god: guest: .* = \([0-9.]*\) ms .*/\1/p')
    [ -n "$vmm_ms" ] || fail "god did not report the guest's numbers"
    awk -v g="$guest_us" -v v="$vmm_ms" 'BEGIN { d = g - v * 1000; exit !(d > -1.5 && d < 1.5) }' ||
        fail "guest printed $guest_us us, its counter values say $vmm_ms ms"
    echo "$out" | grep -q "^god: check: .*: ok$" || fail "god's check line is missing"
done

./god run --ticks 10 --interval-ms 2000 --timeout 2 timer.bin >out.txt 2>err.txt
rc=$?
head -n 3 err.txt
[ "$rc" -eq 3 ] || fail "20 s of ticks with --timeout 2: exit status $rc, want 3"

./god run --ticks 0 timer.bin 2>err.txt
rc=$?
cat err.txt
[ "$rc" -eq 2 ] || fail "--ticks 0: exit status $rc, want 2"
echo "PASS: ch06 milestone"

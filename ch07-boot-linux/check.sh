#!/bin/sh
# Chapter 7 milestone, run on the ARM64 host: boot Linux with two vCPUs,
# reach the BusyBox shell, talk to it through the console, power off.
#
# god's stdin is a pipe here, not a terminal, so we play the user: write a
# command into the pipe, then wait until its answer shows up in the output.
# Every answer is computed by the guest (6*7, its CPU count, its machine
# name), so the check fails unless a real shell in a real kernel replied.
# Then `poweroff`, and god must exit 0 (PSCI SYSTEM_OFF). Both our kernel
# and Debian's stock arm64 kernel must get there.
#
# We also hold the PL011 to a budget: 8 KiB written by the guest to ttyAMA0
# may cost at most 1.3 register accesses per byte (Linux's interrupt-driven
# transmit path on our FIFO model: ~1.13; a FIFO that never fills: 2). With
# our kernel, KVM coalesces the UARTDR writes, and at most 0.2 per byte may
# be exits to god (the interrupt handler's UARTRIS read and UARTICR write
# per half FIFO: ~0.13); Debian's kernel runs with --no-coalesce, where
# every access is an exit. Exit counts, unlike times, do not depend on how
# busy the machine is; god --stats prints them whenever it gets SIGUSR2.
fail() {
    echo "FAIL: $*"
    [ -f out.txt ] && tail -n 20 out.txt
    [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null
    exit 1
}

uptime_cs() { tr -d . </proc/uptime | cut -d' ' -f1; } # centiseconds since the host booted

# wait_for TEXT SECONDS: until TEXT appears in out.txt (or god dies, or the time runs out)
wait_for() {
    end=$(($(uptime_cs) + $2 * 100))
    while [ "$(uptime_cs)" -lt "$end" ]; do
        grep -qF -- "$1" out.txt && return 0
        kill -0 "$pid" 2>/dev/null || { sleep 1; grep -qF -- "$1" out.txt && return 0; return 1; }
        sleep 0.2
    done
    return 1
}

say() { printf '%s\n' "$1" >&3; }

# stat N SECTION NAME: NAME's count under SECTION in god's Nth "god: stats" block
stat() {
    awk -v n="$1" -v sec="$2:" -v name="$3" '
        index($0, "god: stats") { block++; in_sec = 0; next }
        block == n && /^[^ ]/ { in_sec = index($0, sec) > 0 }
        block == n && in_sec && $1 == name { print $2; exit }' out.txt
}

# stats_snapshot N: ask god for its Nth snapshot of the counts and wait for it
stats_snapshot() {
    kill -USR2 "$pid"
    end=$(($(uptime_cs) + 6000))
    until [ -n "$(stat "$1" "console bytes out" PL011)" ]; do
        [ "$(uptime_cs)" -lt "$end" ] || fail "no stats snapshot $1 from god"
        sleep 0.2
    done
}

# pl011_budget coalesced|exits: is god coalescing the UARTDR writes?
pl011_budget() {
    # The shell has the whole line when it runs it: GO-7 says so, then it
    # sleeps, and the first snapshot falls between its echo and the 8 KiB.
    # (Wait for output, not for the echo: the shell wraps long lines.)
    say 'dmesg -n 1; echo GO-$((6+1)); sleep 2; head -c 8192 /dev/zero | tr "\0" x >/dev/ttyAMA0; echo TX-$((4*4))'
    wait_for "GO-7" 60 || fail "the shell did not run the command"
    stats_snapshot 1
    wait_for "TX-16" 900 || fail "8 KiB to ttyAMA0 did not finish"
    sleep 1 # the prompt after it
    stats_snapshot 2
    exits=$(($(stat 2 "MMIO exits by device" PL011) - $(stat 1 "MMIO exits by device" PL011)))
    bytes=$(($(stat 2 "console bytes out" PL011) - $(stat 1 "console bytes out" PL011)))
    [ "$bytes" -ge 8192 ] || fail "PL011: only $bytes bytes counted between the snapshots"
    queued=0
    if [ "$1" = coalesced ]; then
        [ -n "$(stat 2 "MMIO writes coalesced" PL011)" ] || fail "PL011: KVM coalesced no writes"
        queued=$(($(stat 2 "MMIO writes coalesced" PL011) - $(stat 1 "MMIO writes coalesced" PL011)))
    else
        [ -z "$(stat 2 "MMIO writes coalesced" PL011)" ] || fail "PL011: coalesced with --no-coalesce"
    fi
    per_byte() { n=$(($1 * 1000 / bytes)); echo "$((n / 1000)).$(printf %03d $((n % 1000)))"; }
    echo "PL011 transmit: $bytes bytes, $((exits + queued)) accesses ($(per_byte $((exits + queued))) per byte, budget 1.300), $exits of them exits ($(per_byte "$exits") per byte)"
    [ $(((exits + queued) * 10)) -le $((bytes * 13)) ] || fail "PL011: more than 1.3 accesses per byte"
    [ "$1" = exits ] || [ $((exits * 10)) -le $((bytes * 2)) ] || fail "PL011: more than 0.2 exits per byte"
}

# idle_ticks: an idle guest must leave the host alone. Tickless idle
# (kernel.config: NO_HZ_IDLE) stops an idle CPU's timer tick; the periodic
# tick would interrupt each CPU 250 times a second, each one a WFI exit and
# a host thread woken. Counted by the guest: arch_timer interrupts on both
# CPUs while the shell sleeps 2 s: periodic about 1000, tickless about 50.
# Budget: 200.
idle_ticks() {
    say 'set -- $(grep arch_timer /proc/interrupts); a=$(($2+$3)); sleep 2; set -- $(grep arch_timer /proc/interrupts); echo TICKS=$(($2+$3-a)) IDLE-$((3+3))'
    wait_for "IDLE-6" 60 || fail "$label: the idle-tick count did not come back"
    ticks=$(tr -d '\r' <out.txt | sed -n 's/.*TICKS=\([0-9][0-9]*\) IDLE-6.*/\1/p' | tail -n 1)
    [ -n "$ticks" ] || fail "$label: no idle-tick count in the output"
    budget=200
    echo "$label: $ticks timer interrupts on 2 idle CPUs in 2 s (budget $budget; a periodic tick: ~1000)"
    [ "$ticks" -le "$budget" ] || fail "$label: $ticks timer interrupts in 2 s of idle: is the tick periodic?"
}

boot() {
    label=$1
    shift
    rm -f in out.txt
    mkfifo in
    start=$(uptime_cs)
    ./god boot "$@" --initrd initramfs.cpio.gz --cpus 2 --stats --timeout 1200 <in >out.txt 2>&1 &
    pid=$!
    exec 3>in # keep the pipe open: god would see end of input otherwise

    wait_for "guest:" 900 || fail "$label: no shell prompt"
    t=$(($(uptime_cs) - start))
    echo "$label: shell prompt $((t / 100)).$((t % 100 / 10)) s after god started"

    say 'echo MARK-$((6*7))'
    wait_for "MARK-42" 60 || fail "$label: the shell did not answer"
    say 'echo CPUS=$(grep -c ^processor /proc/cpuinfo)'
    wait_for "CPUS=2" 60 || fail "$label: the guest does not see 2 CPUs"
    say 'echo ARCH=$(uname -m)'
    wait_for "ARCH=aarch64" 60 || fail "$label: uname -m is not aarch64"
    # The kernel's GIC driver is the one for the GIC god created: the GICv3
    # driver names its irq_chip "GICv3", the GICv2 one "GIC-0".
    gic=$(tr -d '\r' <out.txt | sed -n 's/^god: in-kernel \(GICv[23]\)$/\1/p')
    case $gic in
    GICv3) chip=GICv3 ;;
    GICv2) chip=GIC-0 ;;
    *) fail "$label: god did not say which GIC it created" ;;
    esac
    # ($((1+1)): the answer must not be in the echoed command line itself.)
    say 'grep -q " '$chip' " /proc/interrupts && echo CHIP-OK-$((1+1))'
    wait_for "CHIP-OK-2" 60 || fail "$label: no interrupt of the $chip driver in /proc/interrupts"
    # god's /chosen/rng-seed is the kernel's first entropy: its random number
    # generator says "crng init done" at once. Unseeded, it waits for
    # thousands of interrupts, and each random refill costs HVC exits.
    say 'dmesg | grep -q "crng init done" && echo RNG-OK-$((2+1))'
    wait_for "RNG-OK-3" 60 || fail "$label: the kernel's random number generator is not seeded"
    idle_ticks
    case "$*" in
    *--no-coalesce*) pl011_budget exits ;;
    *) pl011_budget coalesced ;;
    esac
    say 'poweroff'
    wait "$pid"
    rc=$?
    exec 3>&-
    [ "$rc" -eq 0 ] || fail "$label: god exited $rc after poweroff, want 0"
    grep -q "stopped: the guest powered off" out.txt || fail "$label: not a PSCI power-off"
    echo "$label: answered, saw 2 CPUs, aarch64, interrupts through $gic ($chip), seeded RNG, powered off"
}

# Bad input first: one clear line and the documented exit status (1 for a
# bad file, 2 for bad usage), never a crash or a hang.
refuse() {
    want=$1 expect=$2
    shift 2
    ./god boot "$@" --timeout 60 </dev/null >err.txt 2>&1
    rc=$?
    args=$(printf '%s' "$*" | cut -c1-80)
    [ "$rc" -eq "$want" ] || fail "god boot $args: exit status $rc, want $want"
    [ "$(wc -l <err.txt)" -eq 1 ] || fail "god boot $args: $(wc -l <err.txt) lines, want 1"
    grep -q -- "$expect" err.txt || fail "god boot $args: said '$(cat err.txt)'"
    echo "refused $args: $(cat err.txt)"
}
refuse 1 "No such file" --kernel no-such-Image
refuse 1 "not a little-endian arm64 Linux Image" --kernel check.sh
refuse 1 "No such file" --kernel Image --initrd no-such-initrd
head -c 40 Image >truncated-Image # shorter than the 64-byte header
refuse 1 "not a little-endian arm64 Linux Image" --kernel truncated-Image
# The kernel keeps 2047 bytes of command line and drops the rest silently.
refuse 2 "keeps only the first 2047" --kernel Image --cmdline "$(head -c 2048 /dev/zero | tr '\0' x)"
rm -f truncated-Image err.txt

boot "our kernel" --kernel Image --cmdline "console=ttyAMA0 quiet"
boot "Debian's kernel" --kernel debian-Image --cmdline "console=ttyAMA0 quiet" --no-coalesce

# The console's escape: Ctrl-A x quits god (exit status 5) with the guest still running.
rm -f in out.txt
mkfifo in
./god boot --kernel Image --initrd initramfs.cpio.gz --cmdline "console=ttyAMA0 quiet" \
    --timeout 600 <in >out.txt 2>&1 &
pid=$!
exec 3>in
wait_for "guest:" 600 || fail "third boot: no shell prompt"
printf '\001x' >&3
wait "$pid"
rc=$?
exec 3>&-
[ "$rc" -eq 5 ] || fail "Ctrl-A x: god exited $rc, want 5"
echo "Ctrl-A x quit god (exit status 5)"

# Ctrl-A x also works when the guest never reads the UART at all: with
# console=hvc0, a device this kernel does not have, nobody opens ttyAMA0, so
# its receive side stays off (a 1-byte holding register, no interrupt), and
# /init, finding no console, exits: a kernel panic (shown by earlycon). Type
# more than it holds, then the escape.
rm -f in out.txt
mkfifo in
./god boot --kernel Image --initrd initramfs.cpio.gz \
    --cmdline "console=hvc0 earlycon=pl011,0x09000000 panic=0" --timeout 600 <in >out.txt 2>&1 &
pid=$!
exec 3>in
wait_for "Kernel panic" 600 || fail "boot without a console: no kernel panic"
printf 'typed for a UART nobody reads: it holds 1 byte' >&3
printf '\001x' >&3
end=$(($(uptime_cs) + 3000))
while kill -0 "$pid" 2>/dev/null && [ "$(uptime_cs)" -lt "$end" ]; do sleep 0.2; done
kill -0 "$pid" 2>/dev/null && fail "Ctrl-A x with an unread UART: god still running 30 s later"
wait "$pid"
rc=$?
exec 3>&-
[ "$rc" -eq 5 ] || fail "Ctrl-A x with an unread UART: god exited $rc, want 5"
grep -q "typed bytes were dropped" out.txt && fail "a pipe's input was dropped"
echo "Ctrl-A x quit god with 46 typed bytes the guest never read (exit status 5)"
echo "PASS: ch07 milestone"

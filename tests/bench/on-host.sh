# shellcheck shell=sh disable=SC2154 # N and KERNELS are prepended by tests/bench.sh
# on-host.sh - the part of `make bench` that runs on the ARM64 host with KVM,
# in build/ (/work in the emulated host). tests/bench.sh prepends N=... and
# KERNELS=... and runs the result with arm64-host.sh -s: everything happens in
# one boot of the emulated host, so its ~10 s start-up is paid once.
#
# Prints progress in plain words and each measurement as one line
#   BENCH <name> <integer> <unit>
# that tests/bench.sh turns into the table. Raw integers only (BusyBox sh
# does 64-bit integer arithmetic, nothing else); the arithmetic is outside.
# Any failure prints "BENCH-FAIL: why" and exits 1.
set -u

top=$(pwd)
clock=$top/bench/clock
fail() {
    echo "BENCH-FAIL: $*"
    [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null
    exit 1
}
now() { "$clock" || fail "bench/clock failed"; }

# --- 1. MMIO exit cost -------------------------------------------------------
# First, untimed: prove the guest makes exactly N MMIO exits (the --trace
# summary counts them), so the division below divides by the right number.
./ch04-uart/god run --trace --timeout 600 "bench/mmio_$N.bin" >/dev/null 2>bench/trace.txt ||
    fail "god run --trace bench/mmio_$N.bin exited $? (see build/bench/trace.txt)"
exits=$(sed -n 's/^  MMIO  *\([0-9][0-9]*\)$/\1/p' bench/trace.txt)
[ "$exits" = "$N" ] || fail "mmio_$N.bin made '${exits:-no}' MMIO exits, want $N"
./ch04-uart/god run --trace --timeout 600 bench/mmio_0.bin >/dev/null 2>bench/trace0.txt ||
    fail "god run --trace bench/mmio_0.bin exited $?"
grep -q '^  MMIO ' bench/trace0.txt && fail "mmio_0.bin made MMIO exits"
echo "mmio: mmio_$N.bin makes $N MMIO exits, mmio_0.bin none (checked with --trace)"

# Then timed, without --trace: the two guests alternately, 3 times each, and
# the fastest of each. Alternating spreads any slow phase of the host over
# both; the minimum is the run least disturbed by everything else.
run_ns() {
    t0=$(now)
    ./ch04-uart/god run --timeout 600 "$1" >/dev/null 2>&1 || fail "god run $1 exited $?"
    t1=$(now)
    echo $((t1 - t0))
}
min_n=""
min_0=""
for i in 1 2 3; do
    a=$(run_ns "bench/mmio_$N.bin") || exit 1
    b=$(run_ns bench/mmio_0.bin) || exit 1
    echo "mmio: run $i: N=$N $((a / 1000000)) ms, N=0 $((b / 1000000)) ms"
    if [ -z "$min_n" ] || [ "$a" -lt "$min_n" ]; then min_n=$a; fi
    if [ -z "$min_0" ] || [ "$b" -lt "$min_0" ]; then min_0=$b; fi
done
[ "$min_n" -gt "$min_0" ] || fail "N=$N was not slower than N=0 ($min_n ns vs $min_0 ns)"
echo "BENCH mmio_n $N exits"
echo "BENCH mmio_n_ns $min_n ns"
echo "BENCH mmio_0_ns $min_0 ns"

# --- 2. and 3. Linux boot time, peak RSS -------------------------------------
# Driven like ch07-boot-linux/check.sh: god's stdin is a FIFO we hold open on
# fd 3 (else god sees end of input), its output goes to a file we poll for
# the shell prompt. The clock starts just before god does, so the time
# includes loading the kernel and initramfs and building the device tree.
cd ch07-boot-linux || fail "no build/ch07-boot-linux"
for kernel in $KERNELS; do
    name=$(echo "$kernel" | sed 's/-Image$//; s/^Image$/ours/')
    out=$top/bench/boot-$name.txt
    rm -f "$top/bench/in" "$out"
    mkfifo "$top/bench/in" || fail "mkfifo"
    start=$(now)
    ./god boot --kernel "$kernel" --initrd initramfs.cpio.gz --cpus 2 --ram 256M \
        --cmdline "console=ttyAMA0 quiet" --timeout 1200 <"$top/bench/in" >"$out" 2>&1 &
    pid=$!
    exec 3>"$top/bench/in"

    # Poll every 0.1 s: finer would steal CPU from the guest (the emulated
    # host has 2 CPUs and the guest's 2 vCPUs run on them).
    found=""
    end=$((start + 900 * 1000000000))
    while [ "$(now)" -lt "$end" ]; do
        if grep -qF "guest:" "$out"; then
            found=$(now)
            break
        fi
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    [ -n "$found" ] || { tail -n 20 "$out"; fail "$kernel: no shell prompt within 900 s"; }
    echo "boot: $kernel: shell prompt after $(((found - start) / 1000000)) ms"

    # Peak RSS (VmHWM) of the VMM so far: guest RAM is MAP_NORESERVE and
    # demand-paged, so only the pages the guest has touched count.
    [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = god ] || fail "pid $pid is not god"
    hwm=$(sed -n 's/^VmHWM:[[:space:]]*\([0-9][0-9]*\) kB$/\1/p' "/proc/$pid/status")
    [ -n "$hwm" ] || fail "no VmHWM in /proc/$pid/status"

    printf 'poweroff\n' >&3
    rc=0
    wait "$pid" || rc=$?
    exec 3>&-
    pid=""
    [ "$rc" -eq 0 ] || { tail -n 20 "$out"; fail "$kernel: god exited $rc after poweroff, want 0"; }
    echo "BENCH boot_${name}_ns $((found - start)) ns"
    echo "BENCH rss_${name}_kib $hwm KiB"
done
rm -f "$top/bench/in"
echo "BENCH done 1 -"

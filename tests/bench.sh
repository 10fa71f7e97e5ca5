#!/bin/sh
# bench.sh - `make bench`: how fast is god, and how much memory does it take?
#
#   1. MMIO exit cost: wall time of a guest making N MMIO reads, minus that of
#      the same guest making none, divided by N (tests/bench/mmio_loop.S).
#   2. Linux boot time: from starting `god boot` to the guest's shell prompt,
#      with our kernel and (if built) Debian's.
#   3. Memory: the VMM's peak RSS (VmHWM) during that boot, next to the guest
#      RAM size.
#
# Everything runs in one boot of the ARM64 host (native, or emulated: see
# common/host/arm64-host.sh) through tests/bench/on-host.sh. On the emulated
# host that is one boot per profile, server (GICv3, VHE) then rpi4 (GICv2,
# nVHE), or only those in BENCH_EMU (e.g. BENCH_EMU=rpi4). Prints a table
# and appends one line per metric to build/bench/results.txt:
#   <metric> <value> <unit> <UTC date> <host mode>[:<profile>]
# No thresholds: numbers are reported, not judged (speed gates would fail on
# a slow or busy machine for no fault of the code). Exits non-zero only when
# a measurement could not be taken.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
out=$top/build/bench
N=10000 # MMIO exits per timed run: ~3 s emulated, long enough to dwarf start-up noise
RAM_MIB=256

die() {
    echo "bench: $*" >&2
    exit 1
}

# --- build what the host will run (make all normally did the chapters) -------
make --no-print-directory -C tests/bench N=$N
[ -x build/ch04-uart/god ] || make --no-print-directory -C ch04-uart
[ -x build/ch07-boot-linux/god ] || make --no-print-directory -C ch07-boot-linux
# The guest kernel(s) and initramfs: built once and cached, up to date is a no-op.
# Without network Debian's kernel may be unobtainable; ours alone still counts.
make --no-print-directory -C ch07-boot-linux prepare ||
    echo "bench: 'make -C ch07-boot-linux prepare' failed; using what is there" >&2
for f in Image initramfs.cpio.gz; do
    [ -s "build/ch07-boot-linux/$f" ] || die "build/ch07-boot-linux/$f is missing (make -C ch07-boot-linux prepare)"
done
kernels=Image
[ -s build/ch07-boot-linux/debian-Image ] && kernels="Image debian-Image"

# The choice arm64-host.sh makes, recorded with every result: emulated
# (TCG) numbers and native ones are different quantities.
mode=$(common/host/arm64-host.sh -w)

# --- run it: one host boot per profile, its output kept for parsing ----------
script=$(mktemp)
rows=$(mktemp)
trap 'rm -f "$script" "$rows" "$out"/last-run*.log.rc' EXIT
{
    echo "N=$N"
    echo "KERNELS=\"$kernels\""
    cat tests/bench/on-host.sh
} >"$script"
date=$(date -u +%Y-%m-%dT%H:%M:%SZ)

# row METRIC VALUE UNIT LABEL REFERENCE
row() {
    printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" >>"$rows"
    echo "$1 $2 $3 $date $where" >>"$out/results.txt"
}

# measure PROFILE: one host boot (EMU=PROFILE when emulated), then its rows.
measure() {
    profile=$1
    where=$mode${profile:+:$profile}
    log=$out/last-run${profile:+-$profile}.log
    echo "bench: measuring on the $mode ARM64 host${profile:+ ($profile)} (a few minutes when emulated)"
    # tee shows progress as it happens; the status travels through a file
    # because a pipeline's status is tee's.
    {
        rc=0
        EMU=${profile:-server} common/host/arm64-host.sh -C . -t 3600 -s "$script" 2>&1 || rc=$?
        echo $rc >"$log.rc"
    } | tee "$log"
    rc=$(cat "$log.rc")
    tr -d '\r' <"$log" >"$log.tmp" && mv "$log.tmp" "$log"

    reason=$(sed -n 's/^BENCH-FAIL: //p' "$log" | head -n 1)
    [ -z "$reason" ] || die "measurement failed: $reason (full output in $log)"
    [ "$rc" = 0 ] || die "the ARM64 host run exited $rc (full output in $log)"
    grep -q '^BENCH done ' "$log" || die "the run ended before all measurements (full output in $log)"

    tag=${profile:+, $profile}
    n=$(value mmio_n)
    t_n=$(value mmio_n_ns)
    t_0=$(value mmio_0_ns)
    mmio_us=$(awk -v a="$t_n" -v b="$t_0" -v n="$n" 'BEGIN { printf "%.2f", (a - b) / n / 1000 }')
    if [ "$profile" = rpi4 ]; then ref_mmio="see tests/bench/README.md"; else ref_mmio="~160-300 us"; fi
    row mmio_exit_us "$mmio_us" us "MMIO exit cost (N=$n$tag)" "$ref_mmio (emulated host, 2-core x86_64)"

    for k in $kernels; do
        name=$(echo "$k" | sed 's/-Image$//; s/^Image$/ours/')
        label=$([ "$name" = ours ] && echo "our kernel" || echo "Debian's kernel")
        ns=$(value "boot_${name}_ns")
        kib=$(value "rss_${name}_kib")
        s=$(awk -v ns="$ns" 'BEGIN { printf "%.2f", ns / 1e9 }')
        mib=$(awk -v k="$kib" 'BEGIN { printf "%.1f", k / 1024 }')
        # References: what this bench measured on the emulated host, 2-core x86_64.
        if [ "$name" = ours ]; then ref_s="~1.5 s idle, ~4 s loaded" ref_mib="~23 MiB"; else ref_s="~5 s idle, ~13 s loaded" ref_mib="~67 MiB"; fi
        [ "$profile" = rpi4 ] && ref_s="see tests/bench/README.md"
        row "boot_to_shell_s_$name" "$s" s "Linux boot to shell, $label$tag" "$ref_s (emulated host, 2-core x86_64)"
        row "peak_rss_mib_$name" "$mib" MiB "god peak RSS (VmHWM), $label$tag" \
            "$ref_mib; guest RAM is $RAM_MIB MiB"
    done
}

# value NAME: the integer the host reported for NAME (in this profile's $log)
value() {
    v=$(sed -n "s/^BENCH $1 \([0-9][0-9]*\) .*/\1/p" "$log" | tail -n 1)
    [ -n "$v" ] || die "no $1 in the host's output (full output in $log)"
    echo "$v"
}

if [ "$mode" = emulated ]; then
    for p in ${BENCH_EMU:-server rpi4}; do
        case $p in server | rpi4) ;; *) die "BENCH_EMU: unknown profile '$p' (server, rpi4)" ;; esac
        measure "$p"
    done
else
    measure ""
fi

echo
echo "god bench: $mode ARM64 host, $date"
awk -F '\t' 'BEGIN { printf "%-48s %10s %-4s  %s\n", "metric", "value", "unit", "reference"
                     printf "%-48s %10s %-4s  %s\n", "------", "-----", "----", "---------" }
             { printf "%-48s %10s %-4s  %s\n", $4, $2, $3, $5 }' "$rows"
echo
echo "reference: emulated host on a 2-core x86_64: ~0.3 ms per MMIO exit"
if [ "$mode" = emulated ]; then
    echo "note: emulated host = QEMU TCG; these are not hardware numbers (HOST=native on arm64 for those)"
fi
echo "appended to build/bench/results.txt; full output in build/bench/last-run*.log"

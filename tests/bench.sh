#!/bin/sh
# bench.sh - `make bench`: how fast is god, how many exits does each thing
# cost, and how much memory does it take?
#
#   1. MMIO exit cost: wall time of a guest making N MMIO reads, minus that of
#      the same guest making none, divided by N (tests/bench/mmio_loop.S).
#   2. Linux boot (chapter 7, the PL011 console): time from starting `god
#      boot` to the shell prompt, with our kernel and (if built) Debian's;
#      the exits made to get there, by kind and by device; the boot
#      timeline (god --timeline).
#   3. Memory: the VMM's peak RSS (VmHWM) at the prompt, next to the guest
#      RAM size.
#   4. Consoles: exits per byte and KiB/s for 8 KiB written to the PL011
#      (ttyAMA0) and 64 KiB to the virtio console (hvc0, chapter 8).
#   5. virtio-blk (chapter 8): 16 MiB written and read with 1 MiB O_DIRECT
#      requests, 1 MiB with 4 KiB ones: exits and interrupts per request
#      and per MiB, MiB/s, IOPS. Requests are the guest's own count
#      (/sys/block/vda/stat), interrupts the ones god raised.
#   6. virtio-net (chapter 8): TCP throughput guest to host and host to
#      guest, 4 MiB each, with --net user (passt) and --net tap (root
#      only); exits and interrupts per MiB. BENCH_ONLY=net measures only
#      this part.
#
# Exit counts come from god --stats (SIGUSR2 prints a snapshot): they do not
# depend on how busy the machine is, times do. Everything runs in one boot
# of the ARM64 host (native, or emulated: see common/host/arm64-host.sh)
# through tests/bench/on-host.sh, RUNS times (default 3; Debian's kernel
# boots once). On the emulated host that is one boot per profile, server
# (GICv3, VHE) then rpi4 (GICv2, nVHE), or only those in BENCH_EMU (e.g.
# BENCH_EMU=server). Prints a table, every figure with its N, min and
# median, and appends one line per metric to build/bench/results.txt:
#   <metric> <median> <unit> <UTC date> <host mode>[:<profile>] n=<N> min=<min> median=<median>
# No thresholds: numbers are reported, not judged (speed gates would fail on
# a slow or busy machine for no fault of the code). Exits non-zero only when
# a measurement could not be taken.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
out=$top/build/bench
N=10000 # MMIO exits per timed run: ~3 s emulated, long enough to dwarf start-up noise
RAM_MIB=256
RUNS=${RUNS:-3}
ONLY=${BENCH_ONLY:-}
case $ONLY in "" | net) ;; *) echo "bench: BENCH_ONLY: unknown part '$ONLY' (net)" >&2 && exit 1 ;; esac

die() {
    echo "bench: $*" >&2
    exit 1
}

# --- build what the host will run (make all normally did the chapters) -------
make --no-print-directory -C tests/bench N=$N
[ -x build/ch04-uart/god ] || make --no-print-directory -C ch04-uart
[ -x build/ch07-boot-linux/god ] || make --no-print-directory -C ch07-boot-linux
[ -x build/ch08-virtio/god ] || make --no-print-directory -C ch08-virtio
# The guest kernel(s) and initramfs: built once and cached, up to date is a no-op.
# Without network Debian's kernel may be unobtainable; ours alone still counts.
make --no-print-directory -C ch07-boot-linux prepare ||
    echo "bench: 'make -C ch07-boot-linux prepare' failed; using what is there" >&2
make --no-print-directory -C ch08-virtio prepare ||
    echo "bench: 'make -C ch08-virtio prepare' failed; using what is there" >&2
for f in ch07-boot-linux/Image ch07-boot-linux/initramfs.cpio.gz ch08-virtio/Image \
    ch08-virtio/initramfs.cpio.gz; do
    [ -s "build/$f" ] || die "build/$f is missing (make -C ${f%%/*} prepare)"
done
kernels=Image
[ -s build/ch07-boot-linux/debian-Image ] && kernels="Image debian-Image"

# The choice arm64-host.sh makes, recorded with every result: emulated
# (TCG) numbers and native ones are different quantities.
mode=$(common/host/arm64-host.sh -w)

# --- run it: one host boot per profile, its output kept for parsing ----------
script=$(mktemp)
tmp=$(mktemp -d)
rows=$tmp/rows
trap 'rm -rf "$script" "$tmp" "$out"/last-run*.log.rc' EXIT
{
    echo "N=$N"
    echo "RUNS=$RUNS"
    echo "KERNELS=\"$kernels\""
    echo "ONLY=$ONLY"
    cat tests/bench/on-host.sh
} >"$script"
date=$(date -u +%Y-%m-%dT%H:%M:%SZ)

# values NAME: the integers the host reported for NAME, one per run (this profile's $log)
values() {
    sed -n "s/^BENCH $1 \([0-9-][0-9]*\) .*/\1/p" "$log"
}

# combine AWK-EXPR NAME...: the expression over each run's values of the
# names ($1 is the first name's, $2 the second's...), one line per run
combine() {
    expr=$1
    shift
    files=""
    for name in "$@"; do
        values "$name" >"$tmp/v.$name"
        [ -s "$tmp/v.$name" ] || die "no $name in the host's output (full output in $log)"
        files="$files $tmp/v.$name"
    done
    # shellcheck disable=SC2086 # one argument per file
    paste $files | awk "{ print $expr }"
}

# row METRIC UNIT FORMAT LABEL REFERENCE: the numbers on stdin (one per run)
# as N, min and median, in the table and in results.txt
row() {
    set -- "$1" "$2" "$3" "$4" "$5" "$(sort -g | awk -v f="$3" '
        { v[NR] = $1 }
        END {
            if (NR == 0) exit 1
            m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
            printf "%d " f " " f, NR, v[1], m
        }')"
    [ -n "$6" ] || die "no values for $1"
    # shellcheck disable=SC2086 # "N MIN MEDIAN"
    set -- "$1" "$2" "$3" "$4$tag" "$5" $6
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$8" "$2" "$4" "$5" "$6" "$7" >>"$rows"
    echo "$1 $8 $2 $date $where n=$6 min=$7 median=$8" >>"$out/results.txt"
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
    if [ -z "$ONLY" ]; then
        n=$(values mmio_n | head -n 1)
        if [ "$profile" = rpi4 ]; then ref_mmio="see tests/bench/README.md"; else ref_mmio="~160-300 us"; fi
        combine "(\$1 - \$2) / $n / 1000" mmio_n_ns mmio_0_ns |
            row mmio_exit_us us %.1f "MMIO exit cost (N=$n exits)" "$ref_mmio (emulated host, 2-core x86_64)"

        for k in $kernels; do
            name=$(echo "$k" | sed 's/-Image$//; s/^Image$/ours/')
            label=$([ "$name" = ours ] && echo "our kernel" || echo "Debian's kernel")
            # References: what this bench measured on the emulated host, 2-core x86_64.
            if [ "$name" = ours ]; then ref_s="~1.5 s idle, ~4 s loaded" ref_mib="~23 MiB"; else ref_s="~5 s idle, ~13 s loaded" ref_mib="~67 MiB"; fi
            [ "$profile" = rpi4 ] && ref_s="see tests/bench/README.md"
            combine '$1 / 1e9' "boot_${name}_ns" |
                row "boot_to_shell_s_$name" s %.2f "Linux boot to shell, $label" "$ref_s (emulated host, 2-core x86_64)"
            combine '$1 / 1024' "rss_${name}_kib" |
                row "peak_rss_mib_$name" MiB %.1f "god peak RSS (VmHWM), $label" "$ref_mib; guest RAM is $RAM_MIB MiB"
            combine '$1' "boot_exits_${name}_total" |
                row "boot_exits_$name" exits %d "exits to the shell prompt, $label" "not load-dependent"
            for what in $(sed -n "s/^BENCH boot_exits_${name}_\(kind_[^ ]*\|dev_[^ ]*\) .*/\1/p" "$log" | sort -u); do
                combine '$1' "boot_exits_${name}_$what" |
                    row "boot_exits_${name}_$what" exits %d "  of which $(echo "$what" | sed 's/^kind_/kind /; s/^dev_/MMIO to /')" ""
            done
        done

        combine '$1 / $2' pl011_exits pl011_bytes |
            row pl011_exits_per_byte exits/B %.3f "PL011: exits per byte (8 KiB to ttyAMA0)" "0.14 with UARTDR coalesced; 1.15 without; 2.0 before the FIFO"
        combine '$1 / $2' pl011_coalesced pl011_bytes |
            row pl011_coalesced_per_byte writes/B %.3f "PL011: coalesced UARTDR writes per byte" "1.0: every byte, none of them an exit"
        combine '$1 / 1024 / ($2 / 1e9)' pl011_bytes pl011_ns |
            row pl011_kib_s KiB/s %.1f "PL011: 8 KiB to ttyAMA0" "~1.3 KiB/s before the FIFO (idle machine)"
        combine '$1 / $2' hvc_exits hvc_bytes |
            row hvc_exits_per_byte exits/B %.4f "hvc0: exits per byte (64 KiB)" ""
        combine '$1 / 1024 / ($2 / 1e9)' hvc_bytes hvc_ns |
            row hvc_kib_s KiB/s %.1f "hvc0: 64 KiB" "the time includes 0.1 s polling (tests/bench/README.md)"

        for op in blk_write blk_read blk_write4k blk_read4k; do
            case $op in
            blk_write) what="1 MiB O_DIRECT writes" ;;
            blk_read) what="1 MiB O_DIRECT reads" ;;
            blk_write4k) what="4 KiB O_DIRECT writes" ;;
            blk_read4k) what="4 KiB O_DIRECT reads" ;;
            esac
            combine '$1' "${op}_requests" | row "${op}_requests" req %d "virtio-blk $what: requests" ""
            combine '$1 / $2' "${op}_exits" "${op}_requests" |
                row "${op}_exits_per_req" exits %.2f "  exits per request" ""
            combine '$1 / $2' "${op}_irqs" "${op}_requests" |
                row "${op}_irqs_per_req" irqs %.2f "  interrupts per request" ""
            combine '$1 / ($2 / 1048576)' "${op}_exits" "${op}_bytes" |
                row "${op}_exits_per_mib" exits %.1f "  exits per MiB" ""
            combine '$1 / ($2 / 1048576)' "${op}_irqs" "${op}_bytes" |
                row "${op}_irqs_per_mib" irqs %.1f "  interrupts per MiB" ""
            case $op in
            *4k) combine '$1 / ($2 / 1e9)' "${op}_requests" "${op}_ns" | row "${op}_iops" IOPS %.0f "  IOPS (one at a time)" "" ;;
            *) combine '$1 / 1048576 / ($2 / 1e9)' "${op}_bytes" "${op}_ns" | row "${op}_mib_s" MiB/s %.1f "  MiB/s" "" ;;
            esac
        done
        for what in $(sed -n "s/^BENCH boot_exits_virtio_\(kind_[^ ]*\|dev_[^ ]*\) .*/\1/p" "$log" | sort -u); do
            combine '$1' "boot_exits_virtio_$what" |
                row "boot_exits_virtio_$what" exits %d "ch08 boot to prompt: $(echo "$what" | sed 's/^kind_/kind /; s/^dev_/MMIO to /')" ""
        done
    fi
    for b in user tap; do
        [ -n "$(values "net_${b}_g2h_ns")" ] || continue # tap: measured as root only
        what=$([ $b = user ] && echo "--net user (passt)" || echo "--net tap")
        for dir in g2h h2g; do
            label=$([ $dir = g2h ] && echo "guest -> host" || echo "host -> guest")
            m=net_${b}_$dir
            combine '$1 / 1024 / ($2 / 1e9)' "${m}_bytes" "${m}_ns" |
                row "${m}_kib_s" KiB/s %.0f "TCP $label, $what, 4 MiB" ""
            combine '$1 / ($2 / 1048576)' "${m}_exits" "${m}_bytes" |
                row "${m}_exits_per_mib" exits %.0f "  exits per MiB" ""
            combine '$1 / ($2 / 1048576)' "${m}_irqs" "${m}_bytes" |
                row "${m}_irqs_per_mib" irqs %.0f "  eth0 interrupts per MiB" ""
        done
    done
    sed -n "s/^TIMELINE /$where: /p" "$log" >>"$tmp/timelines"
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
awk -F '\t' 'BEGIN { printf "%-52s %3s %10s %10s %-7s %s\n", "metric", "N", "min", "median", "unit", "reference"
                     printf "%-52s %3s %10s %10s %-7s %s\n", "------", "-", "---", "------", "----", "---------" }
             { printf "%-52s %3s %10s %10s %-7s %s\n", $4, $6, $7, $2, $3, $5 }' "$rows"
echo
cat "$tmp/timelines" 2>/dev/null
echo
echo "reference: emulated host on a 2-core x86_64: ~0.3 ms per MMIO exit"
if [ "$mode" = emulated ]; then
    echo "note: emulated host = QEMU TCG; these are not hardware numbers (HOST=native on arm64 for those)"
fi
echo "times depend on the machine's load, exit counts do not: compare exits between commits"
echo "appended to build/bench/results.txt; full output in build/bench/last-run*.log"

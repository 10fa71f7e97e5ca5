# shellcheck shell=sh disable=SC2154 # N, RUNS, KERNELS and ONLY are prepended by tests/bench.sh
# on-host.sh - the part of `make bench` that runs on the ARM64 host with KVM,
# in build/ (/work in the emulated host). tests/bench.sh prepends N=...,
# RUNS=..., KERNELS=... and ONLY=... (empty: everything; "net": only the
# network, section 6) and runs the result with arm64-host.sh -s:
# everything happens in one boot of the emulated host, so its ~10 s start-up
# is paid once.
#
# Prints progress in plain words and each measurement as one line
#   BENCH <name> <integer> <unit>
# that tests/bench.sh turns into the table; a name measured in every run
# appears once per run, in run order. Raw integers only (BusyBox sh does
# 64-bit integer arithmetic, nothing else); the arithmetic is outside. The
# boot timelines are passed on as "TIMELINE <line>". Any failure prints
# "BENCH-FAIL: why" and exits 1.
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
if [ -z "$ONLY" ]; then
    ./ch04-uart/god run --trace --timeout 600 "bench/mmio_$N.bin" >/dev/null 2>bench/trace.txt ||
        fail "god run --trace bench/mmio_$N.bin exited $? (see build/bench/trace.txt)"
    exits=$(sed -n 's/^  MMIO  *\([0-9][0-9]*\)$/\1/p' bench/trace.txt)
    [ "$exits" = "$N" ] || fail "mmio_$N.bin made '${exits:-no}' MMIO exits, want $N"
    ./ch04-uart/god run --trace --timeout 600 bench/mmio_0.bin >/dev/null 2>bench/trace0.txt ||
        fail "god run --trace bench/mmio_0.bin exited $?"
    grep -q '^  MMIO ' bench/trace0.txt && fail "mmio_0.bin made MMIO exits"
    echo "mmio: mmio_$N.bin makes $N MMIO exits, mmio_0.bin none (checked with --trace)"

    # Then timed, without --trace: the two guests alternately, RUNS times each.
    # Alternating spreads any slow phase of the host over both; bench.sh takes
    # each pair's difference.
    run_ns() {
        t0=$(now)
        ./ch04-uart/god run --timeout 600 "$1" >/dev/null 2>&1 || fail "god run $1 exited $?"
        t1=$(now)
        echo $((t1 - t0))
    }
    echo "BENCH mmio_n $N exits"
    i=0
    while [ "$i" -lt "$RUNS" ]; do
        i=$((i + 1))
        a=$(run_ns "bench/mmio_$N.bin") || exit 1
        b=$(run_ns bench/mmio_0.bin) || exit 1
        echo "mmio: run $i: N=$N $((a / 1000000)) ms, N=0 $((b / 1000000)) ms"
        echo "BENCH mmio_n_ns $a ns"
        echo "BENCH mmio_0_ns $b ns"
    done
fi

# --- Driving a Linux guest -------------------------------------------------
# Like ch07-boot-linux/check.sh: god's stdin is a FIFO we hold open on fd 3
# (else god sees end of input), its output goes to a file we poll. god runs
# with --stats (SIGUSR2 prints a snapshot of its counts) and --timeline.
out=""
pid=""
# start_guest OUT ARGS...: start god boot ARGS in the current directory
start_guest() {
    out=$1
    shift
    rm -f "$top/bench/in" "$out"
    mkfifo "$top/bench/in" || fail "mkfifo"
    ./god boot "$@" --stats --timeline --timeout 1200 <"$top/bench/in" >"$out" 2>&1 &
    pid=$!
    exec 3>"$top/bench/in"
}

# wait_text TEXT SECONDS [COUNT]: until TEXT is in the output COUNT times; 1 if not
# Polls every 0.1 s: finer would steal CPU from the guest (the emulated
# host has 2 CPUs and the guest's 2 vCPUs run on them).
wait_text() {
    end=$(($(now) + $2 * 1000000000))
    while [ "$(now)" -lt "$end" ]; do
        [ "$(grep -cF -- "$1" "$out")" -ge "${3:-1}" ] && return 0
        kill -0 "$pid" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

say() { printf '%s\n' "$1" >&3; }

# stat N SECTION NAME: NAME's count under SECTION in god's Nth "god: stats" block
stat() {
    awk -v n="$1" -v sec="$2:" -v name="$3" '
        index($0, "god: stats") { block++; in_sec = 0; next }
        block == n && /^[^ ]/ { in_sec = index($0, sec) > 0 }
        block == n && in_sec && /^  / {
            label = $0; sub(/^  */, "", label); sub(/  *[0-9][0-9]*$/, "", label)
            if (label == name) { print $NF; exit }
        }' "$out"
}

# snapshot N: SIGUSR2 to god, and wait for its Nth stats block to be complete
snapshot() {
    kill -USR2 "$pid"
    end=$(($(now) + 60 * 1000000000))
    until [ -n "$(stat "$1" "console bytes out" PL011)" ] &&
        [ -n "$(stat "$1" "interrupts raised" PL011)" ]; do
        [ "$(now)" -lt "$end" ] || fail "no stats snapshot $1 from god"
        sleep 0.1
    done
}

# all_exits N: every exit in stats block N (all kinds)
all_exits() {
    awk -v n="$1" '
        index($0, "god: stats") { block++; in_sec = 0; next }
        block == n && /^[^ ]/ { in_sec = index($0, "exits by kind:") > 0 }
        block == n && in_sec && /^  / { sum += $NF }
        END { print sum + 0 }' "$out"
}

# emit_boot_exits NAME N: exits by kind and MMIO exits by device in block N, as BENCH lines
emit_boot_exits() {
    awk -v n="$2" -v name="$1" '
        index($0, "god: stats") { block++; sec = ""; next }
        block == n && /^[^ ]/ { sec = $0 }
        block == n && /^  / {
            label = $0; sub(/^  */, "", label); sub(/  *[0-9][0-9]*$/, "", label)
            gsub(/[^A-Za-z0-9]+/, "_", label); sub(/_$/, "", label)
            if (sec == "exits by kind:") print "BENCH boot_exits_" name "_kind_" label " " $NF " exits"
            if (sec == "MMIO exits by device:") print "BENCH boot_exits_" name "_dev_" label " " $NF " exits"
        }' "$out"
    echo "BENCH boot_exits_${1}_total $(all_exits "$2") exits"
}

stop_guest() {
    say 'poweroff'
    rc=0
    wait "$pid" || rc=$?
    exec 3>&-
    [ "$rc" -eq 0 ] || { tail -n 20 "$out"; fail "god exited $rc after poweroff, want 0"; }
    pid=""
}

# console_run NAME DEVICE BYTES: BYTES written by the guest to DEVICE, between
# snapshots 2 and 3. The guest prints GO-7 when it runs the command (so it
# has echoed all of it: wait for output, the shell wraps long echoes) and
# sleeps 1 s, in which snapshot 2 is taken; the time is from sending the
# command to seeing its end marker, minus that second (0.1 s polling).
console_run() {
    t0=$(now)
    say "dmesg -n 1; echo GO-\$((6+1)); sleep 1; head -c $3 /dev/zero | tr '\\0' x >/dev/$2; echo TX-\$((4*4))"
    wait_text "GO-7" 120 || fail "$2: the shell did not run the command"
    snapshot 2
    wait_text "TX-16" 900 || fail "$2: $3 bytes did not get through"
    t1=$(now)
    sleep 1
    snapshot 3
    dev=$([ "$2" = ttyAMA0 ] && echo PL011 || echo hvc0)
    echo "BENCH ${1}_bytes $(($(stat 3 "console bytes out" "$dev") - $(stat 2 "console bytes out" "$dev"))) B"
    echo "BENCH ${1}_exits $(($(all_exits 3) - $(all_exits 2))) exits"
    # The PL011's UARTDR writes KVM queued instead of exiting (chapter 7).
    [ "$dev" = PL011 ] &&
        echo "BENCH ${1}_coalesced $(($(stat 3 "MMIO writes coalesced" PL011) - $(stat 2 "MMIO writes coalesced" PL011))) writes"
    echo "BENCH ${1}_ns $((t1 - t0 - 1000000000)) ns"
}

# disk_run NAME DD-ARGS FIELD BYTES: one dd of BYTES in the guest between two
# snapshots; FIELD is /sys/block/vda/stat's I/O count for the direction (1
# read, 5 write)
snap=3
disk_run() {
    label=$1
    bytes=$4
    say "echo GO-\$((100+$snap)); sleep 1; s0=\$(cat /sys/block/vda/stat); t0=\$(cut -d' ' -f1 /proc/uptime); dd $2 2>/dev/null; t1=\$(cut -d' ' -f1 /proc/uptime); s1=\$(cat /sys/block/vda/stat); echo DD-\$((6*7)) \$(echo \$s0 | cut -d' ' -f$3) \$(echo \$s1 | cut -d' ' -f$3) \$t0 \$t1"
    wait_text "GO-$((100 + snap))" 120 || fail "$label: the shell did not run the command"
    snap=$((snap + 1))
    snapshot $snap
    wait_text "DD-42" 900 $(((snap - 2) / 2)) || fail "$label: dd $2 did not finish"
    sleep 1
    snap=$((snap + 1))
    snapshot $snap
    line=$(tr -d '\r' <"$out" | grep "^DD-42 " | tail -n 1)
    # "DD-42 <I/Os before> <I/Os after> <uptime before> <uptime after>": the
    # guest's own clock, 10 ms resolution (BusyBox's dd reports no time).
    # shellcheck disable=SC2086 # split into words on purpose
    set -- $line
    [ $# -ge 5 ] || fail "$label: could not read the guest's report: $line"
    echo "BENCH ${label}_requests $(($3 - $2)) req"
    echo "BENCH ${label}_bytes $bytes B"
    echo "BENCH ${label}_ns $(echo "$4 $5" | awk '{ printf "%d", ($2 - $1) * 1e9 }') ns"
    echo "BENCH ${label}_exits $(($(all_exits $snap) - $(all_exits $((snap - 1))))) exits"
    echo "BENCH ${label}_irqs $(($(stat $snap "interrupts raised" "disk 0") - $(stat $((snap - 1)) "interrupts raised" "disk 0"))) irqs"
}

# --- 2. and 3. Linux boot time, peak RSS, exits to the prompt; the PL011 ----
# Chapter 7: the clock starts just before god does, so the time includes
# loading the kernel and initramfs and building the device tree.
if [ -z "$ONLY" ]; then
    cd "$top/ch07-boot-linux" || fail "no build/ch07-boot-linux"
    for kernel in $KERNELS; do
        name=$(echo "$kernel" | sed 's/-Image$//; s/^Image$/ours/')
        runs=$RUNS
        [ "$name" = ours ] || runs=1 # Debian's kernel is slow to boot here: once
        i=0
        while [ "$i" -lt "$runs" ]; do
            i=$((i + 1))
            start=$(now)
            start_guest "$top/bench/boot-$name.txt" --kernel "$kernel" --initrd initramfs.cpio.gz \
                --cpus 2 --ram 256M --cmdline "console=ttyAMA0 quiet"
            wait_text "guest:" 900 || { tail -n 20 "$out"; fail "$kernel: no shell prompt within 900 s"; }
            found=$(now)
            echo "boot: $kernel: run $i: shell prompt after $(((found - start) / 1000000)) ms"
            # Peak RSS (VmHWM) of the VMM so far: guest RAM is MAP_NORESERVE and
            # demand-paged, so only the pages the guest has touched count.
            [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = god ] || fail "pid $pid is not god"
            hwm=$(sed -n 's/^VmHWM:[[:space:]]*\([0-9][0-9]*\) kB$/\1/p' "/proc/$pid/status")
            [ -n "$hwm" ] || fail "no VmHWM in /proc/$pid/status"
            snapshot 1
            echo "BENCH boot_${name}_ns $((found - start)) ns"
            echo "BENCH rss_${name}_kib $hwm KiB"
            emit_boot_exits "$name" 1
            [ "$name" = ours ] && console_run pl011 ttyAMA0 8192
            stop_guest
            if [ "$i" -eq 1 ]; then
                sed -n '/god: boot timeline/,$p' "$out" | tr -d '\r' | sed "s/^/TIMELINE ch07 $name: /"
            fi
        done
    done

    # --- 4. and 5. Chapter 8: hvc0 and virtio-blk ----------------------------
    # A 64 MiB sparse disk in the host's RAM; raw I/O on /dev/vda, no filesystem.
    cd "$top/ch08-virtio" || fail "no build/ch08-virtio"
    rm -f "$top/bench/disk.img"
    dd if=/dev/zero of="$top/bench/disk.img" bs=1M seek=64 count=0 2>/dev/null || fail "creating the disk"
    i=0
    while [ "$i" -lt "$RUNS" ]; do
        i=$((i + 1))
        start_guest "$top/bench/virtio.txt" --kernel Image --initrd initramfs.cpio.gz \
            --cpus 2 --ram 256M --cmdline "console=hvc0 quiet" --disk "$top/bench/disk.img"
        wait_text "guest:" 900 || { tail -n 20 "$out"; fail "ch08: no shell prompt within 900 s"; }
        echo "virtio: run $i: at the prompt"
        snapshot 1
        emit_boot_exits virtio 1
        console_run hvc hvc0 65536
        snap=3
        disk_run blk_write "if=/dev/zero of=/dev/vda bs=1M count=16 oflag=direct" 5 16777216
        disk_run blk_read "if=/dev/vda of=/dev/null bs=1M count=16 iflag=direct" 1 16777216
        disk_run blk_write4k "if=/dev/zero of=/dev/vda bs=4k count=256 oflag=direct" 5 1048576
        disk_run blk_read4k "if=/dev/vda of=/dev/null bs=4k count=256 iflag=direct" 1 1048576
        stop_guest
        if [ "$i" -eq 1 ]; then
            sed -n '/god: boot timeline/,$p' "$out" | tr -d '\r' | sed "s/^/TIMELINE ch08: /"
        fi
    done
    rm -f "$top/bench/in" "$top/bench/disk.img"
fi

# --- 6. Chapter 8: the network card ------------------------------------------
# TCP through virtio-net, both backends, both directions. bench/tcp (tcp.c)
# listens on this host and times one connection from accept() to the
# guest's close; the guest's BusyBox nc is the client, through passt to this
# host's loopback (--net user: the gateway's address is mapped to it), or
# over tap0 (--net tap, root only). NET_BYTES of zeros each time; exits and
# eth0 interrupts between snapshots around each transfer.
NET_BYTES=4194304
# net_once NAME MODE PEER PORT: one transfer (tcp MODE: send = host -> guest);
# 2 when the guest's nc could not connect
net_once() {
    rm -f "$top/bench/tcp.out"
    # shellcheck disable=SC2046 # no size for recv
    "$top/bench/tcp" "$2" "$4" $([ "$2" = send ] && echo $NET_BYTES) >"$top/bench/tcp.out" 2>&1 &
    tcp_pid=$!
    n=0
    until grep -qs ready "$top/bench/tcp.out"; do
        [ "$n" -lt 100 ] || fail "bench/tcp did not start: $(cat "$top/bench/tcp.out")"
        n=$((n + 1))
        sleep 0.1
    done
    snap=$((snap + 1))
    snapshot $snap
    if [ "$2" = recv ]; then
        say "head -c $NET_BYTES /dev/zero | nc $3 $4; echo NET\$((1+1))=\$?"
    else
        say "echo NET\$((1+1))=\$(nc $3 $4 | wc -c)"
    fi
    net_done=$((net_done + 1))
    wait_text "NET2=" 900 $net_done || fail "$1: the guest's nc did not finish"
    # What the guest's nc said: its exit status (sending), the bytes it read (receiving).
    got=$(tr -d '\r' <"$out" | sed -n 's/^NET2=//p' | tail -n 1)
    want=$([ "$2" = recv ] && echo 0 || echo $NET_BYTES)
    # Sending, the guest's nc may finish before its last bytes have left: give them a minute.
    n=0
    while kill -0 "$tcp_pid" 2>/dev/null && [ "$got" = "$want" ] && [ "$n" -lt 600 ]; do
        n=$((n + 1))
        sleep 0.1
    done
    kill "$tcp_pid" 2>/dev/null
    [ "$got" = "$want" ] || { tail -n 3 "$out"; return 2; }
    wait "$tcp_pid" || fail "$1: bench/tcp: $(cat "$top/bench/tcp.out")"
    # shellcheck disable=SC2046 # "<bytes> <ns>"
    set -- "$1" "$2" $(tail -n 1 "$top/bench/tcp.out")
    [ "$3" = $NET_BYTES ] || fail "$1: $3 bytes arrived, want $NET_BYTES"
    snap=$((snap + 1))
    snapshot $snap
    echo "net: $1: $((NET_BYTES / 1024)) KiB in $(($4 / 1000000)) ms"
    echo "BENCH ${1}_bytes $3 B"
    echo "BENCH ${1}_ns $4 ns"
    echo "BENCH ${1}_exits $(($(all_exits $snap) - $(all_exits $((snap - 1))))) exits"
    echo "BENCH ${1}_irqs $(($(stat $snap "interrupts raised" eth0) - $(stat $((snap - 1)) "interrupts raised" eth0))) irqs"
}
# net_run NAME MODE PEER PORT: net_once, and once more if the connection was
# refused or reset: Debian 12's passt resets a connection whose SYN the
# guest retransmits, which a loaded emulated host makes it do (see the
# chapter 8 README's gotchas). Said, not hidden.
net_run() {
    net_once "$@" && return
    [ $? -eq 2 ] || exit 1
    echo "net: $1: NOTE: the guest's connection was reset; once more"
    net_once "$1" "$2" "$3" $(($4 + 100)) && return
    [ $? -eq 2 ] || exit 1
    echo "net: $1: NOTE: the guest's connection was reset again; a last time"
    net_once "$1" "$2" "$3" $(($4 + 200)) || fail "$1: the guest's connection was reset three times"
}
cd "$top/ch08-virtio" || fail "no build/ch08-virtio"
backends=user
if [ "$(id -u)" = 0 ]; then backends="user tap"; else echo "net: --net tap not measured: creating tap0 needs root"; fi
for backend in $backends; do
    if [ $backend = user ]; then
        start_guest "$top/bench/net-user.txt" --kernel Image --initrd initramfs.cpio.gz \
            --cpus 2 --ram 256M --cmdline "console=hvc0 quiet" --net user
    else
        start_guest "$top/bench/net-tap.txt" --kernel Image --initrd initramfs.cpio.gz \
            --cpus 2 --ram 256M --cmdline "console=hvc0 quiet" --net tap=tap0
        for _ in $(seq 100); do [ -e /sys/class/net/tap0 ] && break; sleep 0.2; done
        ip addr add 192.168.77.1/24 dev tap0 && ip link set tap0 up || fail "--net tap: no tap0"
    fi
    wait_text "guest:" 900 || { tail -n 20 "$out"; fail "--net $backend: no shell prompt within 900 s"; }
    if [ $backend = user ]; then
        peer=$(tr -d '\r' <"$out" | sed -n 's/^god: eth0 is [0-9.]*, gateway \([0-9.]*\),.*/\1/p')
        [ -n "$peer" ] || fail "--net user: no DHCP lease from passt"
    else
        peer=192.168.77.1
        say 'ip addr add 192.168.77.2/24 dev eth0; ip link set eth0 up; ping -c 1 -W 10 192.168.77.1 >/dev/null; echo UP$((1+1))=$?'
        wait_text "UP2=" 120 || fail "--net tap: the guest did not configure eth0"
        grep -q "UP2=0" "$out" || fail "--net tap: the guest cannot reach 192.168.77.1"
    fi
    snap=0
    net_done=0
    i=0
    while [ "$i" -lt "$RUNS" ]; do
        i=$((i + 1))
        net_run "net_${backend}_g2h" recv "$peer" $((7000 + 2 * i))
        net_run "net_${backend}_h2g" send "$peer" $((7001 + 2 * i))
    done
    stop_guest
done
rm -f "$top/bench/in" "$top/bench/tcp.out"
echo "BENCH done 1 -"

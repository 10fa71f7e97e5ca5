#!/bin/bash
# arm64-host.sh - run a command on an ARM64 Linux host that has KVM.
#
#   arm64-host.sh [-C DIR] [-t SECONDS] [-d DISK] -- COMMAND [ARG...]
#   arm64-host.sh [-C DIR] [-t SECONDS] [-d DISK] -s SCRIPT
#   arm64-host.sh -w          print which host would be used: native or emulated
#
# The chapters' programs are aarch64 binaries that drive /dev/kvm, so they
# need an ARM64 machine with KVM. Two ways to get one:
#
#   native    this machine is aarch64 and /dev/kvm opens: run COMMAND here.
#   emulated  anything else: boot an ARM64 machine in QEMU (TCG) with
#             virtualization=on, so the emulated CPU has EL2 and Debian's
#             arm64 kernel starts KVM in it. Our build/ directory travels in
#             the initramfs; COMMAND runs there and its output and exit status
#             come back here.
#
# HOST=native|emulated overrides the choice. EMU picks what the emulated host
# models (ignored natively):
#
#   server    (the default) -cpu max with a GICv3, and VHE: the host kernel
#             runs at EL2, like an arm64 server or cloud machine (Graviton,
#             Ampere).
#   rpi4      -cpu cortex-a72 with a GICv2 (the GIC-400's architecture): an
#             ARMv8.0 CPU, so no VHE, and KVM runs split in "Hyp mode" (nVHE);
#             KVM can only give guests a vGICv2. A Raspberry Pi 4, as far as a
#             VMM can tell.
#
# DIR is relative to build/ (for
# example ch03-vcpu); the command runs there. -s runs a shell script instead
# of one command, for running many checks in one boot. -d attaches a disk
# image: inside the emulated host it is the block device /dev/vda, and DIR
# gets a link to it under the image's own name, so `--disk disk.img` works in
# both modes and what the guest writes lands in the file on this side. -t bounds the whole run
# (default 600 s; 0 means no limit, for interactive use). For tests/native.sh
# (make test-native), three more: -i ARCHIVE appends a cpio.gz (a userland)
# to the emulated host's initramfs, -m MIB sets its RAM (default 2048), and
# -P sends only build/DIR, not all of build/. The exit status is
# the command's; 124 means the time ran out, 125 that the emulated host failed.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
build=$top/build
emu=$build/emu

dir=.
timeout=600
script=""
disk=""
which=""
extra=""
mem=2048
only=""
while getopts "C:t:s:d:wi:m:P" opt; do
    case $opt in
    C) dir=$OPTARG ;;
    t) timeout=$OPTARG ;;
    s) script=$OPTARG ;;
    d) disk=$(readlink -f "$OPTARG") ;;
    w) which=1 ;;
    i) extra=$(readlink -f "$OPTARG") ;;
    m) mem=$OPTARG ;;
    P) only=1 ;;
    *) exit 2 ;;
    esac
done
shift $((OPTIND - 1))
[ -n "$script" ] && script=$(cd "$(dirname "$script")" && pwd)/$(basename "$script")
[ "${1:-}" = "--" ] && shift
if [ -z "$which" ] && [ -z "$script" ] && [ $# -eq 0 ]; then
    echo "usage: arm64-host.sh [-C DIR] [-t SECONDS] [-d DISK] (-- COMMAND... | -s SCRIPT)" >&2
    exit 2
fi

die() {
    echo "arm64-host: $*" >&2
    exit 125
}

# --- which host ---------------------------------------------------------------
mode=${HOST:-auto}
if [ "$mode" = auto ]; then
    if [ "$(uname -m)" = aarch64 ] && [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
        mode=native
    else
        mode=emulated
    fi
fi
if [ -n "$which" ]; then
    echo "$mode"
    exit 0
fi

if [ "$mode" = native ]; then
    cd "$build/$dir" || die "no directory build/$dir (did the build run?)"
    if [ -n "$script" ]; then
        exec timeout --foreground "${timeout}" sh "$script"
    fi
    exec timeout --foreground "${timeout}" "$@"
fi
[ "$mode" = emulated ] || die "HOST must be native or emulated, not '$mode'"

# --- which machine to emulate (EMU) ---------------------------------------------
# Both have EL2 (virtualization=on), so Debian's kernel starts KVM in them.
case ${EMU:-server} in
server) machine=virt,virtualization=on,gic-version=3 cpu=max ;;
rpi4) machine=virt,virtualization=on,gic-version=2 cpu=cortex-a72 ;;
*) die "EMU must be server or rpi4, not '${EMU}'" ;;
esac

# --- the emulated host's kernel and base initramfs (built once, cached) ---------
"$here/deps.sh" qemu-system-arm cpio gzip busybox-static
mkdir -p "$emu"
# One run at a time builds the cache; others wait for it.
exec 9>"$emu/.lock"
flock 9
kernel=$emu/host-Image
# Modules of Debian's kernel that the host needs: virtio-blk for -d; tun
# (/dev/net/tun, for god --net tap) and dummy (an interface with a default
# route, without which passt, god --net user, finds no network to serve).
modules="virtio_mmio virtio_blk tun dummy"
missing=""
for m in $modules; do
    [ -e "$emu/modules/$m.ko" ] || [ -e "$emu/modules/$m.ko.xz" ] || missing=1
done
if [ ! -s "$kernel" ] || [ -n "$missing" ]; then
    echo "arm64-host: fetching Debian's arm64 kernel for the emulated host" >&2
    rm -rf "$emu/kpkg"
    "$here/arm64-deb.sh" linux-image-arm64 "$emu/kpkg"
    cp "$emu"/kpkg/boot/vmlinuz-* "$kernel"
    mkdir -p "$emu/modules"
    for m in $modules; do
        find "$emu/kpkg/lib/modules" -name "$m.ko*" -exec cp {} "$emu/modules/" \;
    done
    rm -rf "$emu/kpkg" "$emu/base.cpio.gz"
fi

base=$emu/base.cpio.gz
if [ ! -s "$base" ] || [ "$here/host-init.sh" -nt "$base" ] || [ "$0" -nt "$base" ]; then
    echo "arm64-host: building the emulated host's initramfs" >&2
    rm -rf "$emu/base" && mkdir -p "$emu/base"/{bin,dev,proc,sys,tmp,lib/modules,work}
    "$here/arm64-deb.sh" busybox-static "$emu/bbpkg"
    cp "$emu/bbpkg/bin/busybox" "$emu/base/bin/"
    rm -rf "$emu/bbpkg"
    # passt, the user-mode network god --net user starts. It is linked
    # against the C library, which travels with the payload (see below).
    "$here/arm64-deb.sh" passt "$emu/passtpkg"
    cp "$emu/passtpkg/usr/bin/passt" "$emu/base/bin/"
    rm -rf "$emu/passtpkg"
    # passt started as root switches to user nobody, which it looks up.
    mkdir -p "$emu/base/etc"
    printf 'root:x:0:0:root:/:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$emu/base/etc/passwd"
    printf 'root:x:0:\nnogroup:x:65534:\n' >"$emu/base/etc/group"
    cp "$here/host-init.sh" "$emu/base/init"
    chmod +x "$emu/base/init"
    cp "$emu"/modules/* "$emu/base/lib/modules/" 2>/dev/null || true
    (cd "$emu/base" && find . | cpio -o -H newc -R 0:0 --quiet | gzip -1) >"$base.tmp"
    mv "$base.tmp" "$base"
fi
flock -u 9

# --- this run's payload: build/ (minus our own files), the command ------------
# Everything of this run lives in its own directory, so runs can overlap.
run=$(mktemp -d "$emu/run.XXXXXX")
payload=$run/payload
cleanup() { rm -rf "$run"; }
trap cleanup EXIT

mkdir -p "$payload/work"
for d in "$build"/*/; do
    case $(basename "$d") in emu | tests* | cache | sysroot | fuzz | bench-*) continue ;; esac
    [ -z "$only" ] || [ "$(basename "$d")" = "${dir%%/*}" ] || continue
    # The attached disk travels as a disk, not as a copy in the initramfs.
    (cd "$build" && find "$(basename "$d")" ! -path "${disk#"$build"/}" -print0 |
        cpio -0 -pdm --quiet "$payload/work")
done
# Dynamically linked builds (SANITIZE=1) and passt need the aarch64 loader
# and libraries: the cross toolchain's. Not with a userland (-i), which
# brings its own C library: the payload is unpacked last, so our loader would
# replace its loader, and a loader from another build of glibc than the
# libc.so.6 next to it disagrees with it about their shared private data
# (there, every fork()ed child of a dynamically linked program spun forever
# walking glibc's list of thread stacks).
if [ -z "$extra" ] && [ -d /usr/aarch64-linux-gnu/lib ] && [ "$(uname -m)" != aarch64 ]; then
    mkdir -p "$payload/lib"
    for l in ld-linux-aarch64.so.1 libc.so.6 libm.so.6 libgcc_s.so.1 libstdc++.so.6 \
        libasan.so.8 libubsan.so.1 libz.so.1; do
        [ -e "/usr/aarch64-linux-gnu/lib/$l" ] && cp -L "/usr/aarch64-linux-gnu/lib/$l" "$payload/lib/"
    done
fi

interactive=0
[ -t 0 ] && [ -t 1 ] && interactive=1
{
    echo "cd /work/$dir || exit 125"
    [ -n "$disk" ] && echo "ln -sf /dev/vda /work/${disk#"$build"/}"
    if [ $interactive = 1 ]; then
        # The emulated console starts at 0x0; tell it the real terminal's size.
        echo "stty rows $(tput lines 2>/dev/null || echo 24) cols $(tput cols 2>/dev/null || echo 80)"
    fi
    if [ -n "$script" ]; then
        cp "$script" "$payload/work/.script"
        echo "sh /work/.script"
    else
        printf '%q ' "$@"
        echo
    fi
} >"$payload/work/.command"
echo "$interactive" >"$payload/work/.interactive"
# The kernel unpacks concatenated cpio archives in order, like one.
{
    cat "$base"
    [ -z "$extra" ] || cat "$extra"
    (cd "$payload" && find . | cpio -o -H newc -R 0:0 --quiet | gzip -1)
} >"$run/initrd.cpio.gz"

# --- boot it -----------------------------------------------------------------
drive=()
if [ -n "$disk" ]; then
    [ -f "$disk" ] || die "no disk image $disk"
    case $disk in "$build"/*) ;; *) die "the disk image must be inside build/: $disk" ;; esac
    drive=(-drive "file=$disk,if=none,format=raw,id=d0" -device virtio-blk-device,drive=d0)
fi
log=$run/console.log
: >"$log"
# signal=off: Ctrl-C goes to the program inside, not to QEMU. No monitor, no
# escape character: the program inside owns the keyboard (Ctrl-A x included).
qemu=(qemu-system-aarch64 -M "$machine" -cpu "$cpu" -smp 2 -m "$mem"
    -nodefaults -display none -no-reboot
    -chardev "stdio,id=con,signal=off,logfile=$log" -serial chardev:con
    -kernel "$kernel" -initrd "$run/initrd.cpio.gz" "${drive[@]}"
    -append "console=ttyAMA0 loglevel=1 panic=-1 rdinit=/init")

# The emulated host must say it is up within three minutes, or we stop
# waiting; five with a userland (-i) to unpack first. It takes ~12 s on an
# idle machine; a minute was missed at load 11 (TCG shares the cores), and
# a host that hangs while booting is caught just the same.
up_limit=180
[ -z "$extra" ] || up_limit=300
watchdog() {
    for _ in $(seq $((up_limit * 2))); do
        sleep 0.5
        grep -q "god-host: up" "$log" 2>/dev/null && return 0
    done
    echo "arm64-host: the emulated ARM64 host did not come up within $up_limit s (console in $emu/console.log)" >&2
    pkill -f -- "-initrd $run/initrd.cpio.gz" || true
}
watchdog &
wpid=$!

rc=0
if [ "$timeout" = 0 ]; then
    "${qemu[@]}" || rc=$?
elif [ $interactive = 1 ]; then
    timeout --foreground "$timeout" "${qemu[@]}" || rc=$?
else
    timeout "$timeout" "${qemu[@]}" </dev/null || rc=$?
fi
kill $wpid 2>/dev/null || true
wait $wpid 2>/dev/null || true
cp "$log" "$emu/console.log" # the last run's console, for a post-mortem
[ $interactive = 1 ] && stty sane 2>/dev/null

if [ $rc = 124 ]; then
    echo "arm64-host: timed out after $timeout s (console in $emu/console.log)" >&2
    exit 124
fi
status=$(tr -d '\r' <"$log" | sed -n 's/^god-host: exit status \([0-9]*\)$/\1/p' | tail -n 1)
if [ -z "$status" ]; then
    grep -q "god-host: up" "$log" || die "the emulated ARM64 host did not come up (console in $emu/console.log)"
    die "the emulated ARM64 host stopped before the command finished (console in $emu/console.log)"
fi
exit "$status"

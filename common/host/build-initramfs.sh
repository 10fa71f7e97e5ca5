#!/bin/sh
# build-initramfs.sh OUT.cpio.gz - the guest's initramfs: BusyBox and an /init
# that gives you a shell (introduced in chapter 7).
#
#   build-initramfs.sh build/ch07/initramfs.cpio.gz
#
# What is inside:
#   /bin/busybox   Debian's busybox-static for arm64: one static binary with a
#                  shell and ~300 commands, so no C library is needed.
#   /init          the first program the kernel runs (see below).
#   /etc/profile   a prompt and PATH for the shell.
#   /etc/udhcpc/default.script
#                  what BusyBox's DHCP client runs when it gets a lease (it
#                  only talks DHCP; configuring eth0 is this script's job).
#   empty /dev /proc /sys /tmp /mnt and the directories BusyBox links itself into.
#
# Made without root: the files are ordinary files owned by you, and cpio
# writes them into the archive as owned by root (-R 0:0). There are no
# device nodes in it (creating one needs root): /init mounts devtmpfs, where
# the kernel creates /dev/console, /dev/ttyAMA0 and friends by itself.
#
# The archive is cached in ${XDG_CACHE_HOME:-~/.cache}/god/initramfs/, keyed by
# a hash of this script (which contains /init): a second run only copies it.
# BusyBox comes from arm64-deb.sh (cache: .../god/debs).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
cache=${XDG_CACHE_HOME:-$HOME/.cache}/god/initramfs

say() { echo "build-initramfs: $*" >&2; }
die() {
    say "error: $*"
    exit 1
}

[ $# -eq 1 ] || {
    echo "usage: build-initramfs.sh OUT.cpio.gz" >&2
    exit 2
}
out=$1

"$here/deps.sh" cpio gzip dpkg

key=$(sha256sum "$0" | cut -c1-16)
cached=$cache/initramfs-$key.cpio.gz
mkdir -p "$cache" "$(dirname "$out")"
if [ -s "$cached" ]; then
    cp "$cached" "$out"
    say "$out: cached ($cached)"
    exit 0
fi

work=$(mktemp -d "$cache/work.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/root

say "fetching BusyBox (Debian busybox-static, arm64)"
"$here/arm64-deb.sh" busybox-static "$work/deb"
[ -f "$work/deb/bin/busybox" ] || die "the busybox-static package has no /bin/busybox"

mkdir -p "$root/bin" "$root/sbin" "$root/usr/bin" "$root/usr/sbin" "$root/etc" \
    "$root/dev" "$root/proc" "$root/sys" "$root/tmp" "$root/root" "$root/mnt"
cp "$work/deb/bin/busybox" "$root/bin/busybox"
chmod 755 "$root/bin/busybox"
# The shell in "#!/bin/sh" scripts, before /init has installed the other links.
ln -s busybox "$root/bin/sh"

cat >"$root/init" <<'EOF'
#!/bin/busybox sh
# /init - the first process of the guest (PID 1), from build-initramfs.sh.
#
# The kernel unpacked this initramfs into a RAM filesystem and runs /init
# with nothing set up: no /proc, no /sys, maybe not even /dev/console.

# Let BusyBox make its command links (/bin/ls -> busybox, ...). It reads
# /proc/self/exe to find itself, so mount /proc first, by the full path.
/bin/busybox mount -t proc proc /proc
/bin/busybox --install -s

mount -t sysfs sysfs /sys
# devtmpfs: the kernel creates a node here for every device it finds.
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts && mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /tmp

# The kernel opens /dev/console for PID 1 before /init runs; our archive has
# no device nodes, so that may have failed. Now that devtmpfs is up, retry.
exec </dev/console >/dev/console 2>&1

echo
echo "god: Linux $(uname -r) is up on $(grep -c ^processor /proc/cpuinfo) CPU(s)," \
    "$(($(sed -n 's/^MemTotal: *\([0-9]*\).*/\1/p' /proc/meminfo) / 1024)) MiB"
echo "god: console is $(cat /sys/class/tty/console/active); exit the shell to power off"

# A network card (god's --net): ask for an address by DHCP. -n: give up
# after three tries instead of waiting forever (a tap has no DHCP server
# unless you run one), -q: no daemon left behind.
# (Chapter 7's kernel has no network at all: then there is no lo either.)
[ -e /sys/class/net/lo ] && ip link set lo up
if [ -e /sys/class/net/eth0 ]; then
    udhcpc -i eth0 -n -q -t 3 -T 1 -s /etc/udhcpc/default.script >/dev/null 2>&1 ||
        echo "god: eth0: no DHCP answer; configure it yourself (ip addr add ...)"
fi

# From here BusyBox's own init is PID 1, for one reason: `poweroff`,
# `reboot` and `halt` typed in the shell do not power anything off
# themselves. They signal PID 1 (SIGUSR2, SIGTERM, SIGUSR1) and leave the
# rest to init, which runs the shutdown actions of /etc/inittab (sync,
# unmount) and then calls reboot(2): PSCI SYSTEM_OFF or SYSTEM_RESET, and
# the VMM exits.
exec /bin/busybox init
EOF
chmod 755 "$root/init"

# BusyBox init's table: what to run at start and before shutting down.
# setsid: a new session, so the shell can take a controlling terminal.
# cttyhack: opens the real console device (ttyAMA0, hvc0: /dev/console
# itself cannot be a controlling terminal) so job control and Ctrl-C work.
# When that shell exits, we power off too.
cat >"$root/etc/inittab" <<'EOF'
::once:/bin/sh -c 'setsid cttyhack sh -l; echo "god: shell exited, powering off"; poweroff'
::shutdown:/bin/sync
::shutdown:/bin/umount -a -r
EOF

mkdir -p "$root/etc/udhcpc"
cat >"$root/etc/udhcpc/default.script" <<'EOF'
#!/bin/sh
# Called by udhcpc with the event in $1 and the lease in the environment:
# $interface, $ip, $subnet, $router, $dns (see BusyBox's udhcpc docs).
case "$1" in
deconfig)
    ip -4 addr flush dev "$interface"
    ip link set "$interface" up
    ;;
bound | renew)
    ifconfig "$interface" "$ip" netmask "${subnet:-255.255.255.0}" up
    ip route del default 2>/dev/null
    for r in $router; do
        ip route add default via "$r" dev "$interface" && break
    done
    : >/etc/resolv.conf
    for d in $dns; do
        echo "nameserver $d" >>/etc/resolv.conf
    done
    # An "mtu" option is ignored on purpose: our virtio-net card has no
    # offloads, so the guest's receive buffers hold 1500-byte packets only.
    echo "god: $interface is $ip, gateway ${router:-none}, DNS ${dns:-none}" >/dev/console
    ;;
esac
exit 0
EOF
chmod 755 "$root/etc/udhcpc/default.script"

cat >"$root/etc/profile" <<'EOF'
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
export HOME=/root
export PS1='guest:\w# '
cd "$HOME"
EOF

# newc is the only cpio format the kernel reads. Sorted names and
# --reproducible (no host inode numbers) keep the archive free of accidents
# of the build machine.
say "packing $(find "$root" | wc -l) entries"
(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --reproducible --quiet) |
    gzip -9 -n >"$work/initramfs.cpio.gz"
mv "$work/initramfs.cpio.gz" "$cached"
cp "$cached" "$out"
say "$out: $(stat -c %s "$out") bytes (cached in $cached)"

#!/bin/busybox sh
# /init of the emulated ARM64 host (see arm64-host.sh): set up a minimal
# Linux userland, run the command we were given in /work, report its exit
# status on the console, power off.
# First, move the root onto a bind mount of itself (what switch_root does
# with a real root file system) and start again there. passt (god --net
# user) sandboxes itself with pivot_root(2) and a user namespace: the first
# refuses to move the initramfs itself (rootfs), the second refuses a
# chroot; a mount moved onto / is neither.
if [ -z "${GOD_HOST_REBOUND:-}" ]; then
    /bin/busybox mkdir -p /newroot
    /bin/busybox mount -o bind / /newroot
    cd /newroot && /bin/busybox mount -o move . / &&
        GOD_HOST_REBOUND=1 exec /bin/busybox chroot . /init
    echo "god-host: warning: cannot move the root; passt will not start" >&2
fi
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
# Pseudo-terminals, as on any Linux machine: without devpts, /dev/ptmx
# does not open (the unit tests' terminal cases, run by make test-native).
mkdir -p /dev/pts
mount -t devpts devpts /dev/pts
mount -t tmpfs tmp /tmp
for m in /lib/modules/virtio_mmio.ko* /lib/modules/virtio_blk.ko* /lib/modules/tun.ko* \
    /lib/modules/dummy.ko*; do
    [ -e "$m" ] && insmod "$m" 2>/dev/null
done
# A network for passt (god --net user) to copy: it hands the guest this
# host's address and default route, and a real machine has those. This one
# gets a dummy interface, 192.168.100.2/24, and a default route via .1.
ip link set lo up
if ip link add hostnet type dummy 2>/dev/null; then
    ip addr add 192.168.100.2/24 dev hostnet && ip link set hostnet up &&
        ip route add default via 192.168.100.1
fi
if [ "$(cat /work/.interactive)" != 1 ]; then
    # Output goes to a file or pipe on the other side: pass bytes unchanged.
    stty raw -echo 2>/dev/null
fi
[ -c /dev/kvm ] || echo "god-host: warning: no /dev/kvm in the emulated host"
echo "god-host: up"
setsid cttyhack sh /work/.command
echo "god-host: exit status $?"
# Keep the kernel's "reboot: Power down" off the console.
echo 0 >/proc/sys/kernel/printk
poweroff -f

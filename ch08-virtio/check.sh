#!/bin/sh
# Chapter 8 milestone, run on the ARM64 host: boot with the console on hvc0
# (virtio-console) and check.img as a virtio-blk disk, then, typing into the
# virtio console, under --sandbox (the seccomp filter): mount /dev/vda,
# check known.txt is what the host put there
# (its checksum is in known.sha256 next to us), write new.bin with fresh
# random content and its checksum, sync, unmount, power off. check-host.sh
# verify then reads new.bin back out of the image on the other side. Then:
# a read-only disk and SIGTERM, and Debian's kernel with its console on the
# PL011 (console=ttyAMA0), which must get our typing.
fail() {
    echo "FAIL: $*"
    [ -f out.txt ] && tail -n 20 out.txt
    [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null
    exit 1
}

uptime_cs() { tr -d . </proc/uptime | cut -d' ' -f1; }

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

[ -e check.img ] || fail "no check.img (run through make check, which prepares it)"
known=$(cut -d' ' -f1 known.sha256)
rm -f in out.txt
mkfifo in
start=$(uptime_cs)
./god boot --kernel Image --initrd initramfs.cpio.gz --cpus 2 --disk check.img \
    --cmdline "console=hvc0 quiet" --timeout 1200 --sandbox <in >out.txt 2>&1 &
pid=$!
exec 3>in

wait_for "guest:" 900 || fail "no shell prompt on hvc0"
t=$(($(uptime_cs) - start))
echo "shell prompt on hvc0 $((t / 100)).$((t % 100 / 10)) s after god started"
grep -q "console is hvc0" out.txt || fail "the console is not hvc0"
# The guest's GIC driver is the one for the GIC god created (chapter 7's check).
case $(tr -d '\r' <out.txt | sed -n 's/^god: in-kernel \(GICv[23]\)$/\1/p') in
GICv3) chip=GICv3 ;;
GICv2) chip=GIC-0 ;;
*) fail "god did not say which GIC it created" ;;
esac
say 'grep -q " '$chip' " /proc/interrupts && echo CHIP-OK-$((4+4))'
wait_for "CHIP-OK-8" 60 || fail "no interrupt of the $chip driver in /proc/interrupts"

say 'mount /dev/vda /mnt && echo MOUNTED-$((1+1))'
wait_for "MOUNTED-2" 120 || fail "mounting /dev/vda failed"
say 'echo KNOWN=$(sha256sum /mnt/known.txt)'
wait_for "KNOWN=$known" 120 || fail "known.txt read through virtio-blk has the wrong checksum"
echo "read known.txt through virtio-blk: checksum matches"
say 'dd if=/dev/urandom of=/mnt/new.bin bs=1024 count=512 2>/dev/null; cd /mnt && sha256sum new.bin >new.sha256; cd /; sync && echo SYNCED-$((2+2))'
wait_for "SYNCED-4" 300 || fail "writing new.bin failed"
say 'umount /mnt && echo UNMOUNTED-$((3+3))'
wait_for "UNMOUNTED-6" 120 || fail "umount failed"
say 'poweroff'
wait "$pid"
rc=$?
exec 3>&-
[ "$rc" -eq 0 ] || fail "god exited $rc after poweroff, want 0 (159: the sandbox killed it)"
echo "wrote new.bin, synced, unmounted, powered off, all under --sandbox"

# SIGTERM must stop the VM cleanly: exit status 128 + 15, disks flushed.
rm -f in out.txt
mkfifo in
./god boot --kernel Image --initrd initramfs.cpio.gz --disk check.img,ro \
    --cmdline "console=hvc0 quiet" --timeout 600 <in >out.txt 2>&1 &
pid=$!
exec 3>in
wait_for "guest:" 600 || fail "second boot: no shell prompt"
# A read-only disk: writing fails in the guest (an I/O error), god carries on.
say 'dd if=/dev/zero of=/dev/vda bs=512 count=1 2>/dev/null; echo RO-WRITE-STATUS=$?'
wait_for "RO-WRITE-STATUS=" 120 || fail "read-only disk: no answer"
grep -q "RO-WRITE-STATUS=0" out.txt && fail "read-only disk: the guest's write succeeded"
kill -0 "$pid" 2>/dev/null || fail "read-only disk: god died"
echo "writing to the read-only disk failed in the guest, god carried on"
kill -TERM "$pid"
wait "$pid"
rc=$?
exec 3>&-
[ "$rc" -eq 143 ] || fail "SIGTERM: god exited $rc, want 143"
grep -q "stopped: a signal stopped it" out.txt || fail "SIGTERM: no clean stop"
echo "SIGTERM stopped the VM cleanly (exit status 143)"

# Debian's stock kernel has the virtio console only as a module, so its shell
# is on the PL011 (console=ttyAMA0): typed input must go there, as the
# command line's console= says, and `poweroff` must reach the shell.
rm -f in out.txt
mkfifo in
./god boot --kernel debian-Image --initrd initramfs.cpio.gz --cpus 2 \
    --cmdline "console=ttyAMA0 quiet" --timeout 1200 <in >out.txt 2>&1 &
pid=$!
exec 3>in
wait_for "guest:" 900 || fail "Debian's kernel: no shell prompt on ttyAMA0"
say 'echo MARK-$((6*7))'
wait_for "MARK-42" 120 || fail "Debian's kernel, console=ttyAMA0: typed input did not reach the shell"
say 'poweroff'
wait "$pid"
rc=$?
exec 3>&-
[ "$rc" -eq 0 ] || fail "Debian's kernel, console=ttyAMA0: god exited $rc after poweroff, want 0"
echo "Debian's kernel with console=ttyAMA0: input reached the PL011 shell, powered off"

# Ctrl-A x works whatever the guest does with its input. Sent to the virtio
# console (--console virtio), which Debian's kernel has no driver for, typing
# is never taken: the `poweroff` must not reach the shell, and the escape
# after it must still end god with status 5.
rm -f in out.txt
mkfifo in
./god boot --kernel debian-Image --initrd initramfs.cpio.gz --console virtio \
    --cmdline "console=ttyAMA0 quiet" --timeout 600 <in >out.txt 2>&1 &
pid=$!
exec 3>in
say 'poweroff'
sleep 2
printf '\001x' >&3
end=$(($(uptime_cs) + 3000))
while kill -0 "$pid" 2>/dev/null && [ "$(uptime_cs)" -lt "$end" ]; do sleep 0.2; done
kill -0 "$pid" 2>/dev/null && fail "Ctrl-A x with input nobody takes: god still running 30 s later"
wait "$pid"
rc=$?
exec 3>&-
[ "$rc" -eq 5 ] || fail "Ctrl-A x with input nobody takes: god exited $rc, want 5"
echo "Ctrl-A x quit god while its typing waited for a virtio console with no driver (exit status 5)"
echo "PASS: ch08 milestone (guest side)"

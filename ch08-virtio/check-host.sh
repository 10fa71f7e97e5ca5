#!/bin/sh
# check-host.sh prepare|verify OUT - chapter 8's milestone, the part on this
# side of the ARM64 host (see common/chapter.mk).
#
#   prepare  make OUT/check.img: an ext4 file system, built without root by
#            mke2fs -d, holding known.txt with fresh random content; its
#            checksum goes to OUT/known.sha256 for check.sh to compare with
#            what the guest reads through virtio-blk.
#   verify   after the run, read new.bin and new.sha256 - written by the
#            guest, acknowledged by its `sync` - straight out of the image with
#            debugfs (e2fsprogs, no mount, no root) and check they agree.
set -eu
# e2fsprogs lives in /sbin or /usr/sbin, which a Debian user's PATH does not
# hold; looked up there first, also so that BusyBox's mke2fs (ext2 only, no
# -d), which an emulated host links into /bin, is never the one taken.
PATH=/usr/sbin:/sbin:$PATH
mode=$1
out=$2
img=$out/check.img
here=$(cd "$(dirname "$0")" && pwd)

case $mode in
prepare)
    "$here/../common/host/deps.sh" e2fsprogs
    rm -rf "$out/check-files" "$img" "$out/new.bin" "$out/new.sha256"
    mkdir -p "$out/check-files"
    head -c 65536 /dev/urandom | base64 >"$out/check-files/known.txt"
    (cd "$out/check-files" && sha256sum known.txt) >"$out/known.sha256"
    truncate -s 64M "$img"
    mke2fs -q -F -t ext4 -L godcheck -d "$out/check-files" "$img"
    rm -rf "$out/check-files"
    echo "check-host: $img ready (known.txt $(cut -c1-16 "$out/known.sha256")...)"
    ;;
verify)
    rm -f "$out/new.bin" "$out/new.sha256"
    debugfs -R "dump /new.bin $out/new.bin" "$img" 2>/dev/null
    debugfs -R "dump /new.sha256 $out/new.sha256" "$img" 2>/dev/null
    [ -s "$out/new.bin" ] || { echo "FAIL: new.bin is not in the image"; exit 1; }
    [ -s "$out/new.sha256" ] || { echo "FAIL: new.sha256 is not in the image"; exit 1; }
    want=$(cut -d' ' -f1 "$out/new.sha256")
    got=$(sha256sum "$out/new.bin" | cut -d' ' -f1)
    [ "$want" = "$got" ] || { echo "FAIL: new.bin in the image does not match the guest's checksum"; exit 1; }
    echo "check-host: the guest's new.bin ($(stat -c %s "$out/new.bin") bytes) is in the image, checksum $(echo "$got" | cut -c1-16)... matches"
    echo "PASS: ch08 milestone (host side)"
    ;;
*)
    echo "usage: check-host.sh prepare|verify OUT" >&2
    exit 2
    ;;
esac

#!/bin/sh
# native.sh - `make test-native`: run the project's own `make test` with
# HOST=native on an ARM64 KVM host, the way a learner with a Raspberry Pi,
# a Graviton or an Apple M3 (Lima) runs it.
#
# This machine is not one, so we make one: the emulated host's rpi4 profile
# (common/host/arm64-host.sh: Cortex-A72, GICv2, nVHE) booted with a Debian
# arm64 userland in its initramfs (gcc, make, the -dev packages, e2fsprogs,
# dtc, clang for the fuzzer...: common/host/arm64-deb.sh -r, fetched as
# .debs without root and cached in build/cache/native-userland-*.cpio.gz). Inside
# it, a copy of this source tree (the files git knows, as they are in the
# working tree) is built by the native compiler and tested: unit tests on
# arm64, the fuzz smoke run, every milestone straight on /dev/kvm, the
# hostile suite. Only the guest kernels and initramfs are built here and
# carried in: building Linux under TCG would take hours, and they are data
# to the tests, not the code under test.
#
# Ends with the inner `make test`'s "N passed, N failed" and its status.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
out=build/native
mkdir -p "$out"

# --- the userland, cached: rebuilt when this list changes ---------------------
PKGS="gcc make libc6-dev libfdt-dev libcmocka-dev zlib1g-dev libseccomp-dev e2fsprogs device-tree-compiler
dpkg dash bash coreutils util-linux grep sed gawk findutils diffutils cpio gzip xz-utils
clang libclang-rt-14-dev llvm"
key=$(echo "$PKGS sh=dash" | md5sum | cut -c1-12)
mkdir -p build/cache # (arm64-host.sh never copies build/cache into a payload)
userland=build/cache/native-userland-$key.cpio.gz
if [ ! -s "$userland" ]; then
    echo "native: building the arm64 userland (once)" >&2
    rm -rf build/cache/native-userland-* "$out/rootfs"
    # shellcheck disable=SC2086
    common/host/arm64-deb.sh -r "$out/rootfs" $PKGS
    # What the packages' maintainer scripts would have done, as far as the
    # build needs it: the cc and awk alternatives, and Debian's /bin/sh,
    # dash. (Not the emulated host's BusyBox: its sh runs its own applets
    # before PATH, so make's recipes would get BusyBox's ar and head, not
    # the native tools.)
    ln -sf gcc "$out/rootfs/usr/bin/cc"
    ln -sf gawk "$out/rootfs/usr/bin/awk"
    ln -sf dash "$out/rootfs/bin/sh"
    # Documentation is a third of the size and nothing reads it.
    rm -rf "$out/rootfs/usr/share/doc" "$out/rootfs/usr/share/man" "$out/rootfs/usr/share/locale"
    (cd "$out/rootfs" && find . | cpio -o -H newc -R 0:0 --quiet | gzip -1) >"$userland.tmp"
    mv "$userland.tmp" "$userland"
    rm -rf "$out/rootfs"
fi

# --- the guest files the milestones boot, built (or fetched) here ------------
for ch in ch[0-9][0-9]-*/; do
    make --no-print-directory -C "$ch" prepare
done

# --- the source tree, as git sees it, plus those guest files ------------------
rm -rf "$out/src"
mkdir -p "$out/src"
git ls-files -z | xargs -0 cp --parents -t "$out/src"
# (Every chapter's, by name, so a chapter that starts booting one more
# kernel is not left to fetch it inside, where there is no apt.)
for f in build/ch*/Image build/ch*/debian-Image build/ch*/initramfs.cpio.gz build/ch*/disk.img; do
    [ -f "$f" ] || continue
    mkdir -p "$out/src/$(dirname "$f")"
    cp "$f" "$out/src/$f"
done
# Newer than their inputs, so the inner make takes them as up to date.
touch "$out"/src/build/*/*

cat >"$out/inside.sh" <<'EOT'
export PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin HOME=/root
cd /work/native/src || exit 125
echo "native: $(uname -m), $(gcc --version | head -n 1), /dev/kvm: $(ls -l /dev/kvm)"
HOST=native make test
EOT

start=$(date +%s)
rc=0
EMU=rpi4 common/host/arm64-host.sh -C native -P -i "$userland" -m 4096 -t 7200 \
    -s "$out/inside.sh" || rc=$?
echo "native: $(($(date +%s) - start)) s, exit status $rc"
exit "$rc"

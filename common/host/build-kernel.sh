#!/bin/bash
# build-kernel.sh OUT_IMAGE [FRAGMENT...] - build the guest's arm64 Linux `Image`
# (introduced in chapter 7).
#
#   build-kernel.sh build/ch07-boot-linux/Image ch07-boot-linux/kernel.config
#   build-kernel.sh build/ch08-virtio/Image ch08-virtio/kernel.config
#
# The kernel is `make ARCH=arm64 allnoconfig` plus the Kconfig fragments
# (each chapter keeps its own kernel.config), built from Debian's
# linux-source-6.1 package, or from the tree in $KERNEL_SRC. On x86_64 it is
# cross-compiled with gcc-aarch64-linux-gnu; on arm64, built natively.
# Missing packages are installed (with sudo when not root).
#
# The result is cached in ${XDG_CACHE_HOME:-~/.cache}/god/kernel/<key>/, the
# key being a hash of the fragments, the kernel source version and the
# compiler, so a second run with the same inputs only copies a file. Note that
# edits inside a $KERNEL_SRC tree do not change the key: delete the cache
# entry (the script prints its path) to rebuild. The object files are kept in
# .../god/kernel/obj-*, so a changed fragment rebuilds only what changed.
#
# Environment: KERNEL_SRC (a kernel tree, clean: we build with O=),
# CROSS_COMPILE (a toolchain prefix), JOBS (default: nproc), V=1 (show
# make's full output instead of a progress line every few files).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cache=${XDG_CACHE_HOME:-$HOME/.cache}/god/kernel

say() { echo "build-kernel: $*" >&2; }
die() {
    say "error: $*"
    exit 1
}

[ $# -ge 1 ] || {
    echo "usage: build-kernel.sh OUT_IMAGE [FRAGMENT...]" >&2
    exit 2
}
out=$1
shift
fragments=("$@")
[ ${#fragments[@]} -gt 0 ] || {
    echo "usage: build-kernel.sh OUT_IMAGE FRAGMENT..." >&2
    exit 2
}
for f in "${fragments[@]}"; do
    [ -r "$f" ] || die "cannot read config fragment $f"
done

# --- tools -------------------------------------------------------------------
pkgs=(make gcc flex bison bc xz-utils)
if [ "$(uname -m)" = aarch64 ]; then
    CROSS_COMPILE=${CROSS_COMPILE-}
else
    CROSS_COMPILE=${CROSS_COMPILE-aarch64-linux-gnu-}
    [ "$CROSS_COMPILE" = aarch64-linux-gnu- ] && pkgs+=(gcc-aarch64-linux-gnu)
fi
[ -n "${KERNEL_SRC:-}" ] || pkgs+=(linux-source-6.1)
"$here/deps.sh" "${pkgs[@]}"
command -v "${CROSS_COMPILE}gcc" >/dev/null || die "no compiler ${CROSS_COMPILE}gcc"

# --- the source tree ---------------------------------------------------------
if [ -n "${KERNEL_SRC:-}" ]; then
    src=$(cd "$KERNEL_SRC" 2>/dev/null && pwd) || die "KERNEL_SRC=$KERNEL_SRC is not a directory"
    if [ ! -f "$src/Makefile" ] || [ ! -d "$src/arch/arm64" ]; then
        die "$src is not a Linux source tree"
    fi
    srcid="$src $(make -s -C "$src" kernelversion 2>/dev/null)"
    if git -C "$src" rev-parse HEAD >/dev/null 2>&1; then
        srcid="$srcid $(git -C "$src" rev-parse HEAD)"
    fi
else
    # Debian ships the source as a tarball; unpack it once into the cache.
    debver=$(dpkg-query -W -f='${Version}' linux-source-6.1)
    tarball=/usr/src/linux-source-6.1.tar.xz
    [ -r "$tarball" ] || die "$tarball is missing (reinstall linux-source-6.1)"
    srcid="debian linux-source-6.1 $debver"
    src=$cache/src/linux-source-6.1_$debver
    if [ ! -f "$src/.god-unpacked" ]; then
        say "unpacking $tarball (linux-source-6.1 $debver), once"
        rm -rf "$src" "$src.tmp"
        mkdir -p "$src.tmp"
        tar -xJf "$tarball" -C "$src.tmp" --strip-components=1
        touch "$src.tmp/.god-unpacked"
        mv "$src.tmp" "$src"
    fi
fi

# --- the cache key -------------------------------------------------------------
key=$({
    echo "$srcid"
    "${CROSS_COMPILE}gcc" --version | head -n 1
    for f in "${fragments[@]}"; do
        echo "--- fragment"
        cat "$f"
    done
} | sha256sum | cut -c1-16)
entry=$cache/$key
mkdir -p "$(dirname "$out")"
if [ -s "$entry/Image" ]; then
    cp "$entry/Image" "$out"
    say "$out: cached ($entry)"
    exit 0
fi

# One build at a time per object directory: two concurrent makes in one O=
# would corrupt each other.
objdir=$cache/obj-$(printf '%s' "$srcid" | sha256sum | cut -c1-12)
mkdir -p "$objdir"
exec 9>"$objdir.lock"
flock 9
# Whoever held the lock may have just built this very kernel.
if [ -s "$entry/Image" ]; then
    cp "$entry/Image" "$out"
    say "$out: cached ($entry)"
    exit 0
fi

jobs=${JOBS:-$(nproc)}
kmake=(make -C "$src" O="$objdir" ARCH=arm64 CROSS_COMPILE="$CROSS_COMPILE")
log=$objdir/build.log
start=$(date +%s)

# --- configure -----------------------------------------------------------------
# KCONFIG_ALLCONFIG makes allnoconfig take the fragment's answers instead of
# "no" (Documentation/kbuild/kconfig.rst), and resolves dependencies as it
# goes; it is what scripts/kconfig/merge_config.sh -n does underneath.
merged=$objdir/god-fragment.config
cat "${fragments[@]}" >"$merged"
say "configuring: allnoconfig + ${fragments[*]##*/}"
"${kmake[@]}" -s KCONFIG_ALLCONFIG="$merged" allnoconfig >"$log" 2>&1 ||
    { tail -n 30 "$log" >&2; die "configuration failed (full log: $log)"; }

# An option the fragment sets can still be dropped silently: a dependency
# that is off, a misspelled name, an option this kernel version lacks. Check
# each option's last assignment (a later fragment may override an earlier
# one) against the final .config, and say so loudly.
declare -A want
order=()
while IFS= read -r line; do
    case $line in
    CONFIG_*=*) name=${line%%=*} ;;
    "# CONFIG_"*" is not set")
        name=${line#"# "}
        name=${name%% *}
        ;;
    *) continue ;;
    esac
    [ -n "${want[$name]+set}" ] || order+=("$name")
    want[$name]=$line
done <"$merged"
missed=0
for name in "${order[@]}"; do
    got=$(grep -E "^($name=|# $name is not set)" "$objdir/.config" || true)
    # An option that is off and has no prompt is simply absent: that is "not set".
    if [ -z "$got" ] && [ "${want[$name]}" = "# $name is not set" ]; then
        continue
    fi
    if [ "$got" != "${want[$name]}" ]; then
        say "WARNING: the fragment asks for '${want[$name]}' but the kernel has '${got:-nothing}'"
        missed=$((missed + 1))
    fi
done
if [ $missed -gt 0 ]; then
    say "WARNING: $missed option(s) did not apply (see above): the kernel may lack a driver the VMM relies on"
else
    say "all ${#order[@]} options of the fragment(s) are set"
fi

# --- build ---------------------------------------------------------------------
say "building Image with $jobs jobs (log: $log)"
if [ -n "${V:-}" ]; then
    "${kmake[@]}" -j"$jobs" Image 2>&1 | tee -a "$log" >&2 ||
        die "the kernel build failed (full log: $log)"
else
    # Kbuild prints one "  CC      path" line per file: show every 100th as a
    # progress line, plus warnings and errors as they happen.
    "${kmake[@]}" -j"$jobs" Image 2>&1 | tee -a "$log" | awk -v t0="$start" '
        /^  [A-Z]/ { n++; if (n % 100 == 0) {
                         printf "build-kernel:   %5d files, %4d s  %s\n", n, systime() - t0, $2
                         fflush() } ; next }
        /warning:|error:|Error / { print; fflush() }' >&2 ||
        { tail -n 30 "$log" >&2; die "the kernel build failed (full log: $log)"; }
fi

mkdir -p "$entry.tmp"
cp "$objdir/arch/arm64/boot/Image" "$entry.tmp/Image"
cp "$objdir/.config" "$entry.tmp/config"
cp "$merged" "$entry.tmp/fragment.config"
echo "$srcid" >"$entry.tmp/source"
rm -rf "$entry" && mv "$entry.tmp" "$entry"
cp "$entry/Image" "$out"
say "$out: $(stat -c %s "$out") bytes, built in $(($(date +%s) - start)) s (cached in $entry)"

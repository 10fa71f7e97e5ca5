#!/bin/sh
# arm64-deb.sh PACKAGE DESTDIR - unpack Debian's arm64 build of PACKAGE into DESTDIR.
#
# The emulated ARM64 host needs arm64 files (Debian's kernel, BusyBox, libfdt)
# on an x86_64 machine. Adding arm64 to dpkg's architectures would change the
# whole system's package management, so instead apt runs against a private
# state directory that only knows arm64: it downloads the .deb, and dpkg-deb
# unpacks it into DESTDIR. Nothing is installed. Downloads are cached in
# ${XDG_CACHE_HOME:-~/.cache}/god/debs. A package that is a meta-package (like
# linux-image-arm64) is followed to the package it depends on with the same
# prefix, so asking for linux-image-arm64 yields the actual kernel.
#
# arm64-deb.sh -r DESTDIR PACKAGE... unpacks the packages and everything they
# depend on (a userland: what `make test-native` boots, tests/native.sh), as
# if nothing were installed, and writes DESTDIR/var/lib/dpkg/status listing
# them, so dpkg-query (common/host/deps.sh) inside it knows they are there.
# Maintainer scripts are not run.
set -eu

resolve=""
if [ "${1:-}" = -r ]; then
    resolve=1
    shift
    pkg=""
    dest=$1 # then the packages
else
    pkg=$1
    dest=$2
fi
here=$(cd "$(dirname "$0")" && pwd)
cache=${XDG_CACHE_HOME:-$HOME/.cache}/god/debs
state=$cache/apt-state

"$here/deps.sh" apt dpkg

mkdir -p "$state/lists/partial" "$state/archives/partial" "$dest"
[ -f "$state/status" ] || : >"$state/status"
APT_OPTS="-o APT::Architecture=arm64 -o APT::Architectures::=arm64 \
 -o Dir::State::Lists=$state/lists -o Dir::Cache=$state \
 -o Dir::State::status=$state/status -o Debug::NoLocking=1 \
 -o APT::Sandbox::User=root -q"

# Refresh the arm64 package lists once a day at most.
if [ -z "$(find "$state/lists" -maxdepth 1 -name '*Packages*' -mtime -1 2>/dev/null | head -n 1)" ]; then
    echo "god: refreshing Debian's arm64 package lists" >&2
    # shellcheck disable=SC2086
    apt-get $APT_OPTS update >/dev/null || {
        echo "god: apt-get update for arm64 failed (is the network to the Debian mirror up?)" >&2
        exit 1
    }
fi

if [ -n "$resolve" ]; then
    shift
    # What apt would install on an empty system: the packages and their
    # dependencies (Depends and Pre-Depends; not Recommends).
    empty=$state/empty-status
    : >"$empty"
    # shellcheck disable=SC2086
    names=$(apt-get $APT_OPTS -o Dir::State::status="$empty" install -s --no-install-recommends "$@" |
        sed -n 's/^Inst \([^ ]*\) .*/\1/p')
    [ -n "$names" ] || { echo "god: apt could not resolve: $*" >&2; exit 1; }
    echo "god: $(echo "$names" | wc -l) arm64 packages for: $*" >&2
    # shellcheck disable=SC2086
    apt-get $APT_OPTS -o Dir::State::status="$empty" install -y --download-only \
        --no-install-recommends "$@" >/dev/null || {
        echo "god: could not download the arm64 packages for: $*" >&2
        exit 1
    }
    mkdir -p "$dest/var/lib/dpkg/info" "$dest/var/lib/dpkg/updates"
    : >"$dest/var/lib/dpkg/status"
    for name in $names; do
        deb=$(find "$state/archives" -maxdepth 1 -name "${name}_*.deb" | head -n 1)
        [ -n "$deb" ] || { echo "god: $name was not downloaded" >&2; exit 1; }
        dpkg-deb -x "$deb" "$dest"
        { dpkg-deb -f "$deb" | grep -v '^Status:'; echo "Status: install ok installed"; echo; } \
            >>"$dest/var/lib/dpkg/status"
    done
    exit 0
fi

# Follow a meta-package to the real one: linux-image-arm64 -> linux-image-6.1.0-NN-arm64.
# shellcheck disable=SC2086
real=$(apt-cache $APT_OPTS depends "$pkg" 2>/dev/null |
    sed -n "s/^  Depends: \(${pkg%-arm64}-[0-9][^ ]*\)$/\1/p" | head -n 1)
[ -n "$real" ] && pkg=$real

# shellcheck disable=SC2086
version=$(apt-cache $APT_OPTS policy "$pkg" | sed -n 's/^  Candidate: //p')
if [ -z "$version" ] || [ "$version" = "(none)" ]; then
    echo "god: Debian has no arm64 package named $pkg" >&2
    exit 1
fi

deb=$(find "$cache" -maxdepth 1 -name "${pkg}_*_arm64.deb" | head -n 1)
if [ -z "$deb" ]; then
    echo "god: downloading $pkg ($version, arm64)" >&2
    # shellcheck disable=SC2086
    (cd "$cache" && apt-get $APT_OPTS download "$pkg" >/dev/null) || {
        echo "god: could not download $pkg for arm64" >&2
        exit 1
    }
    deb=$(find "$cache" -maxdepth 1 -name "${pkg}_*_arm64.deb" | head -n 1)
fi
dpkg-deb -x "$deb" "$dest"

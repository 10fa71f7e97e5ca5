#!/bin/sh
# fetch-arm64-deb.sh PACKAGE DESTDIR - unpack Debian's arm64 build of PACKAGE
# into DESTDIR, on any host, without root (introduced in chapter 7).
#
#   fetch-arm64-deb.sh busybox-static  /tmp/bb      # -> /tmp/bb/bin/busybox
#   fetch-arm64-deb.sh linux-image-arm64 /tmp/k     # -> /tmp/k/boot/vmlinuz-*
#
# The guest's userland (BusyBox) and, optionally, Debian's own kernel are
# arm64 files that we need on an x86_64 machine too. The work is done by
# arm64-deb.sh, which the emulated ARM64 host already uses: it runs apt
# against a private, arm64-only state directory (apt-get update and
# apt-get download with -o APT::Architecture=arm64, its own Dir::State::Lists,
# Dir::Cache and an empty Dir::State::status), so dpkg's architectures and the
# system's package lists are never touched, and unpacks the .deb with
# dpkg-deb -x. Nothing is installed. The downloads and the package lists are
# cached in ${XDG_CACHE_HOME:-~/.cache}/god/debs; the lists are refreshed once
# a day at most. This is the name the guest-building scripts use, so there is
# one place to change if the mechanism changes.
set -eu

if [ $# -ne 2 ]; then
    echo "usage: fetch-arm64-deb.sh PACKAGE DESTDIR" >&2
    exit 2
fi
exec "$(cd "$(dirname "$0")" && pwd)/arm64-deb.sh" "$1" "$2"

#!/bin/sh
# deps.sh PACKAGE... - make sure these Debian/Ubuntu packages are installed.
#
# Called by the build before it needs a tool, so a fresh machine needs no
# set-up step. Packages already installed cost one dpkg query and nothing else.
# Uses sudo when not root. On a distribution without apt-get it names what is
# missing and stops.
set -eu

missing=""
for pkg in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed"; then
        missing="$missing $pkg"
    fi
done
[ -z "$missing" ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
    echo "god: missing packages:$missing" >&2
    echo "god: this is not a Debian/Ubuntu system; install the equivalents with your package manager." >&2
    exit 1
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
    if ! command -v sudo >/dev/null 2>&1; then
        echo "god: need root to install:$missing (no sudo found)" >&2
        exit 1
    fi
    sudo="sudo"
fi

echo "god: installing$missing" >&2
# The package lists may be missing (fresh containers) or stale; refresh once.
# shellcheck disable=SC2086
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing >&2 ||
    { $sudo apt-get update -q >&2 &&
      $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing >&2; } ||
    { echo "god: could not install$missing (apt-get failed; try: sudo apt-get install$missing)" >&2; exit 1; }

#!/bin/sh
# milestones.sh CHAPTER... - run every chapter's milestone check in one boot.
#
# Each chapter's check.sh runs on the ARM64 host (native, or the emulated one
# booted once for all of them) in that chapter's build directory and exits 0
# only when its milestone holds. A chapter whose check did not report at all
# (the host died, the check hung) counts as failed, never as passed.
# Ends with "milestones: N passed, N failed". On the emulated host, EMU
# picks the machine (common/host/arm64-host.sh): with EMU=rpi4 every line
# says so: "PASS ch05-gic (rpi4)", "milestones (rpi4): N passed, N failed".
#
# SUITES="hostile hostile/inputs.sh ..." also runs build/<dir>/check.sh, or
# the script named, in the same boot (cheaper than a boot of its own); each
# prints its own "<kind>: N passed, N failed" line, which the caller hands to
# total.sh, and is no milestone.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
tag=""
if [ "$("$top/common/host/arm64-host.sh" -w)" = emulated ] && [ "${EMU:-server}" != server ]; then
    tag=" ($EMU)"
fi
script=$(mktemp)
log=$(mktemp)
trap 'rm -f "$script" "$log" "$log.host"' EXIT

# A chapter with a check-host.sh also has work on this side: preparing the
# disk image its check uses (attached to the ARM64 host) and verifying it
# afterwards. One boot can attach one such disk.
disk=""
for ch in "$@"; do
    if [ -f "$top/$ch/check-host.sh" ]; then
        [ -z "$disk" ] || { echo "milestones.sh: only one chapter can attach a disk per boot" >&2; exit 1; }
        # With the PATH a Debian user logs in with (no /sbin): the tools
        # it needs must be found anyway (native: failed on BusyBox's mke2fs).
        env PATH=/usr/local/bin:/usr/bin:/bin sh "$top/$ch/check-host.sh" prepare "$top/build/$ch" || echo "milestone $ch: prepare failed" >>"$log.host"
        disk=$top/build/$ch/check.img
    fi
done

for ch in "$@"; do
    # Each check gets its own time limit so one hang cannot eat the others' time.
    cat >>"$script" <<EOT
echo "=== $ch"
(cd /work/$ch 2>/dev/null || cd $top/build/$ch; timeout 900 sh ./check.sh)
echo "milestone $ch: exit status \$?"
EOT
done

nsuites=0
for s in ${SUITES:-}; do
    nsuites=$((nsuites + 1))
    case $s in
    */*) dir=${s%%/*} file=${s#*/} ;;
    *) dir=$s file=check.sh ;;
    esac
    cat >>"$script" <<EOT
echo "=== suite $s"
(cd /work/$dir 2>/dev/null || cd $top/build/$dir; timeout 900 sh ./$file)
EOT
done

# Inside the emulated host /work is build/; natively the harness runs us in build/.
"$top/common/host/arm64-host.sh" -t $((900 * ($# + nsuites) + 120)) ${disk:+-d "$disk"} -s "$script" 2>&1 | tee "$log"

for ch in "$@"; do
    if [ -f "$top/$ch/check-host.sh" ]; then
        env PATH=/usr/local/bin:/usr/bin:/bin sh "$top/$ch/check-host.sh" verify "$top/build/$ch" || echo "milestone $ch: host verification failed" >>"$log.host"
    fi
done

passed=0
failed=0
for ch in "$@"; do
    rc=$(tr -d '\r' <"$log" | sed -n "s/^milestone $ch: exit status \([0-9]*\)$/\1/p" | tail -n 1)
    if [ "$rc" = 0 ] && grep -q "^milestone $ch: " "$log.host" 2>/dev/null; then
        failed=$((failed + 1))
        echo "FAIL $ch$tag ($(grep "^milestone $ch: " "$log.host" | cut -d: -f2-))"
    elif [ "$rc" = 0 ]; then
        passed=$((passed + 1))
        echo "PASS $ch$tag"
    else
        failed=$((failed + 1))
        # (${rc:-...} would print rc itself when set: say each case in full.)
        if [ -n "$rc" ]; then
            echo "FAIL $ch$tag (check exited $rc)"
        else
            echo "FAIL $ch$tag (no result: the check did not finish)"
        fi
    fi
done
echo "milestones$tag: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

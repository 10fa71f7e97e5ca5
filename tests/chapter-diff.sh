#!/bin/sh
# chapter-diff.sh A B - what chapter B adds to chapter A: the diff of the two
# chapter directories, then the common/ modules B links that A did not.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
a=${1%/}
b=${2%/}
[ -d "$a" ] && [ -d "$b" ] || { echo "no such chapter: $a or $b" >&2; exit 2; }
diff -ruN "$a" "$b"
# The common/ modules a chapter links, as its Makefile says (continued lines too).
mods() { make --no-print-directory -s -C "$1" print-modules | tr ' ' '\n' | sed '/^$/d' | sort; }
new=$(mods "$a" >/tmp/god-diff-a.$$; mods "$b" | comm -13 /tmp/god-diff-a.$$ -; rm -f /tmp/god-diff-a.$$)
for m in $new; do
    echo
    echo "=== new in common/: $m and ${m%.c}.h"
    diff -u /dev/null "common/$m"
    [ -f "common/${m%.c}.h" ] && diff -u /dev/null "common/${m%.c}.h"
done
exit 0

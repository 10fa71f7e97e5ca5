#!/bin/sh
# test_reference.sh - common/README.md, the reference, against the code.
#
# Each list is derived from the code, never copied by hand, and compared both
# ways with a table in the reference (the table that follows an HTML comment
# "<!-- reference-test: NAME -->"):
#
#   ioctls   every KVM_* request passed to ioctl() in common/ and ch*/main.c
#   options  every long option in the last chapter's getopt_long table, and
#            that its usage text names it too
#   exits    every EXIT_* = N in the last chapter's main.c, and 128 + N if
#            it returns 128 + a signal number
#   kconfig  every CONFIG_ line of every chapter's kernel.config (chapters 7, 8)
#
# Output is cmocka's summary format, so tests/run-unit.sh counts each list as
# one test: "[  PASSED  ] N test(s)." and, on failure, "[  FAILED  ] ...".
# GOD_TOP overrides the repository root (to try the test on a modified copy).
set -u
top=${GOD_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
ref=$top/common/README.md
last=$(ls -d "$top"/ch[0-9][0-9]-*/ | sort | tail -n 1)
last=${last%/}
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT

passed=0
failed=0
if [ ! -f "$ref" ]; then
    echo "[ ERROR    ] $ref is missing"
    echo "[  FAILED  ] 1 test(s), listed below:"
    exit 1
fi
failures=

# table NAME: the rows of the markdown table after the reference-test marker.
table() {
    awk -v marker="<!-- reference-test: $1 -->" '
        index($0, marker) { on = 1; next }
        on && /^\|/ { seen = 1; print; next }
        on && seen { exit }' "$ref"
}

# first_cell: the first cell of each table row (header and rule rows included).
first_cell() { awk -F'|' '{ print $2 }'; }

# compare NAME CODE-LIST REF-LIST WHAT: both ways, one line per difference.
compare() {
    sort -u "$2" >"$tmp/code"
    sort -u "$3" >"$tmp/ref"
    bad=0
    if [ ! -s "$tmp/code" ]; then
        echo "[ ERROR    ] $1: found no $4 in the code: the test's pattern is out of date"
        bad=1
    fi
    if [ ! -s "$tmp/ref" ]; then
        echo "[ ERROR    ] $1: no '<!-- reference-test: $1 -->' table in common/README.md"
        bad=1
    fi
    for x in $(comm -23 "$tmp/code" "$tmp/ref"); do
        echo "[ ERROR    ] $1: $4 $x is in the code but not in common/README.md"
        bad=1
    done
    for x in $(comm -13 "$tmp/code" "$tmp/ref"); do
        echo "[ ERROR    ] $1: $4 $x is in common/README.md but not in the code"
        bad=1
    done
    result "$1" "$bad"
}

result() {
    if [ "$2" -eq 0 ]; then
        echo "[       OK ] reference: $1"
        passed=$((passed + 1))
    else
        echo "[  FAILED  ] reference: $1"
        failed=$((failed + 1))
        failures="$failures $1"
    fi
}

echo "[==========] reference: common/README.md against the code ($(basename "$last"))"

# --- KVM ioctls: the request argument of every ioctl() call, even when the
# call spans lines (the sources are joined into one line per file first).
for f in "$top"/common/*.c "$top"/common/*.h "$top"/ch[0-9][0-9]-*/main.c; do
    tr '\n' ' ' <"$f" | grep -o 'ioctl *([^,;()]*, *KVM_[A-Z0-9_]*' | grep -o 'KVM_[A-Z0-9_]*$'
done >"$tmp/ioctls.code"
table ioctls | first_cell | grep -o 'KVM_[A-Z0-9_]*' >"$tmp/ioctls.ref"
compare ioctls "$tmp/ioctls.code" "$tmp/ioctls.ref" ioctl

# --- options: the long names in the getopt_long table ({"name", has_arg,
# flag, val}), which usage() must also mention (all but --help).
grep -o '{"[a-z0-9-]*", *\(no\|required\|optional\)_argument' "$last/main.c" |
    sed 's/^{"\([^"]*\)".*/--\1/' >"$tmp/options.code"
table options | first_cell | grep -o -- '--[a-z0-9][a-z0-9-]*' >"$tmp/options.ref"
compare options "$tmp/options.code" "$tmp/options.ref" option
usage_bad=0
usage_text=$(sed -n '/^static void usage(/,/^}/p' "$last/main.c")
for o in $(sort -u "$tmp/options.code" | grep -v -x -- --help); do
    if ! printf '%s\n' "$usage_text" | grep -q -- "$o\\b"; then
        echo "[ ERROR    ] usage: option $o is in the getopt_long table but not in usage()"
        usage_bad=1
    fi
done
[ -s "$tmp/options.code" ] || usage_bad=1
result usage "$usage_bad"

# --- exit statuses: "EXIT_NAME = N" in main.c, as "N EXIT_NAME"; the
# reference's rows are "| N | `EXIT_NAME` | ...". 128 + N appears as "128+N".
grep -o 'EXIT_[A-Z0-9_]* *= *[0-9][0-9]*' "$last/main.c" |
    sed 's/^\(EXIT_[A-Z0-9_]*\) *= *\([0-9]*\)/\2:\1/' >"$tmp/exits.code"
grep -q 'return 128 *+' "$last/main.c" && echo '128+N:signal' >>"$tmp/exits.code"
table exits | awk -F'|' '
    { n = $2; name = $3; gsub(/[ `]/, "", n); gsub(/[ `]/, "", name) }
    n ~ /^[0-9]+$/ && name ~ /^EXIT_/ { print n ":" name }
    n ~ /^128\+N$/ { print "128+N:signal" }' >"$tmp/exits.ref"
compare exits "$tmp/exits.code" "$tmp/exits.ref" "exit status"

# --- kernel options: every CONFIG_ line of the chapters that build a kernel.
cat "$top"/ch[0-9][0-9]-*/kernel.config 2>/dev/null |
    sed -n 's/^\(CONFIG_[A-Z0-9_]*\)=.*/\1/p' >"$tmp/kconfig.code"
table kconfig | first_cell | grep -o 'CONFIG_[A-Z0-9_]*' >"$tmp/kconfig.ref"
compare kconfig "$tmp/kconfig.code" "$tmp/kconfig.ref" "kernel option"

echo "[==========] reference: $((passed + failed)) test(s) run."
echo "[  PASSED  ] $passed test(s)."
if [ "$failed" -gt 0 ]; then
    echo "[  FAILED  ] $failed test(s), listed below:"
    for f in $failures; do
        echo "[  FAILED  ] reference: $f"
    done
    exit 1
fi
exit 0

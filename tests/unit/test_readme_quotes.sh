#!/bin/sh
# test_readme_quotes.sh - code the READMEs quote is code that exists.
#
# A README code block whose first line names a file of this repository, as
# in
#
#     ```c
#     /* ch07-boot-linux/main.c */
#     if ((ret = vcpu_set_entry(...
#
# quotes that file: every other line of the block (whitespace runs counted as
# one space; "..." lines are elisions) must be a line of the file as it is
# now. A block without such a first line is an illustration and is not
# checked. One test per README that quotes at least one file, in cmocka's
# summary format for run-unit.sh.
# GOD_TOP overrides the repository root (to try the test on a modified copy).
set -u
top=${GOD_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$top" || exit 1

passed=0
failed=0
failures=
echo "[==========] readme-quotes: quoted code against the files it names"
for readme in README.md common/README.md ch[0-9][0-9]-*/README.md tests/*/README.md; do
    [ -f "$readme" ] || continue
    out=$(awk -v readme="$readme" '
        function norm(s) { gsub(/[ \t]+/, " ", s); sub(/^ /, "", s); sub(/ $/, "", s); return s }
        # Load a file into have[] once: its lines, normalised.
        function load(path,   line) {
            if (path in loaded) return loaded[path]
            loaded[path] = 0
            while ((getline line < path) > 0) { have[path, norm(line)] = 1; loaded[path] = 1 }
            close(path)
            return loaded[path]
        }
        /^```/ {
            if (inblock) { inblock = 0; next }
            inblock = 1; first = 1; src = ""; next
        }
        inblock && first {
            first = 0
            if (match($0, /^[ \t]*(\/\*|\/\/|#)[ \t]*(ch[0-9][0-9]-[A-Za-z0-9_-]+|common|tests)\/[A-Za-z0-9_.\/-]+/)) {
                path = substr($0, RSTART, RLENGTH)
                sub(/^[ \t]*(\/\*|\/\/|#)[ \t]*/, "", path)
                sub(/\.$/, "", path)
                if (!load(path)) { printf "%s:%d: quotes %s, which does not exist\n", readme, NR, path; bad = 1 }
                else { src = path; quotes++ }
            }
            next
        }
        inblock && src != "" {
            l = norm($0)
            if (l == "" || l ~ /^\.\.\./) next
            if (!((src, l) in have)) { printf "%s:%d: not in %s: %s\n", readme, NR, src, l; bad = 1 }
        }
        END { exit bad ? 1 : quotes ? 0 : 2 }' "$readme")
    rc=$?
    if [ $rc -eq 2 ]; then
        continue # quotes no file: nothing to check, so not counted as a test
    elif [ $rc -eq 0 ]; then
        echo "[       OK ] readme-quotes: $readme"
        passed=$((passed + 1))
    else
        printf '%s\n' "$out" | sed 's/^/[ ERROR    ] /'
        echo "[  FAILED  ] readme-quotes: $readme"
        failed=$((failed + 1))
        failures="$failures $readme"
    fi
done
echo "[==========] readme-quotes: $((passed + failed)) test(s) run."
echo "[  PASSED  ] $passed test(s)."
if [ "$failed" -gt 0 ]; then
    echo "[  FAILED  ] $failed test(s), listed below:"
    for f in $failures; do
        echo "[  FAILED  ] readme-quotes: $f"
    done
    exit 1
fi
exit 0

#!/bin/sh
# run-unit.sh TEST... - run cmocka test programs and total their results.
#
# Each program prints cmocka's own report. We count the tests each one says
# passed and failed (a program that crashes before reporting counts as one
# failure, so a crash can never look like success) and end with
# "N passed, N failed", the line the top-level `make test` adds up.
passed=0
failed=0
for t in "$@"; do
    out=$("$t" 2>&1)
    rc=$?
    printf '%s\n' "$out"
    p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | tail -n 1)
    f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | tail -n 1)
    p=${p:-0}
    f=${f:-0}
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        echo "$t: exited with status $rc without a cmocka failure report" >&2
        f=1
    fi
    if [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then
        echo "$t: ran no test" >&2
        f=1
    fi
    passed=$((passed + p))
    failed=$((failed + f))
done
echo "unit: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

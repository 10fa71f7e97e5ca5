#!/bin/sh
# total.sh LOG... - add up the "<kind>: N passed, N failed" lines of the logs
# (<kind> may name a variant in parentheses: "milestones (rpi4): ...").
# A log without such a line counts as one failure: a suite that never
# reported did not pass.
passed=0
failed=0
for log in "$@"; do
    line=$(tr -d '\r' <"$log" 2>/dev/null | grep -E '^[a-z]+( \([a-z0-9]+\))?: [0-9]+ passed, [0-9]+ failed$' | tail -n 1)
    if [ -z "$line" ]; then
        echo "no result in $log" >&2
        failed=$((failed + 1))
        continue
    fi
    p=$(echo "$line" | sed 's/^[^:]*: \([0-9]*\) passed.*/\1/')
    f=$(echo "$line" | sed 's/.* \([0-9]*\) failed$/\1/')
    passed=$((passed + p))
    failed=$((failed + f))
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]

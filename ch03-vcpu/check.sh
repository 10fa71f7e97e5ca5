#!/bin/sh
# Chapter 3 milestone, run on the ARM64 host. god run checks its own result:
# it exits 0 only when the guest powered off through PSCI SYSTEM_OFF and the
# value it stored is fib(N), computed independently by the VMM. We run it for
# several N, then make sure a runaway guest is stopped by --timeout (exit 3)
# with a register dump rather than hanging.
fail() { echo "FAIL: $*"; exit 1; }

for n in 0 1 20 93; do
    ./god run --arg "$n" guest.bin || fail "god run --arg $n exited $?"
done

./god run --timeout 1 runaway.bin 2>err.txt
rc=$?
cat err.txt
[ "$rc" -eq 3 ] || fail "runaway guest: exit status $rc, want 3 (timeout)"
grep -q "PC " err.txt || fail "runaway guest: no register dump"
echo "PASS: ch03 milestone"

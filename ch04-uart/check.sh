#!/bin/sh
# Chapter 4 milestone, run on the ARM64 host: the guest's "Hello, World!"
# arrives through the PL011 on god's stdout (the VMM never prints that text
# itself: only the guest's bytes can produce it), and god exits 0, which it
# does only when the run ended with PSCI SYSTEM_OFF. Then --trace must show
# decoded PL011 writes and a summary.
fail() { echo "FAIL: $*"; exit 1; }

out=$(./god run hello.bin) || fail "god run exited $?"
echo "$out"
[ "$out" = "Hello, World!" ] || fail "guest output was '$out'"

./god run --trace hello.bin >out.txt 2>trace.txt || fail "god run --trace exited $?"
grep -q "PL011 UARTDR write 'H'" trace.txt || fail "--trace did not decode the first byte"
grep -Eq "^  MMIO +[0-9]+" trace.txt || fail "--trace printed no summary"
tail -n 6 trace.txt

# An LDP from the UART: KVM cannot decode it (KVM_EXIT_ARM_NISV). god must
# name it on stderr, and the guest must receive an external abort for it
# (its own message says so) and then power off normally.
./god run nisv.bin >out.txt 2>err.txt || fail "god run nisv.bin exited $?: $(cat err.txt)"
cat out.txt
head -n 1 err.txt
grep -q "guest: LDP from the UART: synchronous external abort at 0x09000000" out.txt ||
    fail "the guest did not get an external abort for its LDP"
grep -q "a load/store pair (LDP/STP) reading 0x9000000 (PL011)" err.txt ||
    fail "god did not name the LDP and the address"
echo "PASS: ch04 milestone"

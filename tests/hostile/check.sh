#!/bin/sh
# The hostile-guest suite, run on the ARM64 host in build/hostile (make -C
# tests/hostile check, or make test in the milestones' boot).
#
# god boots hostile.bin, which plays a malicious driver and prints one
# "ok N name" / "not ok N name: why" line per case on the PL011. Then this
# script adds checks only the host side can make: god's exit status, the disk
# images byte for byte, what reached god's stdout and stderr, and two runs
# that end the VM on purpose. A case that never reported counts as failed.
# Ends with "hostile: N passed, N failed".
god=../ch08-virtio/god
passed=0
failed=0
n=0

result() { # result 0|1 name [why]
    n=$((n + 1))
    if [ "$1" = 0 ]; then
        passed=$((passed + 1))
        echo "ok $n $2"
    else
        failed=$((failed + 1))
        echo "not ok $n $2${3:+: $3}"
    fi
}

[ -x "$god" ] || { echo "hostile: no $god"; echo "hostile: 0 passed, 1 failed"; exit 1; }
cp disk.img run.img && cp ro.img run-ro.img || exit 1
printf 'HOSTILE-INPUT-0123456789abcdefghijklmnopqrstuvwxyz' >input.txt

# Under --sandbox: everything the devices do for a hostile guest must fit the
# filter. The input is for the virtio console's cases: --console virtio, since
# the command line has no console= (god would follow stdout-path, the PL011).
timeout 900 "$god" boot --kernel hostile.bin --ram 64M --cpus 2 --disk run.img \
    --disk run-ro.img,ro --cmdline suite --console virtio --timeout 800 --sandbox \
    <input.txt >out.txt 2>err.txt
rc=$?
tr -d '\r' <out.txt >out.clean

# The guest's own cases, renumbered after ours would be confusing: keep its numbers.
plan=$(sed -n 's/^hostile-plan \([0-9]*\)$/\1/p' out.clean | head -n 1)
grep -E '^(not )?ok [0-9]+ ' out.clean
gp=$(grep -cE '^ok [0-9]+ ' out.clean)
gf=$(grep -cE '^not ok [0-9]+ ' out.clean)
passed=$gp
failed=$gf
n=$((gp + gf))
if [ -z "$plan" ]; then
    result 1 "the guest started" "no plan line (god's stderr follows)"
    tail -n 20 err.txt
else
    missing=$((plan - gp - gf))
    if [ "$missing" -gt 0 ]; then
        failed=$((failed + missing))
        n=$((n + missing))
        echo "not ok: $missing cases never reported (the guest stopped; stderr follows)"
        tail -n 20 err.txt
    fi
fi
grep -q '^hostile-done$' out.clean
result $? "the guest finished"
[ "$rc" -eq 0 ]
result $? "god exits 0 after the guest's SYSTEM_OFF" "exit status $rc"
cmp -s run.img disk.img
result $? "the disk holds exactly what it held before" "run.img differs from disk.img"
cmp -s run-ro.img ro.img
result $? "the ,ro disk is unchanged" "run-ro.img differs from ro.img"
grep -q '^hostile-console: transmitted$' out.clean
result $? "console output reached god's stdout"
! grep -q 'WRITABLE-TX' out.clean
result $? "a device-writable transmit buffer was not printed"
bad='Sanitizer|runtime error|KVM_RUN|unexpected exit|internal error|could not enter'
! grep -qE "$bad" err.txt
result $? "no sanitizer report or vCPU failure on stderr" "$(grep -m1 -E "$bad" err.txt)"

# A load pair from MMIO has no syndrome KVM can decode (KVM_EXIT_ARM_NISV):
# god must say so with the address, and the guest must get a synchronous
# external abort (ESR_EL1 EC 0x25, DFSC 0x10: ...96000010), then run on.
# Under --sandbox too: the injection (KVM_SET_VCPU_EVENTS) must be allowed.
timeout 120 "$god" boot --kernel hostile.bin --ram 64M --cmdline ldp --sandbox </dev/null \
    >ldp.out 2>ldp.err
rc=$?
[ "$rc" -eq 0 ] && grep -q '^god: vCPU 0: .* reading 0xa000000 .*cannot emulate' ldp.err &&
    grep -q 'hostile: ldp took an exception, ESR .*96000010' ldp.out
result $? "ldp from MMIO: god names it, the guest gets an external abort" \
    "exit status $rc: $(tail -n 1 ldp.err) / $(tail -n 1 ldp.out)"

timeout 120 "$god" boot --kernel hostile.bin --ram 64M --cmdline reset </dev/null >reset.out 2>reset.err
rc=$?
[ "$rc" -eq 4 ]
result $? "PSCI SYSTEM_RESET: god exits 4" "exit status $rc"

# The filter kills on a forbidden call: the hidden hook makes one (socket) right after it.
GOD_SANDBOX_SELFTEST=1 timeout 120 "$god" boot --kernel hostile.bin --ram 64M --cmdline off \
    --sandbox </dev/null >sandbox.out 2>&1
rc=$?
[ "$rc" -eq 159 ]
result $? "--sandbox: a forbidden system call kills god (SIGSYS, 128 + 31)" "exit status $rc"
GOD_SANDBOX_SELFTEST=1 timeout 120 "$god" boot --kernel hostile.bin --ram 64M --cmdline off \
    </dev/null >sandbox.out 2>&1
rc=$?
[ "$rc" -eq 0 ]
result $? "without --sandbox the hook does nothing" "exit status $rc"

rm -f run.img run-ro.img
echo "hostile: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

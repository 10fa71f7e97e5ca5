#!/bin/sh
# Chapter 2 milestone, run on the ARM64 host. god memory checks its own
# result (the mapping in /proc/self/maps has the requested size and KVM
# accepted the slot) and exits 0 only then. Bad sizes must be refused with
# exit status 2 and a message, not a crash.
fail() { echo "FAIL: $*"; exit 1; }

./god memory --ram 256M || fail "256M: god memory exited $?"
./god memory --ram 2M || fail "2M: god memory exited $?"
for bad in 0 4097 1T 8192T junk; do
    ./god memory --ram "$bad" 2>err.txt
    rc=$?
    [ "$rc" -eq 2 ] || fail "--ram $bad: exit status $rc, want 2"
    grep -q "^god: " err.txt || fail "--ram $bad: no error message"
    echo "refused --ram $bad: $(cat err.txt)"
done
# 8 PiB of RAM needs 54 address bits: more than any arm64 KVM offers. The
# message must name the limit KVM reported, not KVM_SET_USER_MEMORY_REGION's EFAULT.
./god memory --ram 8192T 2>err.txt
grep -q "KVM_CAP_ARM_VM_IPA_SIZE" err.txt || fail "--ram 8192T does not name the IPA limit: $(cat err.txt)"
echo "PASS: ch02 milestone"

#!/bin/sh
# Chapter 1 milestone, run on the ARM64 host: god kvm info reports API
# version 12 and prints the capability table. The program itself exits
# non-zero when the version is wrong or a KVM call fails; on top of that we
# check the table has the rows a later chapter depends on.
out=$(./god kvm info) || { echo "FAIL: god kvm info exited $?"; exit 1; }
echo "$out"
echo "$out" | grep -q '^KVM API version: 12$' || { echo "FAIL: API version 12 not reported"; exit 1; }
for cap in ARM_PSCI_0_2 ONE_REG IOEVENTFD IRQFD; do
    echo "$out" | grep -Eq "^$cap +[1-9]" || { echo "FAIL: capability $cap missing"; exit 1; }
done
# From chapter 5 on god needs an in-kernel GIC: a GICv3, or a GICv2 on a
# GICv2 host (a Raspberry Pi). Either will do, and the table says which.
echo "$out" | grep -Eq '^GICv[23] \(DEVICE_TEST\) +yes' || { echo "FAIL: no in-kernel GIC (v3 or v2)"; exit 1; }
echo "$out" | grep -Eq '^  5-7  yes, with a vGICv[23]' || { echo "FAIL: the chapter table does not say 5-7 run"; exit 1; }
echo "$out" | grep -Eq '^  8    yes' || { echo "FAIL: the chapter table does not say chapter 8 runs"; exit 1; }
echo "PASS: ch01 milestone"

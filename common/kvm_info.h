/*
 * kvm_info.h - what this machine's KVM can do, for `god kvm info` (introduced in chapter 1).
 */
#ifndef GOD_KVM_INFO_H
#define GOD_KVM_INFO_H

#include <stdio.h>

/*
 * Print the capability table, whether a GICv3 and a GICv2 can be created, the
 * preferred vCPU target and which chapters can run, to `out`. kvm_fd is an open /dev/kvm. Returns 0
 * or -errno of the KVM call that failed (creating the probe VM, asking for the target).
 */
int kvm_info_print(int kvm_fd, FILE *out);

/*
 * Why /dev/kvm did not open (err is the -errno kvm_open() returned) and what
 * to do about it: one sentence for the user.
 */
const char *kvm_open_remedy(int err);

#endif

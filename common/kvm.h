/*
 * kvm.h - thin wrappers around the KVM ioctls (introduced in chapter 1).
 *
 * KVM is three kinds of file descriptor:
 *
 *   /dev/kvm      the system: API version, capabilities, creating VMs
 *   a VM fd       one guest: its memory slots, its devices (the GIC)
 *   a vCPU fd     one virtual CPU: registers, KVM_RUN
 *
 * Each wrapper is one ioctl with the conventions of common/: it returns 0
 * (or the value the ioctl returns) on success and -errno on failure, never
 * exits and never prints, so main.c decides what a failure means and says it
 * with strerror().
 */
#ifndef GOD_KVM_H
#define GOD_KVM_H

#include <linux/kvm.h>
#include <stdint.h>

#include "guest_mem.h"

/* KVM_GET_API_VERSION has been 12 since Linux 2.6.22; anything else is not KVM as we know it. */
#define KVM_EXPECTED_API_VERSION 12

/* Open /dev/kvm. Returns the fd or -errno (-ENOENT: no KVM, -EACCES: not allowed). */
int kvm_open(void);

int kvm_api_version(int kvm_fd);

/*
 * KVM_CHECK_EXTENSION on the system or a VM fd: 0 = not supported, > 0 =
 * supported (some capabilities return a number, e.g. the vCPU limit).
 */
int kvm_check_extension(int fd, long capability);

/*
 * Create a VM. ipa_bits is the guest physical address size to ask for
 * (KVM_VM_TYPE_ARM_IPA_SIZE); 0 takes KVM's default of 40 bits.
 */
int kvm_create_vm(int kvm_fd, unsigned ipa_bits);

/*
 * KVM_ENABLE_CAP on a VM, for a capability that takes no arguments, e.g.
 * KVM_CAP_ARM_NISV_TO_USER. Returns 0 or -errno (-EINVAL: not supported).
 */
int kvm_enable_cap(int vm_fd, uint32_t capability);

/*
 * Create a VM whose guest physical address space reaches `ram_end` (the first
 * address past guest RAM). KVM's default is 40 bits (1 TiB); more must be
 * asked for at KVM_CREATE_VM, up to what KVM_CAP_ARM_VM_IPA_SIZE reports for
 * this host (0 there means the host only does the default). *max_bits gets
 * that limit. Returns the VM fd, -E2BIG when ram_end does not fit even the
 * largest space this host offers, or -errno from KVM_CREATE_VM.
 */
int kvm_create_vm_for_ram(int kvm_fd, uint64_t ram_end, unsigned *max_bits);

/* Register guest RAM as memory slot `slot`: the guest sees mem->host at mem->gpa_base. */
int kvm_set_memory(int vm_fd, uint32_t slot, const struct guest_mem *mem);

/* The size of the kvm_run structure every vCPU fd must be mmap'ed with. */
int kvm_vcpu_mmap_size(int kvm_fd);

/* The CPU model KVM wants us to present, e.g. KVM_ARM_TARGET_GENERIC_V8. */
int kvm_preferred_target(int vm_fd, struct kvm_vcpu_init *init);

/* The name of a KVM_EXIT_* reason ("MMIO", "SYSTEM_EVENT"), or "UNKNOWN". */
const char *kvm_exit_name(uint32_t reason);

#endif

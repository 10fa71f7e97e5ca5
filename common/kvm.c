/*
 * kvm.c - thin wrappers around the KVM ioctls (introduced in chapter 1).
 */
#include "kvm.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* ioctl() returns -1 and sets errno; common/ returns -errno instead. */
static int check(int ret)
{
    return ret < 0 ? -errno : ret;
}

int kvm_open(void)
{
    /* O_CLOEXEC: the VMM never wants a child to inherit its hypervisor handle. */
    return check(open("/dev/kvm", O_RDWR | O_CLOEXEC));
}

int kvm_api_version(int kvm_fd)
{
    return check(ioctl(kvm_fd, KVM_GET_API_VERSION, 0));
}

int kvm_check_extension(int fd, long capability)
{
    return check(ioctl(fd, KVM_CHECK_EXTENSION, capability));
}

int kvm_enable_cap(int vm_fd, uint32_t capability)
{
    struct kvm_enable_cap cap = {.cap = capability};
    return check(ioctl(vm_fd, KVM_ENABLE_CAP, &cap));
}

int kvm_create_vm(int kvm_fd, unsigned ipa_bits)
{
    return check(ioctl(kvm_fd, KVM_CREATE_VM, (unsigned long)KVM_VM_TYPE_ARM_IPA_SIZE(ipa_bits)));
}

int kvm_create_vm_for_ram(int kvm_fd, uint64_t ram_end, unsigned *max_bits)
{
    const unsigned default_bits = 40;
    int max = kvm_check_extension(kvm_fd, KVM_CAP_ARM_VM_IPA_SIZE);
    *max_bits = max > (int)default_bits ? (unsigned)max : default_bits;

    /* The smallest address size that holds every address below ram_end. */
    unsigned bits = 0;
    while (bits < 64 && ram_end > (1ULL << bits))
        bits++;
    if (bits > *max_bits)
        return -E2BIG;
    return kvm_create_vm(kvm_fd, bits > default_bits ? bits : 0);
}

int kvm_set_memory(int vm_fd, uint32_t slot, const struct guest_mem *mem)
{
    struct kvm_userspace_memory_region region = {
        .slot = slot,
        .flags = 0,
        .guest_phys_addr = mem->gpa_base,
        .memory_size = mem->size,
        .userspace_addr = (uint64_t)(uintptr_t)mem->host,
    };
    return check(ioctl(vm_fd, KVM_SET_USER_MEMORY_REGION, &region));
}

int kvm_vcpu_mmap_size(int kvm_fd)
{
    return check(ioctl(kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0));
}

int kvm_preferred_target(int vm_fd, struct kvm_vcpu_init *init)
{
    return check(ioctl(vm_fd, KVM_ARM_PREFERRED_TARGET, init));
}

const char *kvm_exit_name(uint32_t reason)
{
    /* The reasons an arm64 VMM can meet; the numbers are fixed by the ABI. */
    static const char *const names[] = {
        [KVM_EXIT_UNKNOWN] = "UNKNOWN",
        [KVM_EXIT_EXCEPTION] = "EXCEPTION",
        [KVM_EXIT_IO] = "IO",
        [KVM_EXIT_HYPERCALL] = "HYPERCALL",
        [KVM_EXIT_DEBUG] = "DEBUG",
        [KVM_EXIT_HLT] = "HLT",
        [KVM_EXIT_MMIO] = "MMIO",
        [KVM_EXIT_IRQ_WINDOW_OPEN] = "IRQ_WINDOW_OPEN",
        [KVM_EXIT_SHUTDOWN] = "SHUTDOWN",
        [KVM_EXIT_FAIL_ENTRY] = "FAIL_ENTRY",
        [KVM_EXIT_INTR] = "INTR",
        [KVM_EXIT_SET_TPR] = "SET_TPR",
        [KVM_EXIT_TPR_ACCESS] = "TPR_ACCESS",
        [KVM_EXIT_NMI] = "NMI",
        [KVM_EXIT_INTERNAL_ERROR] = "INTERNAL_ERROR",
        [KVM_EXIT_SYSTEM_EVENT] = "SYSTEM_EVENT",
        [KVM_EXIT_ARM_NISV] = "ARM_NISV",
    };
    if (reason < sizeof(names) / sizeof(names[0]) && names[reason])
        return names[reason];
    return "UNKNOWN";
}

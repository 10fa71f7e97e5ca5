/*
 * kvm_info.c - what this machine's KVM can do, for `god kvm info` (introduced in chapter 1).
 */
#include "kvm_info.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "kvm.h"

/* The capabilities an arm64 VMM cares about, and what each one means for us. */
static const struct {
    long cap;
    const char *name;
    const char *meaning;
} caps[] = {
    {KVM_CAP_ARM_PSCI_0_2, "ARM_PSCI_0_2", "guest power control (CPU_ON, SYSTEM_OFF) via PSCI 0.2"},
    {KVM_CAP_ARM_VM_IPA_SIZE, "ARM_VM_IPA_SIZE", "largest guest physical address size, in bits"},
    {KVM_CAP_NR_VCPUS, "NR_VCPUS", "vCPUs per VM the kernel recommends"},
    {KVM_CAP_MAX_VCPUS, "MAX_VCPUS", "vCPUs per VM the kernel allows"},
    {KVM_CAP_NR_MEMSLOTS, "NR_MEMSLOTS", "guest memory regions per VM"},
    {KVM_CAP_ONE_REG, "ONE_REG", "registers read and written one by one (arm64 has no other way)"},
    {KVM_CAP_USER_MEMORY, "USER_MEMORY", "guest RAM is ordinary memory of this process"},
    {KVM_CAP_IOEVENTFD, "IOEVENTFD", "a guest MMIO write can signal an eventfd without an exit"},
    {KVM_CAP_IRQFD, "IRQFD", "an eventfd write can inject an interrupt"},
    {KVM_CAP_IRQCHIP, "IRQCHIP", "an in-kernel interrupt controller"},
    {KVM_CAP_DEVICE_CTRL, "DEVICE_CTRL", "KVM_CREATE_DEVICE, how the vGIC is created"},
    {KVM_CAP_ARM_PMU_V3, "ARM_PMU_V3", "a virtual performance monitoring unit"},
    {KVM_CAP_ARM_EL1_32BIT, "ARM_EL1_32BIT", "32-bit guests"},
    {KVM_CAP_ARM_SVE, "ARM_SVE", "Scalable Vector Extension for guests"},
    {KVM_CAP_ARM_PTRAUTH_ADDRESS, "ARM_PTRAUTH_ADDRESS", "pointer authentication for guests"},
    {KVM_CAP_ARM_NISV_TO_USER, "ARM_NISV_TO_USER", "report MMIO the CPU could not decode"},
    {KVM_CAP_IMMEDIATE_EXIT, "IMMEDIATE_EXIT", "kick a vCPU out of KVM_RUN race-free"},
};

/* Ask for a vGIC device without creating it: KVM_CREATE_DEVICE_TEST. */
static bool can_create(int vm_fd, uint32_t type)
{
    struct kvm_create_device dev = {.type = type, .flags = KVM_CREATE_DEVICE_TEST};
    return ioctl(vm_fd, KVM_CREATE_DEVICE, &dev) == 0;
}

/*
 * Which chapters this host can run, and why: chapters 1-4 need KVM with
 * PSCI 0.2 (power off, CPU_ON) and ONE_REG; from chapter 5 on, an in-kernel
 * GIC, either version (common/gic_choice.c picks); chapter 8 adds
 * ioeventfd and irqfd for its virtio devices.
 */
static void print_chapters(int kvm_fd, bool v2, bool v3, FILE *out)
{
    bool base = kvm_check_extension(kvm_fd, KVM_CAP_ARM_PSCI_0_2) > 0 &&
                kvm_check_extension(kvm_fd, KVM_CAP_ONE_REG) > 0;
    bool fds = kvm_check_extension(kvm_fd, KVM_CAP_IOEVENTFD) > 0 &&
               kvm_check_extension(kvm_fd, KVM_CAP_IRQFD) > 0;
    const char *gic = v3 && v2 ? "with a vGICv3 (or a vGICv2: --gic v2)"
                      : v3     ? "with a vGICv3"
                      : v2     ? "with a vGICv2 (a GICv2 host: at most 8 vCPUs)"
                               : "no: KVM offers no in-kernel GIC";
    fprintf(out, "\nchapters this host can run:\n");
    fprintf(out, "  1-4  %s\n",
            base ? "yes (KVM, PSCI 0.2, ONE_REG)" : "no: needs PSCI 0.2 and ONE_REG");
    fprintf(out, "  5-7  %s%s\n", base && (v2 || v3) ? "yes, " : "", base ? gic : "no");
    fprintf(out, "  8    %s\n",
            base && (v2 || v3) && fds ? "yes, as 5-7, plus ioeventfd and irqfd"
                                      : "no: needs 5-7 and ioeventfd + irqfd");
}

int kvm_info_print(int kvm_fd, FILE *out)
{
    fprintf(out, "%-22s %-6s %s\n", "capability", "value", "what it gives a VMM");
    for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
        int v = kvm_check_extension(kvm_fd, caps[i].cap);
        fprintf(out, "%-22s %-6d %s\n", caps[i].name, v < 0 ? 0 : v, caps[i].meaning);
    }

    /* The rest needs a VM: the vGIC and the CPU model are properties of one. */
    int vm = kvm_create_vm(kvm_fd, 0);
    if (vm < 0)
        return vm;
    bool v3 = can_create(vm, KVM_DEV_TYPE_ARM_VGIC_V3);
    bool v2 = can_create(vm, KVM_DEV_TYPE_ARM_VGIC_V2);
    fprintf(out, "%-22s %-6s %s\n", "GICv3 (DEVICE_TEST)", v3 ? "yes" : "no",
            "an in-kernel GICv3 interrupt controller can be created");
    fprintf(out, "%-22s %-6s %s\n", "GICv2 (DEVICE_TEST)", v2 ? "yes" : "no",
            "an in-kernel GICv2 (on a GICv2 host, e.g. a Raspberry Pi)");

    struct kvm_vcpu_init init;
    int ret = kvm_preferred_target(vm, &init);
    close(vm);
    if (ret < 0)
        return ret;
    /* KVM_ARM_TARGET_GENERIC_V8 (5) on almost every modern core. */
    fprintf(out, "\npreferred vCPU target: %u%s\n", init.target,
            init.target == KVM_ARM_TARGET_GENERIC_V8 ? " (KVM_ARM_TARGET_GENERIC_V8)" : "");
    print_chapters(kvm_fd, v2, v3, out);
    return 0;
}

const char *kvm_open_remedy(int err)
{
    struct utsname u;
    if (uname(&u) == 0 && strcmp(u.machine, "aarch64") != 0)
        return "god runs ARM64 guests and needs an ARM64 host with KVM; "
               "`make run` starts an emulated one on this machine";
    if (err == -ENOENT || err == -ENODEV || err == -ENXIO)
        return "no KVM here: enable virtualization and load the kvm module; inside a VM, "
               "the hypervisor must offer nested virtualization";
    if (err == -EACCES || err == -EPERM)
        return "not allowed: join the kvm group (sudo usermod -aG kvm $USER) and log in again";
    return "is KVM enabled in this kernel?";
}

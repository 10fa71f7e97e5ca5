/*
 * kvm_info.c - what this machine's KVM can do, for `god kvm info` (introduced in chapter 1).
 */
#include "kvm_info.h"

#include <errno.h>
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

/* Ask for the GICv3 device without creating it: KVM_CREATE_DEVICE_TEST. */
static const char *gicv3_support(int vm_fd)
{
    struct kvm_create_device dev = {
        .type = KVM_DEV_TYPE_ARM_VGIC_V3,
        .flags = KVM_CREATE_DEVICE_TEST,
    };
    return ioctl(vm_fd, KVM_CREATE_DEVICE, &dev) == 0 ? "yes" : "no";
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
    fprintf(out, "%-22s %-6s %s\n", "GICv3 (DEVICE_TEST)", gicv3_support(vm),
            "an in-kernel GICv3 interrupt controller can be created");

    struct kvm_vcpu_init init;
    int ret = kvm_preferred_target(vm, &init);
    close(vm);
    if (ret < 0)
        return ret;
    /* KVM_ARM_TARGET_GENERIC_V8 (5) on almost every modern core. */
    fprintf(out, "\npreferred vCPU target: %u%s\n", init.target,
            init.target == KVM_ARM_TARGET_GENERIC_V8 ? " (KVM_ARM_TARGET_GENERIC_V8)" : "");
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

/*
 * vcpu.c - create, initialise and inspect a virtual CPU (introduced in chapter 3).
 */
#include "vcpu.h"

#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kvm.h"

int vcpu_create(struct vcpu *vcpu, int kvm_fd, int vm_fd, unsigned index)
{
    memset(vcpu, 0, sizeof(*vcpu));
    vcpu->fd = -1;

    int size = kvm_vcpu_mmap_size(kvm_fd);
    if (size < 0)
        return size;

    int fd = ioctl(vm_fd, KVM_CREATE_VCPU, (unsigned long)index);
    if (fd < 0)
        return -errno;

    void *run = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (run == MAP_FAILED) {
        int err = -errno;
        close(fd);
        return err;
    }
    vcpu->fd = fd;
    vcpu->index = index;
    vcpu->run = run;
    vcpu->run_size = (size_t)size;
    return 0;
}

void vcpu_destroy(struct vcpu *vcpu)
{
    if (vcpu->run)
        munmap(vcpu->run, vcpu->run_size);
    if (vcpu->fd >= 0)
        close(vcpu->fd);
    memset(vcpu, 0, sizeof(*vcpu));
    vcpu->fd = -1;
}

int vcpu_init(struct vcpu *vcpu, int vm_fd, uint32_t features)
{
    struct kvm_vcpu_init init;
    int ret = kvm_preferred_target(vm_fd, &init);
    if (ret < 0)
        return ret;

    /* The preferred target comes with no features set; we choose them. */
    memset(init.features, 0, sizeof(init.features));
    init.features[0] = (1u << KVM_ARM_VCPU_PSCI_0_2) | features;

    if (ioctl(vcpu->fd, KVM_ARM_VCPU_INIT, &init) < 0)
        return -errno;
    return 0;
}

int vcpu_get_reg(const struct vcpu *vcpu, uint64_t id, uint64_t *value)
{
    struct kvm_one_reg reg = {.id = id, .addr = (uint64_t)(uintptr_t)value};
    return ioctl(vcpu->fd, KVM_GET_ONE_REG, &reg) < 0 ? -errno : 0;
}

int vcpu_set_reg(const struct vcpu *vcpu, uint64_t id, uint64_t value)
{
    struct kvm_one_reg reg = {.id = id, .addr = (uint64_t)(uintptr_t)&value};
    return ioctl(vcpu->fd, KVM_SET_ONE_REG, &reg) < 0 ? -errno : 0;
}

int vcpu_set_entry(const struct vcpu *vcpu, uint64_t pc, uint64_t pstate)
{
    int ret = vcpu_set_reg(vcpu, VCPU_CORE_REG(regs.pstate), pstate);
    if (ret < 0)
        return ret;
    return vcpu_set_reg(vcpu, VCPU_CORE_REG(regs.pc), pc);
}

/* The EL1 system registers that explain an exception, as ONE_REG ids. */
#define SYS_REG(op0, op1, crn, crm, op2) ARM64_SYS_REG(op0, op1, crn, crm, op2)
static const struct {
    const char *name;
    uint64_t id;
} el1_regs[] = {
    {"ESR_EL1", SYS_REG(3, 0, 5, 2, 0)},   /* why the last exception was taken */
    {"FAR_EL1", SYS_REG(3, 0, 6, 0, 0)},   /* the faulting address */
    {"VBAR_EL1", SYS_REG(3, 0, 12, 0, 0)}, /* where the vector table is */
    {"SCTLR_EL1", SYS_REG(3, 0, 1, 0, 0)}, /* MMU and caches on or off */
};

void vcpu_dump_regs(const struct vcpu *vcpu, FILE *out)
{
    uint64_t v;

    fprintf(out, "vCPU %u registers:\n", vcpu->index);
    if (vcpu_get_reg(vcpu, VCPU_CORE_REG(regs.pc), &v) == 0)
        fprintf(out, "  %-9s %016llx\n", "PC", (unsigned long long)v);
    if (vcpu_get_reg(vcpu, VCPU_CORE_REG(regs.pstate), &v) == 0)
        fprintf(out, "  %-9s %016llx (EL%llu, %s)\n", "PSTATE", (unsigned long long)v,
                (unsigned long long)((v >> 2) & 3), (v & 1) ? "SP_ELx" : "SP_EL0");
    if (vcpu_get_reg(vcpu, VCPU_CORE_REG(sp_el1), &v) == 0)
        fprintf(out, "  %-9s %016llx\n", "SP_EL1", (unsigned long long)v);
    if (vcpu_get_reg(vcpu, VCPU_CORE_REG(elr_el1), &v) == 0)
        fprintf(out, "  %-9s %016llx\n", "ELR_EL1", (unsigned long long)v);
    for (size_t i = 0; i < sizeof(el1_regs) / sizeof(el1_regs[0]); i++)
        if (vcpu_get_reg(vcpu, el1_regs[i].id, &v) == 0)
            fprintf(out, "  %-9s %016llx\n", el1_regs[i].name, (unsigned long long)v);
    for (int i = 0; i < 31; i++) {
        if (vcpu_get_reg(vcpu, VCPU_XREG(i), &v) == 0)
            fprintf(out, "  x%-2d %016llx%s", i, (unsigned long long)v, i % 3 == 2 ? "\n" : "");
    }
    fprintf(out, "\n");
}

int vcpu_inject_external_abort(const struct vcpu *vcpu)
{
    struct kvm_vcpu_events events;
    memset(&events, 0, sizeof(events));
    events.exception.ext_dabt_pending = 1;
    return ioctl(vcpu->fd, KVM_SET_VCPU_EVENTS, &events) < 0 ? -errno : 0;
}

int vcpu_run(struct vcpu *vcpu)
{
    return ioctl(vcpu->fd, KVM_RUN, 0) < 0 ? -errno : 0;
}

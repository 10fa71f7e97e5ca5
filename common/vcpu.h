/*
 * vcpu.h - create, initialise and inspect a virtual CPU (introduced in chapter 3).
 *
 * A vCPU is a file descriptor plus a shared page, `struct kvm_run`, through
 * which KVM tells us why the guest stopped running (an "exit") and we hand
 * back what the guest asked for (the data of an MMIO read, say).
 *
 * On arm64 a fresh vCPU must be initialised with KVM_ARM_VCPU_INIT before it
 * can run: that picks the CPU model (KVM's preferred target) and optional
 * features such as PSCI 0.2, and resets the registers to the architectural
 * reset state. Registers are then read and written one at a time with
 * KVM_GET_ONE_REG / KVM_SET_ONE_REG, each named by a 64-bit id.
 */
#ifndef GOD_VCPU_H
#define GOD_VCPU_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct vcpu {
    int fd;
    unsigned index;      /* 0 for the boot CPU; becomes the MPIDR affinity */
    struct kvm_run *run; /* the shared page: exit reason and exit data */
    size_t run_size;
};

/* KVM_CREATE_VCPU and map its kvm_run. Returns 0 or -errno. */
int vcpu_create(struct vcpu *vcpu, int kvm_fd, int vm_fd, unsigned index);
void vcpu_destroy(struct vcpu *vcpu);

/*
 * KVM_ARM_VCPU_INIT with the preferred target and PSCI 0.2, so that a guest's
 * SYSTEM_OFF reaches us as KVM_EXIT_SYSTEM_EVENT. (Without that feature bit
 * KVM offers only PSCI 0.1, which has no SYSTEM_OFF: the call returns
 * NOT_SUPPORTED, -1, in x0 and the guest carries on.) `features` adds
 * KVM_ARM_VCPU_* feature bits, e.g. KVM_ARM_VCPU_POWER_OFF for a secondary
 * that waits for PSCI CPU_ON.
 */
int vcpu_init(struct vcpu *vcpu, int vm_fd, uint32_t features);

/* The ONE_REG id of a field of struct kvm_regs, e.g. VCPU_CORE_REG(regs.pc). */
#define VCPU_CORE_REG(field)                                                                       \
    (KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE |                                         \
     (offsetof(struct kvm_regs, field) / sizeof(uint32_t)))
#define VCPU_XREG(n) VCPU_CORE_REG(regs.regs[n])

int vcpu_get_reg(const struct vcpu *vcpu, uint64_t id, uint64_t *value);
int vcpu_set_reg(const struct vcpu *vcpu, uint64_t id, uint64_t value);

/*
 * PSTATE for entering the guest at EL1 using SP_EL1 ("EL1h"), with debug,
 * SError, IRQ and FIQ masked: the state the arm64 boot protocol asks for.
 */
#define VCPU_PSTATE_EL1H_MASKED (PSR_MODE_EL1h | PSR_D_BIT | PSR_A_BIT | PSR_I_BIT | PSR_F_BIT)

/* Set PC and PSTATE: where and how the vCPU starts. */
int vcpu_set_entry(const struct vcpu *vcpu, uint64_t pc, uint64_t pstate);

/* Print PC, PSTATE, SP, LR, x0-x30 and the EL1 exception registers to `out`. */
void vcpu_dump_regs(const struct vcpu *vcpu, FILE *out);

/*
 * Make the guest take a synchronous external abort for the data access it
 * just trapped on (KVM_SET_VCPU_EVENTS, ext_dabt_pending; needs
 * KVM_CAP_ARM_INJECT_EXT_DABT). Only valid right after a KVM_EXIT_MMIO or
 * KVM_EXIT_ARM_NISV. Returns 0 or -errno.
 */
int vcpu_inject_external_abort(const struct vcpu *vcpu);

/* KVM_RUN once. Returns 0 when KVM reports an exit in vcpu->run, or -errno (-EINTR: a signal). */
int vcpu_run(struct vcpu *vcpu);

#endif

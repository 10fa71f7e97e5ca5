/*
 * gic.h - the in-kernel GICv3 interrupt controller (introduced in chapter 5).
 *
 * KVM emulates the GIC itself (the "vGIC"): distributor, redistributors and
 * the CPU interface registers all live in the kernel, so interrupts reach a
 * vCPU without a trip through the VMM. Our part is to create it, say where
 * it lives in the guest's address space, finalise it, and pull interrupt
 * lines for our device models with KVM_IRQ_LINE.
 *
 * The order is fixed by KVM (Documentation/virt/kvm/devices/arm-vgic-v3.rst):
 *
 *   gic_create()     after the VM, before or after the vCPUs
 *   vcpu_create()    for every vCPU
 *   gic_finalize()   after all vCPUs exist and before the first KVM_RUN
 */
#ifndef GOD_GIC_H
#define GOD_GIC_H

#include <linux/kvm.h>
#include <stdbool.h>

/* SPIs we let the guest use: 32 INTIDs are SGIs and PPIs, then the SPIs. */
#define GIC_NR_IRQS 128

struct gic {
    int fd;    /* the KVM device fd */
    int vm_fd; /* KVM_IRQ_LINE is a VM ioctl */
};

/*
 * Create a vGICv3 for a VM with nr_vcpus vCPUs: distributor at
 * GIC_DIST_BASE, one redistributor region at GIC_REDIST_BASE sized for the
 * vCPUs, GIC_NR_IRQS interrupts. Returns 0, -ENODEV when the host cannot
 * offer a GICv3 (a GICv2-only machine), -E2BIG for more vCPUs than the
 * memory map has redistributor room for, or another -errno.
 */
int gic_create(struct gic *gic, int vm_fd, unsigned nr_vcpus);

/* KVM_DEV_ARM_VGIC_CTRL_INIT: after every vCPU exists, before any runs. */
int gic_finalize(const struct gic *gic);

/* Drive SPI `spi` (INTID spi + 32) to `level`. Returns 0 or -errno. */
int gic_set_spi(const struct gic *gic, unsigned spi, bool level);

/* The same as an irq_line callback (common/irq.h): ctx is the struct gic. */
void gic_irq_line_set(void *ctx, unsigned spi, bool level);

#endif

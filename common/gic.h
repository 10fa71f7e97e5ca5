/*
 * gic.h - the in-kernel GIC interrupt controller, v3 or v2 (introduced in
 * chapter 5).
 *
 * KVM emulates the GIC itself (the "vGIC"): distributor, redistributors (v3)
 * or memory-mapped CPU interface (v2), and the CPU interface registers all
 * live in the kernel, so interrupts reach a vCPU without a trip through the
 * VMM. Our part is to find out which versions the host offers, create one,
 * say where it lives in the guest's address space, finalise it, and pull
 * interrupt lines for our device models with KVM_IRQ_LINE.
 *
 * The order is fixed by KVM (Documentation/virt/kvm/devices/arm-vgic-v3.rst,
 * arm-vgic.rst for v2):
 *
 *   gic_probe()      which versions can this host create? (gic_choice.h picks)
 *   gic_create()     after the VM, before or after the vCPUs
 *   vcpu_create()    for every vCPU
 *   gic_finalize()   after all vCPUs exist and before the first KVM_RUN
 */
#ifndef GOD_GIC_H
#define GOD_GIC_H

#include <linux/kvm.h>
#include <stdbool.h>

#include "gic_choice.h"

/* SPIs we let the guest use: 32 INTIDs are SGIs and PPIs, then the SPIs. */
#define GIC_NR_IRQS 128

struct gic {
    int fd;                   /* the KVM device fd */
    int vm_fd;                /* KVM_IRQ_LINE is a VM ioctl */
    enum gic_version version; /* GIC_V2 or GIC_V3 */
};

/* Which vGICs this VM could have: KVM_CREATE_DEVICE_TEST, nothing is created. */
void gic_probe(int vm_fd, struct gic_host *host);

/*
 * Create a vGIC of `version` (GIC_V2 or GIC_V3) for a VM with nr_vcpus
 * vCPUs, with GIC_NR_IRQS interrupts and the distributor at GIC_DIST_BASE;
 * v3: one redistributor region at GIC_REDIST_BASE sized for the vCPUs;
 * v2: the CPU interface at GIC_CPU_BASE. Returns 0, -ENODEV when the host
 * cannot create that version, -E2BIG for more vCPUs than the version (or
 * the memory map) allows, or another -errno.
 */
int gic_create(struct gic *gic, int vm_fd, enum gic_version version, unsigned nr_vcpus);

/*
 * The three steps in one: gic_probe(), gic_choose() for `want` (GIC_AUTO,
 * GIC_V2 or GIC_V3), gic_create(). Returns 0 with gic->version set, or the
 * -errno of the step that failed; for a choice the host cannot satisfy
 * (-ENODEV, -E2BIG), why[] holds one line saying so (gic_choice_explain()),
 * otherwise it is empty.
 */
int gic_setup(struct gic *gic, int vm_fd, enum gic_version want, unsigned nr_vcpus, char *why,
              size_t why_len);

/* KVM_DEV_ARM_VGIC_CTRL_INIT: after every vCPU exists, before any runs. */
int gic_finalize(const struct gic *gic);

/* Drive SPI `spi` (INTID spi + 32) to `level`. Returns 0 or -errno. */
int gic_set_spi(const struct gic *gic, unsigned spi, bool level);

/* The same as an irq_line callback (common/irq.h): ctx is the struct gic. */
void gic_irq_line_set(void *ctx, unsigned spi, bool level);

#endif

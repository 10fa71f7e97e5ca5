/*
 * irqfd.h - an interrupt line KVM raises from an eventfd (introduced in chapter 8).
 *
 * KVM_IRQ_LINE (common/gic.c) is an ioctl per edge: the device raises its
 * line with one system call, and the vCPU that writes InterruptACK lowers it
 * with another, inside its MMIO exit. KVM_IRQFD instead ties an eventfd to an
 * SPI: an 8-byte write to the eventfd asserts the SPI, and KVM injects it
 * there and then, inside the write (virt/kvm/eventfd.c, irqfd_wakeup()).
 *
 * A plain irqfd sends a pulse (assert, deassert), which suits an edge. Our
 * virtio-mmio lines are level-sensitive, and a level input that is pulsed is
 * simply low again by the time anyone looks. So we register the irqfd with
 * KVM_IRQFD_FLAG_RESAMPLE and a second eventfd, the resamplefd: the line
 * stays asserted until the guest EOIs the interrupt; KVM then deasserts it
 * and signals the resamplefd, and we assert it again if the device still
 * wants service (virtio_mmio_irq_resampled()). Nobody ever lowers it by hand.
 *
 *   irqfd_supported(vm)          KVM_CAP_IRQFD and KVM_CAP_IRQFD_RESAMPLE?
 *   irqfd_init(&q, spi)          the two eventfds; hand irqfd_line(&q) to the device
 *   gic_finalize(...)            KVM_IRQFD needs an initialised vGIC (else EAGAIN)
 *   irqfd_assign(&q, vm)         KVM_IRQFD with KVM_IRQFD_FLAG_RESAMPLE
 *   ... irqfd_resample_fd(&q) polled by the device's worker ...
 *   irqfd_close(&q)
 */
#ifndef GOD_IRQFD_H
#define GOD_IRQFD_H

#include <stdbool.h>

#include "irq.h"

struct irqfd {
    int fd;          /* we write: KVM asserts the SPI */
    int resample_fd; /* KVM signals: the guest EOI'd, the SPI is deasserted */
    unsigned spi;    /* SPI number; the irqfd's gsi is the same number (irqfd.c) */
};

/* Does this VM's KVM offer irqfds with resampling? */
bool irqfd_supported(int vm_fd);

/* Create the eventfds for SPI `spi`. KVM does not know them yet. Returns 0 or -errno. */
int irqfd_init(struct irqfd *irqfd, unsigned spi);

/* The line to hand a device model: resampled, set_level(true) writes the eventfd. */
struct irq_line irqfd_line(struct irqfd *irqfd);

/*
 * KVM_IRQFD, with KVM_IRQFD_FLAG_RESAMPLE. Only after gic_finalize(): KVM
 * refuses an irqfd before its interrupt controller is initialised. Returns
 * 0 or -errno.
 */
int irqfd_assign(struct irqfd *irqfd, int vm_fd);

/* The fd to poll for POLLIN: KVM lowered the line. Read it with irqfd_resampled(). */
int irqfd_resample_fd(const struct irqfd *irqfd);

/* Consume the resample signal: true if KVM lowered the line since the last call. */
bool irqfd_resampled(struct irqfd *irqfd);

/* Close both eventfds; closing the irqfd's eventfd detaches it from KVM. Safe twice. */
void irqfd_close(struct irqfd *irqfd);

#endif

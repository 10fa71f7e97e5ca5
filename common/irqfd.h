/*
 * irqfd.h - an interrupt line KVM raises from an eventfd (introduced in chapter 8).
 *
 * KVM_IRQ_LINE (common/gic.c) is an ioctl per level change: an edge costs
 * two system calls, up and down. KVM_IRQFD instead ties an eventfd to an
 * SPI: an 8-byte write to the eventfd is one edge, and KVM injects it there
 * and then, inside the write (virt/kvm/eventfd.c, irqfd_wakeup()).
 *
 * That suits our virtio-mmio interrupts, which are edge-triggered
 * (common/devicetree.c): the device pulses its line once per new event and
 * never holds it high. (For a level-sensitive input KVM offers a second
 * eventfd, the resamplefd, signalled at the guest's EOI so that user space
 * can assert the line again; an edge needs none of that.)
 *
 *   irqfd_supported(vm)          KVM_CAP_IRQFD?
 *   irqfd_init(&q, spi)          the eventfd; hand irqfd_line(&q) to the device
 *   gic_finalize(...)            KVM_IRQFD needs an initialised vGIC (else EAGAIN)
 *   irqfd_assign(&q, vm)         KVM_IRQFD
 *   irqfd_close(&q)
 */
#ifndef GOD_IRQFD_H
#define GOD_IRQFD_H

#include <stdbool.h>

#include "irq.h"

struct irqfd {
    int fd;       /* we write: KVM sends the SPI an edge */
    unsigned spi; /* SPI number; the irqfd's gsi is the same number (irqfd.c) */
};

/* Does this VM's KVM offer irqfds? */
bool irqfd_supported(int vm_fd);

/* Create the eventfd for SPI `spi`. KVM does not know it yet. Returns 0 or -errno. */
int irqfd_init(struct irqfd *irqfd, unsigned spi);

/* The line to hand a device model: set_level(true) writes the eventfd, false does nothing. */
struct irq_line irqfd_line(struct irqfd *irqfd);

/*
 * KVM_IRQFD. Only after gic_finalize(): KVM refuses an irqfd before its
 * interrupt controller is initialised. Returns 0 or -errno.
 */
int irqfd_assign(struct irqfd *irqfd, int vm_fd);

/* Close the eventfd, which detaches it from KVM. Safe twice. */
void irqfd_close(struct irqfd *irqfd);

#endif

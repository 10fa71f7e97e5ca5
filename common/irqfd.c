/*
 * irqfd.c - an interrupt line KVM raises from an eventfd (introduced in chapter 8).
 */
#include "irqfd.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "kvm.h"
#include "log.h"

bool irqfd_supported(int vm_fd)
{
    /* Asked of the VM (KVM_CAP_CHECK_EXTENSION_VM): it is this VM's answer that counts. */
    return kvm_check_extension(vm_fd, KVM_CAP_IRQFD) > 0;
}

int irqfd_init(struct irqfd *irqfd, unsigned spi)
{
    irqfd->spi = spi;
    /* Non-blocking: a write must never wait (it happens under the device's lock). */
    irqfd->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    return irqfd->fd < 0 ? -errno : 0;
}

/*
 * An irq_line callback. Level true is the whole edge: on arm64, with the
 * vGIC initialised, KVM injects it inside the write itself
 * (kvm_arch_set_irq_inatomic()), and an edge-configured SPI latches it as
 * pending (vgic_validate_injection()). Level false, the pulse's second
 * half, has nothing left to do.
 */
static void irqfd_set_level(void *ctx, unsigned spi, bool level)
{
    static unsigned failures;
    struct irqfd *irqfd = ctx;
    uint64_t one = 1;

    if (!level)
        return;
    if (write(irqfd->fd, &one, sizeof(one)) != sizeof(one))
        log_warn_limited(&failures, "irqfd for SPI %u: write failed: error %d", spi, errno);
}

struct irq_line irqfd_line(struct irqfd *irqfd)
{
    return (struct irq_line){.set_level = irqfd_set_level, .ctx = irqfd, .spi = irqfd->spi};
}

int irqfd_assign(struct irqfd *irqfd, int vm_fd)
{
    /*
     * Which SPI a gsi means is the VM's routing table. We set none, so it
     * is the default one KVM builds when the vGIC is initialised
     * (kvm_vgic_setup_default_irq_routing()): gsi n is irqchip 0, pin n,
     * and pin n is SPI n, INTID n + 32 (vgic_irqfd_set_irq()).
     */
    struct kvm_irqfd req = {
        .fd = (uint32_t)irqfd->fd,
        .gsi = irqfd->spi,
    };
    return ioctl(vm_fd, KVM_IRQFD, &req) < 0 ? -errno : 0;
}

void irqfd_close(struct irqfd *irqfd)
{
    if (irqfd->fd >= 0)
        close(irqfd->fd);
    irqfd->fd = -1;
}

/*
 * irq.h - how a device model raises its interrupt line (introduced in chapter 4).
 *
 * Device models do not know about KVM. They are handed an irq_line: a
 * callback plus the SPI number the device tree gave them. The VMM points the
 * callback at KVM_IRQ_LINE (common/gic.c) or at a KVM irqfd (common/irqfd.c);
 * unit tests point it at a recorder.
 *
 * Two kinds of line:
 *   - a wire (resampled = false): level true = asserted, false = deasserted,
 *     and the line stays where the device last put it;
 *   - a resampled line (resampled = true, an irqfd with a resamplefd):
 *     set_level(true) asserts it, and the interrupt controller itself
 *     deasserts it when the guest ends the interrupt (EOI); set_level(false)
 *     is never called. Whoever watches the resample tells the device, which
 *     asserts the line again if it still wants service.
 */
#ifndef GOD_IRQ_H
#define GOD_IRQ_H

#include <stdbool.h>

struct irq_line {
    void (*set_level)(void *ctx, unsigned spi, bool level);
    void *ctx;
    unsigned spi;   /* SPI number as the device tree writes it; INTID = spi + 32 */
    bool resampled; /* lowered by the interrupt controller at EOI, not by the device */
};

static inline void irq_line_set(const struct irq_line *line, bool level)
{
    if (line->set_level)
        line->set_level(line->ctx, line->spi, level);
}

#endif

/*
 * irq.h - how a device model raises its interrupt line (introduced in chapter 4).
 *
 * Device models do not know about KVM. They are handed an irq_line: a
 * callback plus the SPI number the device tree gave them. The VMM points the
 * callback at KVM_IRQ_LINE (common/gic.c) or at a KVM irqfd (common/irqfd.c);
 * unit tests point it at a recorder.
 *
 * The device tree says how the GIC samples each input, and the device
 * drives its line to match:
 *   - level-sensitive (the PL011): irq_line_set(true) asserts, false
 *     deasserts, and the line stays where the device last put it; the GIC
 *     delivers the interrupt for as long as the line is high;
 *   - edge-triggered (virtio-mmio): irq_line_pulse() sends one rising
 *     edge, an assert and a deassert; the GIC latches it as pending until a
 *     CPU takes the interrupt.
 * An irqfd line (common/irqfd.c) is made for edges: set_level(true) is the
 * whole pulse, and set_level(false) does nothing.
 */
#ifndef GOD_IRQ_H
#define GOD_IRQ_H

#include <stdbool.h>

struct irq_line {
    void (*set_level)(void *ctx, unsigned spi, bool level);
    void *ctx;
    unsigned spi; /* SPI number as the device tree writes it; INTID = spi + 32 */
};

static inline void irq_line_set(const struct irq_line *line, bool level)
{
    if (line->set_level)
        line->set_level(line->ctx, line->spi, level);
}

/* One edge: what an edge-triggered device sends for each new event. */
static inline void irq_line_pulse(const struct irq_line *line)
{
    irq_line_set(line, true);
    irq_line_set(line, false);
}

#endif

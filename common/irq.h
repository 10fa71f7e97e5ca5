/*
 * irq.h - how a device model raises its interrupt line (introduced in chapter 4).
 *
 * Device models do not know about KVM. They are handed an irq_line: a
 * callback plus the SPI number the device tree gave them. The VMM points the
 * callback at KVM_IRQ_LINE (common/gic.c); unit tests point it at a recorder.
 * The semantics are those of a wire: level true = asserted, false = deasserted.
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

#endif

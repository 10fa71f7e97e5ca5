/*
 * fake_edge_gic.h - a GIC input configured edge-triggered, for device tests.
 *
 * Virtio-mmio interrupts are edges (common/devicetree.c): a rising edge
 * latches the interrupt as pending until a CPU takes it. The device tests
 * hand fake_edge_gic_line() to the device and ask fake_edge_gic_take()
 * whether the guest's CPU got an interrupt since they last looked.
 */
#ifndef GOD_FAKE_EDGE_GIC_H
#define GOD_FAKE_EDGE_GIC_H

#include <stdbool.h>

#include "irq.h"

struct fake_edge_gic {
    bool pending; /* an edge latched, not yet taken */
};

static inline void fake_edge_gic_set_level(void *ctx, unsigned spi, bool level)
{
    struct fake_edge_gic *gic = ctx;
    (void)spi;
    if (level)
        gic->pending = true;
}

static inline struct irq_line fake_edge_gic_line(struct fake_edge_gic *gic, unsigned spi)
{
    return (struct irq_line){.set_level = fake_edge_gic_set_level, .ctx = gic, .spi = spi};
}

/* Did the guest's CPU get an interrupt since the last look? Takes it. */
static inline bool fake_edge_gic_take(struct fake_edge_gic *gic)
{
    bool pending = gic->pending;
    gic->pending = false;
    return pending;
}

#endif

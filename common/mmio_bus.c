/*
 * mmio_bus.c - route guest MMIO accesses to device models (introduced in chapter 4).
 *
 * A bus is a short list of windows. Lookups are a linear scan: a VM has a
 * handful of devices, and every MMIO exit already costs a trip from the
 * guest to the kernel to us, which dwarfs comparing a few dozen addresses.
 */
#include "mmio_bus.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* The last byte of a window; only meaningful once the window is known not to wrap. */
static uint64_t region_last(const struct mmio_region *r)
{
    return r->base + (r->size - 1);
}

int mmio_bus_add(struct mmio_bus *bus, const struct mmio_region *region)
{
    if (!region->read || !region->write || region->size == 0)
        return -EINVAL;
    /*
     * The window is [base, base + size). It may end exactly at the top of
     * the address space, but base + size - 1 must not wrap past it.
     */
    if (region->size - 1 > UINT64_MAX - region->base)
        return -EINVAL;

    uint64_t last = region_last(region);
    for (unsigned i = 0; i < bus->count; i++) {
        const struct mmio_region *r = &bus->regions[i];
        /* Two intervals overlap unless one ends before the other starts. */
        if (region->base <= region_last(r) && r->base <= last)
            return -EINVAL;
    }

    if (bus->count == MMIO_BUS_MAX_REGIONS)
        return -ENOSPC;
    bus->regions[bus->count++] = *region;
    return 0;
}

const struct mmio_region *mmio_bus_find(const struct mmio_bus *bus, uint64_t addr)
{
    for (unsigned i = 0; i < bus->count; i++) {
        const struct mmio_region *r = &bus->regions[i];
        if (addr >= r->base && addr <= region_last(r))
            return r;
    }
    return NULL;
}

static bool width_ok(unsigned len)
{
    return len == 1 || len == 2 || len == 4 || len == 8;
}

int mmio_region_access(const struct mmio_region *r, uint64_t addr, uint8_t *data, unsigned len,
                       bool is_write)
{
    /*
     * Whatever goes wrong, a read must not hand the guest stale bytes: KVM
     * copies data[] into the guest's register when we re-enter it. The
     * buffer in kvm_run is 8 bytes, so never clear more than that.
     */
    if (!is_write)
        memset(data, 0, len < 8 ? len : 8);

    if (!width_ok(len))
        return -EINVAL;
    if (!r)
        return -ENOENT;

    /* Written as a subtraction so that no sum can overflow. */
    uint64_t offset = addr - r->base;
    if (len > r->size - offset)
        return -EINVAL; /* straddles the end of the window */

    if (is_write)
        r->write(r->opaque, offset, len, mmio_bus_get_le(data, len));
    else
        mmio_bus_put_le(data, len, r->read(r->opaque, offset, len));
    return 0;
}

int mmio_bus_access(const struct mmio_bus *bus, uint64_t addr, uint8_t *data, unsigned len,
                    bool is_write)
{
    return mmio_region_access(mmio_bus_find(bus, addr), addr, data, len, is_write);
}

uint64_t mmio_bus_get_le(const uint8_t *data, unsigned len)
{
    uint64_t value = 0;
    for (unsigned i = 0; i < len && i < 8; i++)
        value |= (uint64_t)data[i] << (8 * i);
    return value;
}

void mmio_bus_put_le(uint8_t *data, unsigned len, uint64_t value)
{
    for (unsigned i = 0; i < len && i < 8; i++)
        data[i] = (uint8_t)(value >> (8 * i));
}

void mmio_bus_format_access(char *buf, size_t size, const char *reg, uint64_t offset, bool is_write,
                            uint64_t value, bool as_char)
{
    char where[32];
    char what[32];

    if (size == 0)
        return;
    if (reg)
        snprintf(where, sizeof(where), "%s", reg);
    else
        snprintf(where, sizeof(where), "+0x%03" PRIx64, offset);

    /* ' and \ are printable but would make the quoted form ambiguous. */
    if (as_char && value >= 0x20 && value < 0x7f && value != '\'' && value != '\\')
        snprintf(what, sizeof(what), "'%c'", (char)value);
    else if (as_char)
        snprintf(what, sizeof(what), "0x%02" PRIx64, value);
    else
        snprintf(what, sizeof(what), "0x%" PRIx64, value);

    snprintf(buf, size, "%s %s %s", where, is_write ? "write" : "read", what);
}

void mmio_bus_describe(const struct mmio_bus *bus, uint64_t addr, const uint8_t *data, unsigned len,
                       bool is_write, char *buf, size_t size)
{
    uint64_t value = mmio_bus_get_le(data, len);
    const struct mmio_region *r = mmio_bus_find(bus, addr);
    char access[64];

    if (size == 0)
        return;
    if (!r) {
        snprintf(buf, size, "unmapped 0x%08" PRIx64 " %s 0x%" PRIx64, addr,
                 is_write ? "write" : "read", value);
        return;
    }

    uint64_t offset = addr - r->base;
    if (r->describe) {
        r->describe(offset, is_write, value, access, sizeof(access));
        snprintf(buf, size, "%s %s", r->name ? r->name : "mmio", access);
        return;
    }
    const char *reg = r->reg_name ? r->reg_name(r->opaque, offset) : NULL;
    mmio_bus_format_access(access, sizeof(access), reg, offset, is_write, value, false);
    snprintf(buf, size, "%s %s", r->name ? r->name : "mmio", access);
}

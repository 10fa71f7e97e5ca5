/*
 * mmio_bus.h - route guest MMIO accesses to device models (introduced in chapter 4).
 *
 * When the guest touches an address that is not RAM and not emulated inside
 * KVM, the vCPU exits with KVM_EXIT_MMIO: address, width, direction, data.
 * The run loop hands that to mmio_bus_access(), which finds the device whose
 * window contains the address and calls it with the offset inside the window.
 * Adding a device is one mmio_bus_add() call; the run loop never changes.
 *
 * No <linux/kvm.h> here: device models are plain C and unit-tested natively.
 */
#ifndef GOD_MMIO_BUS_H
#define GOD_MMIO_BUS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MMIO_BUS_MAX_REGIONS 40

struct mmio_region {
    const char *name; /* "PL011", "virtio-blk@0a000000": for --trace and warnings */
    uint64_t base;    /* guest physical address of the window */
    uint64_t size;    /* bytes */
    void *opaque;     /* the device, passed back to the callbacks */

    /* width is 1, 2, 4 or 8 bytes; offset is relative to base. */
    uint64_t (*read)(void *opaque, uint64_t offset, unsigned width);
    void (*write)(void *opaque, uint64_t offset, unsigned width, uint64_t value);

    /* Optional: the register's name at offset, for --trace ("UARTDR"), or NULL. */
    const char *(*reg_name)(void *opaque, uint64_t offset);

    /*
     * Optional: render an access for --trace ("UARTDR write 'H'"), for devices
     * that know better than a hex number; without it the bus uses reg_name.
     */
    void (*describe)(uint64_t offset, bool is_write, uint64_t value, char *buf, size_t len);
};

struct mmio_bus {
    struct mmio_region regions[MMIO_BUS_MAX_REGIONS];
    unsigned count;
};

/*
 * Register a device window. Returns 0, -EINVAL for an empty window, one that
 * wraps around or overlaps a registered one, or missing callbacks, -ENOSPC
 * when the bus is full. The region is copied.
 */
int mmio_bus_add(struct mmio_bus *bus, const struct mmio_region *region);

/* The region containing addr, or NULL. */
const struct mmio_region *mmio_bus_find(const struct mmio_bus *bus, uint64_t addr);

/*
 * Perform one access. `data` is the little-endian byte buffer KVM gives us in
 * kvm_run->mmio.data: read from on writes, filled on reads. Returns 0,
 * -ENOENT when no device is there (a read then returns zeroes), -EINVAL for
 * a width that is not 1, 2, 4 or 8 or an access that straddles the end of
 * the window (the device is not called; reads return zeroes).
 */
int mmio_bus_access(const struct mmio_bus *bus, uint64_t addr, uint8_t *data, unsigned len,
                    bool is_write);

/*
 * The same for a region already found with mmio_bus_find() (NULL: nothing
 * there), so a caller that needs the region too looks it up only once.
 */
int mmio_region_access(const struct mmio_region *region, uint64_t addr, uint8_t *data, unsigned len,
                       bool is_write);

/*
 * Locking: the bus is filled in before the vCPUs start (begin with a zeroed
 * struct mmio_bus) and only read afterwards, so the lookups above need no
 * lock even with several vCPU threads. Each device locks its own state.
 */

/*
 * The data buffer as a number, and back. KVM hands us the bytes in guest
 * memory order and an arm64 guest is little-endian, so byte 0 is the least
 * significant one whatever the host is. len is at most 8.
 */
uint64_t mmio_bus_get_le(const uint8_t *data, unsigned len);
void mmio_bus_put_le(uint8_t *data, unsigned len, uint64_t value);

/*
 * Render one access for --trace into buf (always NUL-terminated, truncated
 * to size): "UARTFR read 0x90", or "UARTDR write 'H'" when as_char asks for
 * printable ASCII to be shown as a character. A NULL reg prints the offset
 * ("+0x04c read 0x0") so unknown registers still show up.
 */
void mmio_bus_format_access(char *buf, size_t size, const char *reg, uint64_t offset, bool is_write,
                            uint64_t value, bool as_char);

/*
 * The generic --trace line for any device on the bus, using the region's
 * name and reg_name callback: "PL011 UARTFR read 0x90". An address with no
 * device gives "unmapped 0x00001000 read 0x0". Devices that know better (a
 * data register holding characters) offer their own, e.g. pl011_describe().
 */
void mmio_bus_describe(const struct mmio_bus *bus, uint64_t addr, const uint8_t *data, unsigned len,
                       bool is_write, char *buf, size_t size);

#endif

/*
 * test_virtio_mmio.c - the virtio-mmio register window (common/virtio_mmio.c)
 * (introduced in chapter 8).
 *
 * A fake device with two queues sits behind the transport; the test plays
 * the guest driver through the same read/write callbacks the MMIO bus uses.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <endian.h>
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>

#include <libfdt.h>
#include <stdio.h>
#include <stdlib.h>

#include "devicetree.h"
#include "guest_mem.h"
#include "log.h"
#include "memmap.h"
#include "virtio_mmio.h"

#define BASE     0x40000000ULL
#define RAM_SIZE (64ULL * 1024)
#define QMAX     16

#define DESC_GPA(q)  (BASE + 0x4000ULL * (q))
#define AVAIL_GPA(q) (DESC_GPA(q) + 0x1000)
#define USED_GPA(q)  (DESC_GPA(q) + 0x2000)
#define DATA_GPA     (BASE + 0x8000)

#define FAKE_FEATURE  (1ULL << 3)
#define VERSION_1     (1ULL << VIRTIO_F_VERSION_1)
#define ALL_FEATURES  (FAKE_FEATURE | VERSION_1 | (1ULL << VIRTIO_RING_F_EVENT_IDX))
#define STATUS_BEFORE (VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER)

struct fake {
    struct guest_mem mem;
    struct virtio_mmio dev;
    struct virtio_device_ops ops;
    uint8_t config[8];
    unsigned notified[2];    /* notify() calls per queue */
    int notify_result;       /* what notify() returns */
    unsigned resets;         /* reset() calls */
    bool irq_level;          /* the interrupt line as the "GIC" sees it */
    unsigned raises, lowers; /* set_level(true) and set_level(false) calls */
    bool gic_edge;           /* the GIC input configured edge-triggered (else level) */
    bool gic_latched;        /* edge: a rising edge not yet taken by the guest */
};

static void fake_set_level(void *ctx, unsigned spi, bool level)
{
    struct fake *f = ctx;
    assert_int_equal(spi, VIRTIO_SPI_FIRST + 3);
    if (level && !f->irq_level)
        f->gic_latched = true;
    f->irq_level = level;
    if (level)
        f->raises++;
    else
        f->lowers++;
}

/*
 * The guest's CPU takes the interrupt if the GIC has it pending, as KVM's
 * vGIC decides (arch/arm64/kvm/vgic/vgic.h, irq_is_pending()): an
 * edge-triggered input is pending from a rising edge until the CPU
 * acknowledges it; a level-sensitive one whenever its line is high, so it
 * comes back after EOI for as long as the device holds the line.
 */
static bool gic_take(struct fake *f)
{
    if (!f->gic_edge)
        return f->irq_level;
    bool pending = f->gic_latched;
    f->gic_latched = false;
    return pending;
}

/*
 * The trigger type our device tree gives virtio-mmio device 3: true for an
 * edge. The fake GIC is configured from it, as the guest configures the
 * real one.
 */
static bool dt_says_edge(void)
{
    struct devicetree_device devs[4];
    for (unsigned i = 0; i < 4; i++)
        devs[i] = devicetree_virtio_mmio(i);
    struct devicetree_config cfg = {
        .ram_base = BASE, .ram_size = 256ULL << 20, .ncpus = 1, .devices = devs, .ndevices = 4};
    void *fdt;
    size_t size;
    char path[64];
    int len;
    assert_int_equal(devicetree_build(&cfg, &fdt, &size), 0);
    snprintf(path, sizeof(path), "/virtio_mmio@%llx", (unsigned long long)devs[3].base);
    int node = fdt_path_offset(fdt, path);
    assert_true(node >= 0);
    const fdt32_t *irq = fdt_getprop(fdt, node, "interrupts", &len);
    assert_non_null(irq);
    assert_int_equal(len, 12);
    assert_int_equal(fdt32_to_cpu(irq[1]), VIRTIO_SPI_FIRST + 3);
    uint32_t type = fdt32_to_cpu(irq[2]);
    free(fdt);
    assert_true(type == 1 /* IRQ_TYPE_EDGE_RISING */ || type == 4 /* IRQ_TYPE_LEVEL_HIGH */);
    return type == 1;
}

/* Drain the queue like a device that completes every request with 7 bytes written. */
static int fake_notify(void *ctx, struct virtq *vq, unsigned index)
{
    struct fake *f = ctx;
    struct virtq_chain chain;
    int err;

    f->notified[index]++;
    while ((err = virtq_pop(vq, &chain)) == 0)
        virtq_push(vq, chain.head, 7);
    if (err != -EAGAIN)
        return err;
    return f->notify_result;
}

static void fake_config_read(void *ctx, uint32_t offset, void *buf, unsigned len)
{
    struct fake *f = ctx;
    memcpy(buf, f->config + offset, len);
}

static void fake_config_write(void *ctx, uint32_t offset, const void *buf, unsigned len)
{
    struct fake *f = ctx;
    memcpy(f->config + offset, buf, len);
}

static void fake_reset(void *ctx)
{
    struct fake *f = ctx;
    f->resets++;
}

static int setup(void **state)
{
    static struct fake f;
    memset(&f, 0, sizeof(f));
    if (guest_mem_alloc(&f.mem, BASE, RAM_SIZE) != 0)
        return -1;
    f.ops = (struct virtio_device_ops){
        .name = "virtio-fake",
        .device_id = 42,
        .num_queues = 2,
        .queue_max = QMAX,
        .features = FAKE_FEATURE,
        .config_size = sizeof(f.config),
        .config_read = fake_config_read,
        .config_write = fake_config_write,
        .notify = fake_notify,
        .reset = fake_reset,
    };
    for (unsigned i = 0; i < sizeof(f.config); i++)
        f.config[i] = (uint8_t)(0x10 + i);
    struct irq_line irq = {.set_level = fake_set_level, .ctx = &f, .spi = VIRTIO_SPI_FIRST + 3};
    uint64_t base = VIRTIO_MMIO_BASE + 3 * VIRTIO_MMIO_SIZE;
    if (virtio_mmio_init(&f.dev, &f.ops, &f, &f.mem, base, irq) != 0)
        return -1;
    f.gic_edge = dt_says_edge();
    log_set_muted(true);
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    struct fake *f = *state;
    virtio_mmio_destroy(&f->dev);
    guest_mem_free(&f->mem);
    return 0;
}

/* ---- the driver's side --------------------------------------------------- */

static uint32_t rd(struct fake *f, uint64_t offset)
{
    return (uint32_t)virtio_mmio_read(&f->dev, offset, 4);
}

static void wr(struct fake *f, uint64_t offset, uint32_t value)
{
    virtio_mmio_write(&f->dev, offset, 4, value);
}

static void write_features(struct fake *f, uint64_t features)
{
    wr(f, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
    wr(f, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)features);
    wr(f, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
    wr(f, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(features >> 32));
}

/* Section 3.1.1 steps 1-6; returns whether the device kept FEATURES_OK. */
static bool negotiate(struct fake *f, uint64_t features)
{
    wr(f, VIRTIO_MMIO_STATUS, 0);
    wr(f, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE);
    wr(f, VIRTIO_MMIO_STATUS, STATUS_BEFORE);
    write_features(f, features);
    wr(f, VIRTIO_MMIO_STATUS, STATUS_BEFORE | VIRTIO_CONFIG_S_FEATURES_OK);
    return rd(f, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_FEATURES_OK;
}

static void setup_queue(struct fake *f, unsigned q, uint32_t size)
{
    wr(f, VIRTIO_MMIO_QUEUE_SEL, q);
    wr(f, VIRTIO_MMIO_QUEUE_NUM, size);
    wr(f, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)DESC_GPA(q));
    wr(f, VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(DESC_GPA(q) >> 32));
    wr(f, VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)AVAIL_GPA(q));
    wr(f, VIRTIO_MMIO_QUEUE_AVAIL_HIGH, 0);
    wr(f, VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)USED_GPA(q));
    wr(f, VIRTIO_MMIO_QUEUE_USED_HIGH, 0);
    wr(f, VIRTIO_MMIO_QUEUE_READY, 1);
}

/* A fully initialised device: features, both queues, DRIVER_OK. */
static void bring_up(struct fake *f)
{
    memset(f->notified, 0, sizeof(f->notified));
    assert_true(negotiate(f, ALL_FEATURES));
    setup_queue(f, 0, QMAX);
    setup_queue(f, 1, 4);
    wr(f, VIRTIO_MMIO_STATUS,
       STATUS_BEFORE | VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
    /* DRIVER_OK lets the device look at each queue once; count from here on. */
    assert_int_equal(f->notified[0], 1);
    assert_int_equal(f->notified[1], 1);
    memset(f->notified, 0, sizeof(f->notified));
}

/* Put a one-descriptor chain on queue q. */
static void add_buffer(struct fake *f, unsigned q)
{
    struct vring_desc *desc = (struct vring_desc *)(f->mem.host + (DESC_GPA(q) - BASE));
    struct vring_avail *avail = (struct vring_avail *)(f->mem.host + (AVAIL_GPA(q) - BASE));
    uint16_t idx = le16toh(avail->idx);
    uint32_t size = f->dev.queues[q].size;

    desc[0].addr = htole64(DATA_GPA);
    desc[0].len = htole32(64);
    desc[0].flags = htole16(VRING_DESC_F_WRITE);
    avail->ring[idx % size] = 0;
    avail->idx = htole16(idx + 1);
}

static uint16_t used_idx(struct fake *f, unsigned q)
{
    struct vring_used *used = (struct vring_used *)(f->mem.host + (USED_GPA(q) - BASE));
    return le16toh(used->idx);
}

/* ---- tests --------------------------------------------------------------- */

static void identifies_itself(void **state)
{
    struct fake *f = *state;

    assert_int_equal(rd(f, VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
    assert_int_equal(rd(f, VIRTIO_MMIO_VERSION), 2);
    assert_int_equal(rd(f, VIRTIO_MMIO_DEVICE_ID), 42);
    assert_int_equal(rd(f, VIRTIO_MMIO_VENDOR_ID), VIRTIO_MMIO_VENDOR_GOD);
    assert_int_equal(rd(f, VIRTIO_MMIO_STATUS), 0);
}

static void region_for_the_bus(void **state)
{
    struct fake *f = *state;
    struct mmio_region r = virtio_mmio_region(&f->dev);

    assert_string_equal(r.name, "virtio-fake@0a000600");
    assert_int_equal(r.base, VIRTIO_MMIO_BASE + 0x600);
    assert_int_equal(r.size, VIRTIO_MMIO_SIZE);
    assert_ptr_equal(r.opaque, &f->dev);
    assert_string_equal(r.reg_name(r.opaque, VIRTIO_MMIO_QUEUE_NOTIFY), "QueueNotify");
    assert_string_equal(r.reg_name(r.opaque, VIRTIO_MMIO_QUEUE_AVAIL_LOW), "QueueDriverLow");
    assert_string_equal(r.reg_name(r.opaque, 0x104), "Config");
    assert_null(r.reg_name(r.opaque, 0x0f0));
}

static void init_rejects_bad_ops(void **state)
{
    struct fake *f = *state;
    struct virtio_mmio dev;
    struct virtio_device_ops ops = f->ops;
    struct irq_line irq = {0};

    ops.queue_max = 12;
    assert_int_equal(virtio_mmio_init(&dev, &ops, f, &f->mem, 0, irq), -EINVAL);
    ops = f->ops;
    ops.num_queues = VIRTIO_MMIO_MAX_QUEUES + 1;
    assert_int_equal(virtio_mmio_init(&dev, &ops, f, &f->mem, 0, irq), -EINVAL);
    ops = f->ops;
    ops.notify = NULL;
    assert_int_equal(virtio_mmio_init(&dev, &ops, f, &f->mem, 0, irq), -EINVAL);
}

static void device_features_in_pages(void **state)
{
    struct fake *f = *state;
    uint32_t low, high;

    wr(f, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
    low = rd(f, VIRTIO_MMIO_DEVICE_FEATURES);
    wr(f, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
    high = rd(f, VIRTIO_MMIO_DEVICE_FEATURES);
    assert_int_equal(low, (uint32_t)(FAKE_FEATURE | (1ULL << VIRTIO_RING_F_EVENT_IDX) |
                                     (1ULL << VIRTIO_RING_F_INDIRECT_DESC)));
    assert_int_equal(high, 1); /* VIRTIO_F_VERSION_1 is bit 32 */
    wr(f, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 2);
    assert_int_equal(rd(f, VIRTIO_MMIO_DEVICE_FEATURES), 0);
}

static void features_ok_needs_version_1(void **state)
{
    struct fake *f = *state;

    assert_false(negotiate(f, FAKE_FEATURE));
    assert_true(negotiate(f, FAKE_FEATURE | VERSION_1));
}

static void features_ok_refuses_unoffered_bits(void **state)
{
    struct fake *f = *state;

    assert_false(negotiate(f, VERSION_1 | (1ULL << 5)));
    assert_false(negotiate(f, VERSION_1 | (1ULL << 40)));
}

static void features_frozen_after_features_ok(void **state)
{
    struct fake *f = *state;

    assert_true(negotiate(f, VERSION_1));
    wr(f, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
    wr(f, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)FAKE_FEATURE);
    assert_int_equal(f->dev.driver_features, VERSION_1);
}

static void driver_ok_needs_features_ok(void **state)
{
    struct fake *f = *state;

    wr(f, VIRTIO_MMIO_STATUS, STATUS_BEFORE);
    wr(f, VIRTIO_MMIO_STATUS, STATUS_BEFORE | VIRTIO_CONFIG_S_DRIVER_OK);
    assert_int_equal(rd(f, VIRTIO_MMIO_STATUS), STATUS_BEFORE);
}

static void status_bits_cannot_be_cleared(void **state)
{
    struct fake *f = *state;

    wr(f, VIRTIO_MMIO_STATUS, STATUS_BEFORE);
    wr(f, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE);
    assert_int_equal(rd(f, VIRTIO_MMIO_STATUS), STATUS_BEFORE);
}

static void queue_setup_and_ready(void **state)
{
    struct fake *f = *state;

    assert_true(negotiate(f, ALL_FEATURES));
    wr(f, VIRTIO_MMIO_QUEUE_SEL, 1);
    assert_int_equal(rd(f, VIRTIO_MMIO_QUEUE_NUM_MAX), QMAX);
    assert_int_equal(rd(f, VIRTIO_MMIO_QUEUE_READY), 0);
    setup_queue(f, 1, 8);
    assert_int_equal(rd(f, VIRTIO_MMIO_QUEUE_READY), 1);
    assert_int_equal(f->dev.queues[1].desc_gpa, DESC_GPA(1));
    assert_true(f->dev.queues[1].event_idx);
    assert_false(f->dev.queues[1].indirect); /* offered, but not accepted */

    /* Set-up writes to a live queue are ignored. */
    unsigned warnings = log_warning_count();
    wr(f, VIRTIO_MMIO_QUEUE_NUM, 4);
    wr(f, VIRTIO_MMIO_QUEUE_DESC_LOW, 0);
    assert_int_equal(f->dev.queues[1].size, 8);
    assert_int_equal(f->dev.queues[1].desc_gpa, DESC_GPA(1));
    assert_true(log_warning_count() >= warnings + 2);

    /* Writing 0 to QueueReady takes it down again (what Linux does on removal). */
    wr(f, VIRTIO_MMIO_QUEUE_READY, 0);
    assert_int_equal(rd(f, VIRTIO_MMIO_QUEUE_READY), 0);
}

static void queue_sel_beyond_queues(void **state)
{
    struct fake *f = *state;
    unsigned warnings = log_warning_count();

    assert_true(negotiate(f, ALL_FEATURES));
    wr(f, VIRTIO_MMIO_QUEUE_SEL, 2);
    assert_true(log_warning_count() > warnings);
    assert_int_equal(rd(f, VIRTIO_MMIO_QUEUE_NUM_MAX), 0); /* "not available" */
    wr(f, VIRTIO_MMIO_QUEUE_NUM, 8);
    wr(f, VIRTIO_MMIO_QUEUE_READY, 1);
    assert_int_equal(rd(f, VIRTIO_MMIO_QUEUE_READY), 0);
    for (unsigned i = 0; i < VIRTIO_MMIO_MAX_QUEUES; i++)
        assert_false(f->dev.queues[i].ready);
}

static void bad_queue_size_needs_reset(void **state)
{
    struct fake *f = *state;

    assert_true(negotiate(f, ALL_FEATURES));
    setup_queue(f, 0, 12); /* not a power of two */
    assert_int_equal(rd(f, VIRTIO_MMIO_QUEUE_READY), 0);
    assert_true(rd(f, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);

    assert_true(negotiate(f, ALL_FEATURES)); /* reset clears it */
    setup_queue(f, 0, QMAX * 2);             /* above QueueNumMax */
    assert_true(rd(f, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
}

static void notify_before_driver_ok_is_ignored(void **state)
{
    struct fake *f = *state;

    assert_true(negotiate(f, ALL_FEATURES));
    setup_queue(f, 0, QMAX);
    add_buffer(f, 0);
    unsigned warnings = log_warning_count();
    wr(f, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
    assert_int_equal(f->notified[0], 0);
    assert_true(log_warning_count() > warnings);
    assert_int_equal(used_idx(f, 0), 0);
}

static void buffers_posted_before_driver_ok(void **state)
{
    struct fake *f = *state;

    assert_true(negotiate(f, ALL_FEATURES));
    setup_queue(f, 0, QMAX);
    add_buffer(f, 0);
    assert_int_equal(used_idx(f, 0), 0);
    wr(f, VIRTIO_MMIO_STATUS,
       STATUS_BEFORE | VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
    assert_int_equal(f->notified[0], 1);
    assert_int_equal(f->notified[1], 0); /* never set up */
    assert_int_equal(used_idx(f, 0), 1);
    assert_true(gic_take(f));
}

static void notify_runs_device_and_interrupts(void **state)
{
    struct fake *f = *state;

    bring_up(f);
    add_buffer(f, 1);
    wr(f, VIRTIO_MMIO_QUEUE_NOTIFY, 1);
    assert_int_equal(f->notified[1], 1);
    assert_int_equal(f->notified[0], 0);
    assert_int_equal(used_idx(f, 1), 1);

    /* Used-buffer interrupt: bit 0, and one edge (a pulse: the line is low again). */
    assert_int_equal(rd(f, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_VRING);
    assert_true(gic_take(f));
    assert_int_equal(f->raises, 1);
    assert_int_equal(f->lowers, 1);
    wr(f, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
    assert_int_equal(rd(f, VIRTIO_MMIO_INTERRUPT_STATUS), 0);

    /* A kick with nothing new: no interrupt. */
    wr(f, VIRTIO_MMIO_QUEUE_NOTIFY, 1);
    assert_int_equal(f->notified[1], 2);
    assert_false(gic_take(f));
    assert_int_equal(f->raises, 1);
}

static void notify_for_missing_queue(void **state)
{
    struct fake *f = *state;
    unsigned warnings = log_warning_count();

    bring_up(f);
    wr(f, VIRTIO_MMIO_QUEUE_NOTIFY, 2);
    virtio_mmio_queue_notify(&f->dev, 1000);
    assert_int_equal(f->notified[0] + f->notified[1], 0);
    assert_true(log_warning_count() >= warnings + 2);
}

static void *notify_thread(void *arg)
{
    struct fake *f = arg;
    virtio_mmio_queue_notify(&f->dev, 0);
    return NULL;
}

static void notify_from_another_thread(void **state)
{
    struct fake *f = *state;
    pthread_t t;

    bring_up(f);
    add_buffer(f, 0);
    assert_int_equal(pthread_create(&t, NULL, notify_thread, f), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(used_idx(f, 0), 1);
    assert_true(gic_take(f));
}

static void broken_ring_sets_needs_reset(void **state)
{
    struct fake *f = *state;

    bring_up(f);
    f->notify_result = -EINVAL; /* the device found a malformed chain */
    add_buffer(f, 0);
    wr(f, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
    assert_true(rd(f, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
    /* The used buffer and the config change (section 2.1.2) are both announced. */
    assert_int_equal(rd(f, VIRTIO_MMIO_INTERRUPT_STATUS),
                     VIRTIO_MMIO_INT_VRING | VIRTIO_MMIO_INT_CONFIG);

    /* The driver writing back what it read does not clear NEEDS_RESET... */
    wr(f, VIRTIO_MMIO_STATUS,
       STATUS_BEFORE | VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
    assert_true(rd(f, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
    /* ...and the device is not run again until a reset. */
    wr(f, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
    assert_int_equal(f->notified[0], 1);
    assert_null(virtio_mmio_queue_begin(&f->dev, 0));
    virtio_mmio_queue_end(&f->dev, 0, 0);
}

static void reset_clears_everything(void **state)
{
    struct fake *f = *state;

    bring_up(f);
    add_buffer(f, 0);
    wr(f, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
    assert_int_equal(rd(f, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_VRING);

    wr(f, VIRTIO_MMIO_STATUS, 0);
    assert_int_equal(rd(f, VIRTIO_MMIO_STATUS), 0);
    assert_int_equal(rd(f, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
    assert_false(f->irq_level);
    assert_true(f->resets >= 1);
    wr(f, VIRTIO_MMIO_QUEUE_SEL, 0);
    assert_int_equal(rd(f, VIRTIO_MMIO_QUEUE_READY), 0);
    assert_int_equal(f->dev.queues[0].used_idx, 0);
    assert_int_equal(f->dev.driver_features, 0);

    /* And it comes back up from scratch. */
    memset(f->mem.host, 0, RAM_SIZE);
    bring_up(f);
    add_buffer(f, 0);
    wr(f, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
    assert_int_equal(used_idx(f, 0), 1);
}

static void config_space_widths(void **state)
{
    struct fake *f = *state;

    assert_int_equal(virtio_mmio_read(&f->dev, 0x100, 1), 0x10);
    assert_int_equal(virtio_mmio_read(&f->dev, 0x103, 1), 0x13);
    assert_int_equal(virtio_mmio_read(&f->dev, 0x102, 2), 0x1312);
    assert_int_equal(virtio_mmio_read(&f->dev, 0x104, 4), 0x17161514);

    virtio_mmio_write(&f->dev, 0x102, 2, 0xbeef);
    assert_int_equal(f->config[2], 0xef);
    assert_int_equal(f->config[3], 0xbe);

    unsigned warnings = log_warning_count();
    assert_int_equal(virtio_mmio_read(&f->dev, 0x100, 8), 0); /* 64-bit: two 32-bit reads */
    assert_int_equal(virtio_mmio_read(&f->dev, 0x101, 2), 0); /* unaligned */
    assert_int_equal(virtio_mmio_read(&f->dev, 0x108, 1), 0); /* past the end */
    assert_int_equal(virtio_mmio_read(&f->dev, 0x106, 4), 0); /* straddles the end */
    virtio_mmio_write(&f->dev, 0x108, 4, 0xffffffff);
    assert_int_equal(log_warning_count(), warnings + 5);
}

static void registers_need_aligned_32_bit_access(void **state)
{
    struct fake *f = *state;
    unsigned warnings = log_warning_count();

    assert_int_equal(virtio_mmio_read(&f->dev, VIRTIO_MMIO_MAGIC_VALUE, 2), 0);
    assert_int_equal(virtio_mmio_read(&f->dev, VIRTIO_MMIO_MAGIC_VALUE, 8), 0);
    assert_int_equal(virtio_mmio_read(&f->dev, VIRTIO_MMIO_VERSION + 1, 1), 0);
    virtio_mmio_write(&f->dev, VIRTIO_MMIO_STATUS, 1, VIRTIO_CONFIG_S_ACKNOWLEDGE);
    virtio_mmio_write(&f->dev, VIRTIO_MMIO_STATUS + 2, 4, VIRTIO_CONFIG_S_ACKNOWLEDGE);
    assert_int_equal(rd(f, VIRTIO_MMIO_STATUS), 0);
    assert_int_equal(log_warning_count(), warnings + 5);
}

static void unknown_and_read_only_registers(void **state)
{
    struct fake *f = *state;
    unsigned warnings = log_warning_count();

    assert_int_equal(rd(f, VIRTIO_MMIO_QUEUE_PFN), 0); /* legacy (version 1) only */
    wr(f, VIRTIO_MMIO_MAGIC_VALUE, 0);
    wr(f, VIRTIO_MMIO_INTERRUPT_STATUS, 3);
    assert_int_equal(rd(f, VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
    assert_int_equal(log_warning_count(), warnings + 3);
}

static void config_change_interrupt(void **state)
{
    struct fake *f = *state;

    /* Before DRIVER_OK nobody is listening: only the generation moves. */
    uint32_t gen = rd(f, VIRTIO_MMIO_CONFIG_GENERATION);
    virtio_mmio_config_changed(&f->dev);
    assert_int_equal(rd(f, VIRTIO_MMIO_CONFIG_GENERATION), gen + 1);
    assert_false(gic_take(f));

    bring_up(f);
    virtio_mmio_config_changed(&f->dev);
    assert_int_equal(rd(f, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_CONFIG);
    assert_true(gic_take(f));
    wr(f, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_CONFIG);
    assert_int_equal(rd(f, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
    assert_false(gic_take(f));
}

/*
 * Issue 8 item 6. Linux's vm_interrupt() (drivers/virtio/virtio_mmio.c)
 * reads InterruptStatus and writes back exactly what it read. A bit the
 * device sets in between (here a config change) stays set after the ACK.
 * A device that pulsed its edge only when InterruptStatus left 0 would
 * send none for it, and never be heard again; ours pulses for every bit
 * that rises, so the GIC has the interrupt pending again after EOI.
 */
static void partial_ack_keeps_the_device_heard(void **state)
{
    struct fake *f = *state;

    bring_up(f);
    add_buffer(f, 0);
    wr(f, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
    assert_true(gic_take(f));
    uint32_t seen = rd(f, VIRTIO_MMIO_INTERRUPT_STATUS);
    assert_int_equal(seen, VIRTIO_MMIO_INT_VRING);
    virtio_mmio_config_changed(&f->dev); /* on another thread, between the read and the ACK */
    wr(f, VIRTIO_MMIO_INTERRUPT_ACK, seen);
    /* EOI. The config change is still owed an interrupt. */
    assert_true(gic_take(f));
    seen = rd(f, VIRTIO_MMIO_INTERRUPT_STATUS);
    assert_int_equal(seen, VIRTIO_MMIO_INT_CONFIG);
    wr(f, VIRTIO_MMIO_INTERRUPT_ACK, seen);
    assert_false(gic_take(f));
    assert_false(f->irq_level);
}

/* ---- one edge per rising bit (irq_raise() in virtio_mmio.c) -------------- */

/* The driver asks for an interrupt at the next used buffer of queue q (used_event, 2.7.10). */
static void want_next_interrupt(struct fake *f, unsigned q)
{
    struct vring_avail *avail = (struct vring_avail *)(f->mem.host + (AVAIL_GPA(q) - BASE));
    avail->ring[f->dev.queues[q].size] = htole16(used_idx(f, q));
}

/* A device brought up, with one used-buffer interrupt sent and taken by the guest's CPU. */
static void interrupting(struct fake *f)
{
    bring_up(f);
    f->raises = f->lowers = 0;
    add_buffer(f, 1);
    wr(f, VIRTIO_MMIO_QUEUE_NOTIFY, 1);
    assert_int_equal(rd(f, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_VRING);
    assert_true(gic_take(f));
    assert_int_equal(f->raises, 1);
}

/* Every interrupt is a pulse: the device never leaves its edge-triggered line high. */
static void the_line_is_only_ever_pulsed(void **state)
{
    struct fake *f = *state;

    assert_true(f->gic_edge); /* the device tree says edge-rising */
    interrupting(f);
    assert_false(f->irq_level);
    assert_int_equal(f->lowers, f->raises);
    wr(f, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
    assert_int_equal(f->lowers, 1); /* the ACK has nothing to lower */
}

/* A bit set again while still set is no news: its driver has yet to acknowledge it. */
static void a_set_bit_sends_no_second_edge(void **state)
{
    struct fake *f = *state;

    interrupting(f);
    want_next_interrupt(f, 1);
    add_buffer(f, 1);
    wr(f, VIRTIO_MMIO_QUEUE_NOTIFY, 1);
    assert_int_equal(f->dev.used_notifications, 2); /* the driver did ask... */
    assert_int_equal(f->raises, 1);                 /* ...and bit 0 was already set */
    assert_false(gic_take(f));
    virtio_mmio_config_changed(&f->dev); /* a new bit: a new edge */
    assert_int_equal(f->raises, 2);
    assert_true(gic_take(f));
}

/*
 * Linux's handler reads InterruptStatus, acknowledges what it read, then
 * looks at the rings, and EOIs at the end. A completion after the ACK sets
 * bit 0 again: a new edge, pending behind the active interrupt, so the
 * guest takes the interrupt again after its EOI.
 */
static void completion_after_the_ack_is_a_new_edge(void **state)
{
    struct fake *f = *state;

    interrupting(f);
    uint32_t seen = rd(f, VIRTIO_MMIO_INTERRUPT_STATUS);
    wr(f, VIRTIO_MMIO_INTERRUPT_ACK, seen);
    want_next_interrupt(f, 1);
    add_buffer(f, 1);
    wr(f, VIRTIO_MMIO_QUEUE_NOTIFY, 1); /* the worker completes it */
    assert_int_equal(rd(f, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_VRING);
    assert_int_equal(f->raises, 2);
    assert_true(gic_take(f));
}

/* A reset clears InterruptStatus, so the first interrupt after it is a new edge. */
static void first_interrupt_after_a_reset_is_an_edge(void **state)
{
    struct fake *f = *state;

    interrupting(f);
    wr(f, VIRTIO_MMIO_STATUS, 0);
    assert_int_equal(rd(f, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
    memset(f->mem.host, 0, RAM_SIZE);
    bring_up(f);
    add_buffer(f, 1);
    wr(f, VIRTIO_MMIO_QUEUE_NOTIFY, 1);
    assert_int_equal(f->raises, 2);
    assert_true(gic_take(f));
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(identifies_itself),
        T(region_for_the_bus),
        T(init_rejects_bad_ops),
        T(device_features_in_pages),
        T(features_ok_needs_version_1),
        T(features_ok_refuses_unoffered_bits),
        T(features_frozen_after_features_ok),
        T(driver_ok_needs_features_ok),
        T(status_bits_cannot_be_cleared),
        T(queue_setup_and_ready),
        T(queue_sel_beyond_queues),
        T(bad_queue_size_needs_reset),
        T(notify_before_driver_ok_is_ignored),
        T(buffers_posted_before_driver_ok),
        T(notify_runs_device_and_interrupts),
        T(notify_for_missing_queue),
        T(notify_from_another_thread),
        T(broken_ring_sets_needs_reset),
        T(reset_clears_everything),
        T(config_space_widths),
        T(registers_need_aligned_32_bit_access),
        T(unknown_and_read_only_registers),
        T(config_change_interrupt),
        T(partial_ack_keeps_the_device_heard),
        T(the_line_is_only_ever_pulsed),
        T(a_set_bit_sends_no_second_edge),
        T(completion_after_the_ack_is_a_new_edge),
        T(first_interrupt_after_a_reset_is_an_edge),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}

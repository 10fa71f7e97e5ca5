/*
 * virtio_mmio.c - the virtio-mmio transport, version 2 (introduced in chapter 8).
 *
 * The register layout is virtio 1.2 section 4.2.2; the driver's side of the
 * conversation is section 3.1.1 (device initialization) and 4.2.3. Anything
 * the guest does that the spec forbids is logged (rate-limited) and ignored:
 * a misbehaving driver must never crash or wedge the VMM.
 */
#include "virtio_mmio.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>

#include "log.h"
#include "memmap.h"

#define VIRTIO_MMIO_MAGIC 0x74726976 /* "virt" in little-endian ASCII */

#define BIT64(n) (1ULL << (n))

/* Features the transport and virtqueue.c implement for every device. */
#define TRANSPORT_FEATURES                                                                         \
    (BIT64(VIRTIO_F_VERSION_1) | BIT64(VIRTIO_RING_F_EVENT_IDX) |                                  \
     BIT64(VIRTIO_RING_F_INDIRECT_DESC))

static uint64_t offered_features(const struct virtio_mmio *dev)
{
    return dev->ops->features | TRANSPORT_FEATURES;
}

/* ---- interrupts (section 4.2.2: InterruptStatus, InterruptACK) ---------- */

/*
 * The line is edge-triggered (common/devicetree.c), so the device pulses it
 * once for every InterruptStatus bit that goes from 0 to 1, and never for a
 * bit already set. That is enough for a driver that acknowledges exactly the
 * bits it read (Linux's vm_interrupt() in drivers/virtio/virtio_mmio.c) and
 * then looks at the rings and the config: a bit set before its read, it
 * sees; a bit that rises after its read, or after its InterruptACK cleared
 * it, gets a new edge, which the GIC keeps pending (behind the active
 * interrupt, if the handler is still running) and delivers again. A bit set
 * again while still set needs nothing: the driver has yet to read it, or it
 * will acknowledge it and only then look at what it means.
 */
static void irq_raise(struct virtio_mmio *dev, uint32_t bits)
{
    uint32_t rising = bits & ~dev->interrupt_status;
    dev->interrupt_status |= bits;
    if (rising)
        irq_line_pulse(&dev->irq);
}

/*
 * Section 2.1.2: the device sets DEVICE_NEEDS_RESET when it cannot go on,
 * and if the driver is already running it must be told with a config-change
 * interrupt. Until the driver resets us we process nothing.
 */
static void device_needs_reset(struct virtio_mmio *dev)
{
    if (dev->status & VIRTIO_CONFIG_S_NEEDS_RESET)
        return;
    dev->status |= VIRTIO_CONFIG_S_NEEDS_RESET;
    if (dev->status & VIRTIO_CONFIG_S_DRIVER_OK)
        irq_raise(dev, VIRTIO_MMIO_INT_CONFIG);
}

/* ---- running the device on a queue --------------------------------------- */

/* May the device use queue `index` right now? */
static struct virtq *live_queue(struct virtio_mmio *dev, unsigned index)
{
    if (index >= dev->ops->num_queues)
        return NULL;
    if (!(dev->status & VIRTIO_CONFIG_S_DRIVER_OK) || (dev->status & VIRTIO_CONFIG_S_NEEDS_RESET))
        return NULL;
    struct virtq *vq = &dev->queues[index];
    return vq->ready ? vq : NULL;
}

/* After work on a queue: a broken ring stops the device; completed buffers may interrupt. */
static void queue_finish(struct virtio_mmio *dev, unsigned index, int err)
{
    if (err < 0 && err != -EAGAIN)
        device_needs_reset(dev);
    /* Even after an error, buffers completed before it are owed an interrupt. */
    if (index < dev->ops->num_queues && dev->queues[index].ready &&
        virtq_should_notify(&dev->queues[index])) {
        dev->used_notifications++;
        irq_raise(dev, VIRTIO_MMIO_INT_VRING);
    }
}

/* Let the device process queue `index`, if it is live. Lock held. */
static bool queue_run(struct virtio_mmio *dev, unsigned index)
{
    struct virtq *vq = live_queue(dev, index);
    if (!vq)
        return false;
    queue_finish(dev, index, dev->ops->notify(dev->ctx, vq, index));
    return true;
}

/* ---- device status (section 2.1) ----------------------------------------- */

/* Section 2.4: a reset returns the device, and all its queues, to the state after power-on. */
static void device_reset(struct virtio_mmio *dev)
{
    dev->status = 0;
    dev->device_features_sel = 0;
    dev->driver_features_sel = 0;
    dev->driver_features = 0;
    dev->queue_sel = 0;
    dev->interrupt_status = 0;
    dev->deferred = 0;
    dev->owed = 0;
    dev->epoch++; /* batches in flight belong to the driver that is gone */
    for (unsigned i = 0; i < VIRTIO_MMIO_MAX_QUEUES; i++)
        virtq_reset(&dev->queues[i]);
    if (dev->ops->reset)
        dev->ops->reset(dev->ctx);
}

/*
 * Section 3.1.1 step 5-6: the driver writes FEATURES_OK, then reads Status
 * back; if we left the bit clear, it knows we refused its feature subset.
 * We refuse features we never offered, and drivers without VIRTIO_F_VERSION_1
 * (a legacy driver cannot use a version 2 virtio-mmio device, section 4.2.4).
 */
static bool features_acceptable(const struct virtio_mmio *dev)
{
    static unsigned warned;
    uint64_t unknown = dev->driver_features & ~offered_features(dev);

    if (unknown) {
        log_warn_limited(&warned, "%s: driver accepted features %#llx we never offered", dev->name,
                         (unsigned long long)unknown);
        return false;
    }
    if (!(dev->driver_features & BIT64(VIRTIO_F_VERSION_1))) {
        log_warn_limited(&warned, "%s: driver did not accept VIRTIO_F_VERSION_1", dev->name);
        return false;
    }
    return true;
}

static void status_write(struct virtio_mmio *dev, uint32_t value)
{
    static unsigned warned;
    uint32_t old = dev->status;

    if (value == 0) {
        device_reset(dev);
        return;
    }
    /* NEEDS_RESET is ours: a driver writing back an older status must not clear it. */
    value |= old & VIRTIO_CONFIG_S_NEEDS_RESET;

    /* Section 2.1.1: the driver never clears a bit (except by writing 0). */
    if ((value & old) != old) {
        log_warn_limited(&warned, "%s: status %#x -> %#x clears bits; ignored", dev->name, old,
                         value);
        return;
    }
    if ((value & VIRTIO_CONFIG_S_FEATURES_OK) && !(old & VIRTIO_CONFIG_S_FEATURES_OK) &&
        !features_acceptable(dev))
        value &= ~VIRTIO_CONFIG_S_FEATURES_OK;
    if ((value & VIRTIO_CONFIG_S_DRIVER_OK) && !(value & VIRTIO_CONFIG_S_FEATURES_OK)) {
        log_warn_limited(&warned, "%s: DRIVER_OK without FEATURES_OK; ignored", dev->name);
        value &= ~VIRTIO_CONFIG_S_DRIVER_OK;
    }
    dev->status = value;

    /*
     * The driver may have made buffers available before DRIVER_OK (it may
     * not kick before it, section 3.1.1): let the device look at every
     * queue once now, so such buffers are never left waiting for a kick
     * that will not come.
     */
    if ((value & VIRTIO_CONFIG_S_DRIVER_OK) && !(old & VIRTIO_CONFIG_S_DRIVER_OK)) {
        for (unsigned i = 0; i < dev->ops->num_queues; i++) {
            /* A device that blocks cannot run here, under the lock: later, without it. */
            if (dev->ops->kick)
                dev->deferred |= live_queue(dev, i) ? 1u << i : 0;
            else
                queue_run(dev, i);
        }
    }
}

/* ---- queues -------------------------------------------------------------- */

/* The queue QueueSel points at, or NULL when it selects none. */
static struct virtq *selected_queue(struct virtio_mmio *dev)
{
    if (dev->queue_sel >= dev->ops->num_queues)
        return NULL;
    return &dev->queues[dev->queue_sel];
}

static void queue_ready_write(struct virtio_mmio *dev, uint32_t value)
{
    static unsigned warned;
    struct virtq *vq = selected_queue(dev);

    if (!vq) {
        log_warn_limited(&warned, "%s: QueueReady for missing queue %u; ignored", dev->name,
                         dev->queue_sel);
        return;
    }
    if (value == 0) {
        vq->ready = false; /* the driver is tearing the queue down */
        dev->epoch++;
        return;
    }
    if (vq->ready)
        return;
    int err = virtq_enable(vq, dev->mem, dev->ops->queue_max, dev->driver_features);
    if (err) {
        log_warn_limited(&warned, "%s: queue %u: bad size %u or rings (desc %#llx, %s)", dev->name,
                         dev->queue_sel, vq->size, (unsigned long long)vq->desc_gpa,
                         err == -EFAULT ? "outside guest RAM" : "misaligned or bad size");
        device_needs_reset(dev);
    }
}

/* Set the low or high half of a 64-bit queue address register pair. */
static void set_half(uint64_t *reg, bool high, uint32_t value)
{
    if (high)
        *reg = (*reg & 0xffffffffULL) | ((uint64_t)value << 32);
    else
        *reg = (*reg & ~0xffffffffULL) | value;
}

/*
 * QueueNum and the ring addresses. The device may already be using a ready
 * queue from another thread, so they only change while it is not ready.
 */
static void queue_setup_write(struct virtio_mmio *dev, uint64_t offset, uint32_t value)
{
    static unsigned warned;
    struct virtq *vq = selected_queue(dev);

    if (!vq || vq->ready) {
        log_warn_limited(&warned, "%s: queue set-up write at %#llx to queue %u while %s; ignored",
                         dev->name, (unsigned long long)offset, dev->queue_sel,
                         vq ? "it is ready" : "no such queue");
        return;
    }
    switch (offset) {
    case VIRTIO_MMIO_QUEUE_NUM:
        vq->size = value;
        break;
    case VIRTIO_MMIO_QUEUE_DESC_LOW:
    case VIRTIO_MMIO_QUEUE_DESC_HIGH:
        set_half(&vq->desc_gpa, offset == VIRTIO_MMIO_QUEUE_DESC_HIGH, value);
        break;
    case VIRTIO_MMIO_QUEUE_AVAIL_LOW:
    case VIRTIO_MMIO_QUEUE_AVAIL_HIGH:
        set_half(&vq->avail_gpa, offset == VIRTIO_MMIO_QUEUE_AVAIL_HIGH, value);
        break;
    case VIRTIO_MMIO_QUEUE_USED_LOW:
    case VIRTIO_MMIO_QUEUE_USED_HIGH:
        set_half(&vq->used_gpa, offset == VIRTIO_MMIO_QUEUE_USED_HIGH, value);
        break;
    }
}

/* ---- config space (section 4.2.2, from offset 0x100) -------------------- */

/*
 * Section 4.2.2.2: config fields are accessed with their own width (8, 16
 * or 32 bits; a 64-bit field as two 32-bit halves), naturally aligned.
 */
static bool config_access_ok(struct virtio_mmio *dev, uint64_t offset, unsigned width)
{
    static unsigned warned;

    if ((width != 1 && width != 2 && width != 4) || offset % width != 0) {
        log_warn_limited(&warned, "%s: %u-byte config access at %#llx; ignored", dev->name, width,
                         (unsigned long long)offset);
        return false;
    }
    if (offset + width > dev->ops->config_size) {
        log_warn_limited(&warned, "%s: config access at %#llx past its %u bytes; ignored",
                         dev->name, (unsigned long long)offset, dev->ops->config_size);
        return false;
    }
    return true;
}

static uint64_t config_read(struct virtio_mmio *dev, uint64_t offset, unsigned width)
{
    uint8_t bytes[4] = {0};
    uint64_t value = 0;

    if (!config_access_ok(dev, offset, width))
        return 0;
    dev->ops->config_read(dev->ctx, (uint32_t)offset, bytes, width);
    for (unsigned i = 0; i < width; i++) /* the config space is little-endian */
        value |= (uint64_t)bytes[i] << (8 * i);
    return value;
}

static void config_write(struct virtio_mmio *dev, uint64_t offset, unsigned width, uint64_t value)
{
    static unsigned warned;
    uint8_t bytes[4];

    if (!config_access_ok(dev, offset, width))
        return;
    if (!dev->ops->config_write) {
        log_warn_limited(&warned, "%s: write to read-only config at %#llx; ignored", dev->name,
                         (unsigned long long)offset);
        return;
    }
    for (unsigned i = 0; i < width; i++)
        bytes[i] = (uint8_t)(value >> (8 * i));
    dev->ops->config_write(dev->ctx, (uint32_t)offset, bytes, width);
}

/* ---- the register window ------------------------------------------------- */

static bool register_access_ok(struct virtio_mmio *dev, uint64_t offset, unsigned width)
{
    static unsigned warned;

    /* Section 4.2.2.2: the control registers are accessed 32 bits at a time, aligned. */
    if (width != 4 || offset % 4 != 0) {
        log_warn_limited(&warned, "%s: %u-byte access to register %#llx; ignored", dev->name, width,
                         (unsigned long long)offset);
        return false;
    }
    return true;
}

static uint32_t register_read(struct virtio_mmio *dev, uint64_t offset)
{
    static unsigned warned;
    struct virtq *vq = selected_queue(dev);
    uint64_t features = offered_features(dev);

    switch (offset) {
    case VIRTIO_MMIO_MAGIC_VALUE:
        return VIRTIO_MMIO_MAGIC;
    case VIRTIO_MMIO_VERSION:
        return 2; /* the modern, virtio 1.x layout; 1 would be the legacy one */
    case VIRTIO_MMIO_DEVICE_ID:
        return dev->ops->device_id;
    case VIRTIO_MMIO_VENDOR_ID:
        return VIRTIO_MMIO_VENDOR_GOD;
    case VIRTIO_MMIO_DEVICE_FEATURES:
        /* 64 feature bits, shown 32 at a time; pages beyond 1 are all zero. */
        if (dev->device_features_sel == 0)
            return (uint32_t)features;
        if (dev->device_features_sel == 1)
            return (uint32_t)(features >> 32);
        return 0;
    case VIRTIO_MMIO_QUEUE_NUM_MAX:
        /* Section 4.2.2: zero means "this queue is not available". */
        return vq ? dev->ops->queue_max : 0;
    case VIRTIO_MMIO_QUEUE_READY:
        return vq ? vq->ready : 0;
    case VIRTIO_MMIO_INTERRUPT_STATUS:
        return dev->interrupt_status;
    case VIRTIO_MMIO_STATUS:
        return dev->status;
    case VIRTIO_MMIO_CONFIG_GENERATION:
        return dev->config_generation;
    default:
        log_warn_limited(&warned, "%s: read of %s register %#llx; returning 0", dev->name,
                         virtio_mmio_reg_name(dev, offset) ? "write-only" : "unknown",
                         (unsigned long long)offset);
        return 0;
    }
}

static void register_write(struct virtio_mmio *dev, uint64_t offset, uint32_t value)
{
    static unsigned warned;

    switch (offset) {
    case VIRTIO_MMIO_DEVICE_FEATURES_SEL:
        dev->device_features_sel = value;
        break;
    case VIRTIO_MMIO_DRIVER_FEATURES:
        /* Section 3.1.1: features are fixed once FEATURES_OK is set. */
        if (dev->status & VIRTIO_CONFIG_S_FEATURES_OK || dev->driver_features_sel > 1) {
            log_warn_limited(&warned, "%s: DriverFeatures write (page %u, status %#x); ignored",
                             dev->name, dev->driver_features_sel, dev->status);
            break;
        }
        set_half(&dev->driver_features, dev->driver_features_sel == 1, value);
        break;
    case VIRTIO_MMIO_DRIVER_FEATURES_SEL:
        dev->driver_features_sel = value;
        break;
    case VIRTIO_MMIO_QUEUE_SEL:
        /*
         * Recorded even when out of range, so that QueueNumMax then reads 0
         * ("no such queue") instead of describing the previous queue; every
         * other queue register ignores an out-of-range selection.
         */
        if (value >= dev->ops->num_queues)
            log_warn_limited(&warned, "%s: QueueSel %u, device has %u queues", dev->name, value,
                             dev->ops->num_queues);
        dev->queue_sel = value;
        break;
    case VIRTIO_MMIO_QUEUE_READY:
        queue_ready_write(dev, value);
        break;
    case VIRTIO_MMIO_QUEUE_NUM:
    case VIRTIO_MMIO_QUEUE_DESC_LOW:
    case VIRTIO_MMIO_QUEUE_DESC_HIGH:
    case VIRTIO_MMIO_QUEUE_AVAIL_LOW:
    case VIRTIO_MMIO_QUEUE_AVAIL_HIGH:
    case VIRTIO_MMIO_QUEUE_USED_LOW:
    case VIRTIO_MMIO_QUEUE_USED_HIGH:
        queue_setup_write(dev, offset, value);
        break;
    case VIRTIO_MMIO_INTERRUPT_ACK:
        dev->interrupt_status &= ~value; /* the line has nothing to lower: it was a pulse */
        break;
    case VIRTIO_MMIO_STATUS:
        status_write(dev, value);
        break;
    default:
        log_warn_limited(&warned, "%s: write of %#x to %s register %#llx; ignored", dev->name,
                         value, virtio_mmio_reg_name(dev, offset) ? "read-only" : "unknown",
                         (unsigned long long)offset);
        break;
    }
}

uint64_t virtio_mmio_read(void *opaque, uint64_t offset, unsigned width)
{
    struct virtio_mmio *dev = opaque;
    uint64_t value = 0;

    pthread_mutex_lock(&dev->lock);
    if (offset >= VIRTIO_MMIO_CONFIG)
        value = config_read(dev, offset - VIRTIO_MMIO_CONFIG, width);
    else if (register_access_ok(dev, offset, width))
        value = register_read(dev, offset);
    pthread_mutex_unlock(&dev->lock);
    return value;
}

void virtio_mmio_write(void *opaque, uint64_t offset, unsigned width, uint64_t value)
{
    struct virtio_mmio *dev = opaque;

    /*
     * QueueNotify is the one register whose handling can take long (the
     * device processes the queue): hand it to the same entry point an
     * ioeventfd worker uses, which takes the lock itself.
     */
    if (offset == VIRTIO_MMIO_QUEUE_NOTIFY && width == 4) {
        virtio_mmio_queue_notify(dev, (uint32_t)value);
        return;
    }

    pthread_mutex_lock(&dev->lock);
    if (offset >= VIRTIO_MMIO_CONFIG)
        config_write(dev, offset - VIRTIO_MMIO_CONFIG, width, value);
    else if (register_access_ok(dev, offset, width))
        register_write(dev, offset, (uint32_t)value);
    unsigned deferred = dev->deferred;
    dev->deferred = 0;
    void (*wake)(void *, unsigned) = dev->wake;
    void *wake_ctx = dev->wake_ctx;
    pthread_mutex_unlock(&dev->lock);

    /* Kicks that DRIVER_OK owes: to the device's worker if it has one, else here. */
    for (unsigned q = 0; deferred; q++, deferred >>= 1) {
        if (!(deferred & 1))
            continue;
        if (wake)
            wake(wake_ctx, q);
        else
            virtio_mmio_queue_notify(dev, q);
    }
}

const char *virtio_mmio_reg_name(void *opaque, uint64_t offset)
{
    (void)opaque;
    if (offset >= VIRTIO_MMIO_CONFIG)
        return "Config";
    switch (offset) {
    case VIRTIO_MMIO_MAGIC_VALUE:
        return "MagicValue";
    case VIRTIO_MMIO_VERSION:
        return "Version";
    case VIRTIO_MMIO_DEVICE_ID:
        return "DeviceID";
    case VIRTIO_MMIO_VENDOR_ID:
        return "VendorID";
    case VIRTIO_MMIO_DEVICE_FEATURES:
        return "DeviceFeatures";
    case VIRTIO_MMIO_DEVICE_FEATURES_SEL:
        return "DeviceFeaturesSel";
    case VIRTIO_MMIO_DRIVER_FEATURES:
        return "DriverFeatures";
    case VIRTIO_MMIO_DRIVER_FEATURES_SEL:
        return "DriverFeaturesSel";
    case VIRTIO_MMIO_QUEUE_SEL:
        return "QueueSel";
    case VIRTIO_MMIO_QUEUE_NUM_MAX:
        return "QueueNumMax";
    case VIRTIO_MMIO_QUEUE_NUM:
        return "QueueNum";
    case VIRTIO_MMIO_QUEUE_READY:
        return "QueueReady";
    case VIRTIO_MMIO_QUEUE_NOTIFY:
        return "QueueNotify";
    case VIRTIO_MMIO_INTERRUPT_STATUS:
        return "InterruptStatus";
    case VIRTIO_MMIO_INTERRUPT_ACK:
        return "InterruptACK";
    case VIRTIO_MMIO_STATUS:
        return "Status";
    case VIRTIO_MMIO_QUEUE_DESC_LOW:
        return "QueueDescLow";
    case VIRTIO_MMIO_QUEUE_DESC_HIGH:
        return "QueueDescHigh";
    case VIRTIO_MMIO_QUEUE_AVAIL_LOW:
        return "QueueDriverLow";
    case VIRTIO_MMIO_QUEUE_AVAIL_HIGH:
        return "QueueDriverHigh";
    case VIRTIO_MMIO_QUEUE_USED_LOW:
        return "QueueDeviceLow";
    case VIRTIO_MMIO_QUEUE_USED_HIGH:
        return "QueueDeviceHigh";
    case VIRTIO_MMIO_CONFIG_GENERATION:
        return "ConfigGeneration";
    default:
        return NULL;
    }
}

/* ---- notifications and queue work ---------------------------------------- */

struct virtq *virtio_mmio_queue_begin(struct virtio_mmio *dev, unsigned index)
{
    pthread_mutex_lock(&dev->lock);
    return live_queue(dev, index);
}

void virtio_mmio_queue_end(struct virtio_mmio *dev, unsigned index, int err)
{
    queue_finish(dev, index, err);
    pthread_mutex_unlock(&dev->lock);
}

/* ops->kick() for queue `index`, lock held on entry and exit, dropped around the call. */
static void queue_kick(struct virtio_mmio *dev, unsigned index)
{
    unsigned bit = 1u << index;

    if (dev->busy & bit) {
        dev->again |= bit; /* the thread already in kick() will look again */
        return;
    }
    dev->busy |= bit;
    do {
        dev->again &= ~bit;
        pthread_mutex_unlock(&dev->lock);
        dev->ops->kick(dev->ctx, index);
        pthread_mutex_lock(&dev->lock);
    } while ((dev->again & bit) && !dev->stopping);
    dev->busy &= ~bit;
}

void virtio_mmio_queue_notify(struct virtio_mmio *dev, unsigned index)
{
    static unsigned warned;

    pthread_mutex_lock(&dev->lock);
    bool ran = true;
    if (!dev->ops->kick)
        ran = queue_run(dev, index);
    else if (live_queue(dev, index))
        queue_kick(dev, index);
    else
        ran = false;
    if (!ran && !(dev->status & VIRTIO_CONFIG_S_NEEDS_RESET)) {
        /* Section 3.1.1: no notifications before DRIVER_OK, and only for real queues. */
        log_warn_limited(&warned, "%s: notify for queue %u (of %u) with status %#x; ignored",
                         dev->name, index, dev->ops->num_queues, dev->status);
    }
    pthread_mutex_unlock(&dev->lock);
}

unsigned virtio_mmio_queue_pop(struct virtio_mmio *dev, unsigned index, struct virtq_chain *chains,
                               unsigned max, struct virtio_mmio_batch *batch)
{
    unsigned n = 0;
    int err = 0;

    pthread_mutex_lock(&dev->lock);
    batch->epoch = dev->epoch;
    batch->features = dev->driver_features;
    struct virtq *vq = dev->stopping ? NULL : live_queue(dev, index);
    while (vq && n < max && (err = virtq_pop(vq, &chains[n])) == 0)
        n++;
    if (err < 0 && err != -EAGAIN)
        queue_finish(dev, index, err); /* NEEDS_RESET, and the interrupt earlier batches are owed */
    pthread_mutex_unlock(&dev->lock);
    return n;
}

/* The queue a batch was taken from, if the driver has not reset it since. Lock held. */
static struct virtq *batch_queue(struct virtio_mmio *dev, unsigned index,
                                 const struct virtio_mmio_batch *batch)
{
    struct virtq *vq = index < dev->ops->num_queues ? &dev->queues[index] : NULL;
    return batch->epoch == dev->epoch && vq && vq->ready ? vq : NULL;
}

/* Hand the chains back; returns their queue, NULL if they were dropped. Lock held. */
static struct virtq *publish_locked(struct virtio_mmio *dev, unsigned index,
                                    const struct virtio_mmio_batch *batch,
                                    const struct virtio_mmio_done *done, unsigned n)
{
    static unsigned warned;
    struct virtq *vq = batch_queue(dev, index, batch);

    if (!vq) {
        /* The driver reset the device (or the queue) while we worked: not its chains any more. */
        log_warn_limited(&warned, "%s: queue %u was reset during I/O; %u request(s) dropped",
                         dev->name, index, n);
        return NULL;
    }
    for (unsigned i = 0; i < n; i++)
        virtq_push(vq, done[i].head, done[i].len);
    return vq;
}

void virtio_mmio_queue_push(struct virtio_mmio *dev, unsigned index,
                            const struct virtio_mmio_batch *batch,
                            const struct virtio_mmio_done *done, unsigned n)
{
    pthread_mutex_lock(&dev->lock);
    struct virtq *vq = publish_locked(dev, index, batch, done, n);
    /*
     * More requests waiting: the kick() in progress takes them next, so
     * the interrupt waits until the queue is drained, and the driver
     * then finds everything in one pass of its handler.
     */
    if (vq &&
        (dev->stopping || (dev->status & VIRTIO_CONFIG_S_NEEDS_RESET) || !virtq_has_available(vq)))
        queue_finish(dev, index, 0); /* (after NEEDS_RESET no later pass will come) */
    pthread_mutex_unlock(&dev->lock);
}

void virtio_mmio_queue_publish(struct virtio_mmio *dev, unsigned index,
                               const struct virtio_mmio_batch *batch,
                               const struct virtio_mmio_done *done, unsigned n)
{
    pthread_mutex_lock(&dev->lock);
    if (publish_locked(dev, index, batch, done, n)) {
        if (dev->wake)
            dev->owed |= 1u << index;
        else
            queue_finish(dev, index, 0);
    }
    pthread_mutex_unlock(&dev->lock);
}

void virtio_mmio_settle(struct virtio_mmio *dev)
{
    pthread_mutex_lock(&dev->lock);
    unsigned owed = dev->owed;
    dev->owed = 0;
    for (unsigned q = 0; owed; q++, owed >>= 1)
        if ((owed & 1) && live_queue(dev, q))
            queue_finish(dev, q, 0);
    pthread_mutex_unlock(&dev->lock);
}

bool virtio_mmio_owes(struct virtio_mmio *dev)
{
    pthread_mutex_lock(&dev->lock);
    bool owes = dev->owed != 0;
    pthread_mutex_unlock(&dev->lock);
    return owes;
}

void virtio_mmio_stop(struct virtio_mmio *dev)
{
    pthread_mutex_lock(&dev->lock);
    dev->stopping = true;
    pthread_mutex_unlock(&dev->lock);
}

bool virtio_mmio_stopping(struct virtio_mmio *dev)
{
    pthread_mutex_lock(&dev->lock);
    bool stopping = dev->stopping;
    pthread_mutex_unlock(&dev->lock);
    return stopping;
}

void virtio_mmio_config_changed(struct virtio_mmio *dev)
{
    pthread_mutex_lock(&dev->lock);
    dev->config_generation++;
    if (dev->status & VIRTIO_CONFIG_S_DRIVER_OK)
        irq_raise(dev, VIRTIO_MMIO_INT_CONFIG);
    pthread_mutex_unlock(&dev->lock);
}

/* ---- set-up -------------------------------------------------------------- */

int virtio_mmio_init(struct virtio_mmio *dev, const struct virtio_device_ops *ops, void *ctx,
                     const struct guest_mem *mem, uint64_t base, struct irq_line irq)
{
    uint32_t max = ops->queue_max;

    memset(dev, 0, sizeof(*dev));
    if (ops->num_queues == 0 || ops->num_queues > VIRTIO_MMIO_MAX_QUEUES ||
        (!ops->notify && !ops->kick))
        return -EINVAL;
    if (max == 0 || (max & (max - 1)) != 0 || max > VIRTQ_MAX_SIZE)
        return -EINVAL;
    if (ops->config_size > VIRTIO_MMIO_SIZE - VIRTIO_MMIO_CONFIG ||
        (ops->config_size && !ops->config_read))
        return -EINVAL;
    int err = pthread_mutex_init(&dev->lock, NULL);
    if (err)
        return -err;

    dev->ops = ops;
    dev->ctx = ctx;
    dev->mem = mem;
    dev->irq = irq;
    dev->base = base;
    snprintf(dev->name, sizeof(dev->name), "%s@%08llx", ops->name ? ops->name : "virtio",
             (unsigned long long)base);
    return 0;
}

void virtio_mmio_destroy(struct virtio_mmio *dev)
{
    if (dev->ops)
        pthread_mutex_destroy(&dev->lock);
    memset(dev, 0, sizeof(*dev));
}

struct mmio_region virtio_mmio_region(struct virtio_mmio *dev)
{
    return (struct mmio_region){
        .name = dev->name,
        .base = dev->base,
        .size = VIRTIO_MMIO_SIZE,
        .opaque = dev,
        .read = virtio_mmio_read,
        .write = virtio_mmio_write,
        .reg_name = virtio_mmio_reg_name,
    };
}

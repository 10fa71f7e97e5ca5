/*
 * virtio_console.h - a virtio console with one port (introduced in chapter 8).
 *
 * The simplest useful virtio device (virtio 1.2 section 5.3), and a faster
 * console than the PL011 because the guest hands over whole buffers instead
 * of one byte per MMIO exit. Without VIRTIO_CONSOLE_F_MULTIPORT it has two
 * queues and Linux calls it /dev/hvc0:
 *
 *   receiveq (0)   the guest posts empty buffers; host input fills them
 *   transmitq (1)  the guest posts output; we pass it to tx() and return it
 *
 * Wiring: virtio_console_init(), mmio_bus_add() of
 * virtio_mmio_region(&con->transport), and an input thread that calls
 * virtio_console_receive(). See virtio_mmio.h for threads and locking.
 */
#ifndef GOD_VIRTIO_CONSOLE_H
#define GOD_VIRTIO_CONSOLE_H

#include <stddef.h>
#include <stdint.h>

#include "guest_mem.h"
#include "irq.h"
#include "virtio_mmio.h"
#include "virtqueue.h"

#define VIRTIO_CONSOLE_RECEIVEQ  0
#define VIRTIO_CONSOLE_TRANSMITQ 1

#define VIRTIO_CONSOLE_QUEUE_SIZE 64
/* Output buffers written out per pass, and answered with one interrupt. */
#define VIRTIO_CONSOLE_TX_BATCH   16

struct virtio_console_host {
    /*
     * The guest wrote len bytes: print them (same shape as the PL011's tx).
     * Called without the device lock, so it may block; at shutdown
     * virtio_worker_stop() interrupts it with a signal (EINTR), and it should
     * then give up. Once the device is stopping it is not called again.
     */
    void (*tx)(void *ctx, const uint8_t *buf, size_t len);
    /*
     * Optional: the guest posted receive buffers. Input that
     * virtio_console_receive() could not place can be retried now. Called
     * on the thread that saw the kick (the device's worker); wake the input
     * thread rather than feeding the device from here.
     */
    void (*rx_ready)(void *ctx);
    void *ctx;
};

struct virtio_console {
    struct virtio_mmio transport;
    struct virtio_device_ops ops; /* what the transport calls back */
    struct virtio_console_host host;
    struct virtq_chain chain; /* receive: the buffer being filled (under the transport lock) */
    /* transmit: the batch being written out, by the one thread in kick() */
    struct virtq_chain tx_batch[VIRTIO_CONSOLE_TX_BATCH];
    struct virtio_mmio_done tx_done[VIRTIO_CONSOLE_TX_BATCH];
};

/* Create the device at MMIO window `base`. Returns 0 or -errno. */
int virtio_console_init(struct virtio_console *con, const struct virtio_console_host *host,
                        const struct guest_mem *mem, uint64_t base, struct irq_line irq);
void virtio_console_destroy(struct virtio_console *con);

/*
 * Host input for the guest: copy as much of buf as the posted receive buffers
 * hold. Returns the bytes accepted, 0 when the driver is not running or has
 * posted no buffers: keep the rest and retry after rx_ready(). Callable from
 * any thread; takes the device lock.
 */
size_t virtio_console_receive(struct virtio_console *con, const uint8_t *buf, size_t len);

#endif

/*
 * virtio_console.c - a virtio console with one port (introduced in chapter 8).
 *
 * Device behaviour: virtio 1.2 section 5.3.6. We offer no console features,
 * so there is no config space to speak of and no control queues.
 */
#include "virtio_console.h"

#include <errno.h>
#include <string.h>

#include <linux/virtio_ids.h>

#include "log.h"

/*
 * transmitq: every readable buffer is output. We write nothing back, so used
 * len is 0. Without the device lock (virtio_mmio.h, "Locking rule"): tx()
 * may block for as long as the terminal or pipe on the other side is not
 * reading, and vCPUs touching our registers must not wait for that. A batch
 * of chains is written out, then handed back.
 *
 * Handed back without an interrupt (virtio_mmio_queue_publish()): Linux's
 * hvc0 does not wait for one. It spins on the used ring until its buffer
 * comes back (__send_to_port() in drivers/char/virtio_console.c), takes
 * it, and moves used_event past it, which withdraws the request for an
 * interrupt it made. So the interrupt waits for the worker's quiet moment,
 * and by then it is often no longer wanted: on the emulated host, 64 KiB of
 * output to hvc0 went from 110-196 user MMIO exits (two per interrupt) to
 * 40-114.
 */
static void console_transmit(struct virtio_console *con)
{
    struct virtio_mmio_batch batch;
    unsigned n;

    while ((n = virtio_mmio_queue_pop(&con->transport, VIRTIO_CONSOLE_TRANSMITQ, con->tx_batch,
                                      VIRTIO_CONSOLE_TX_BATCH, &batch)) > 0) {
        for (unsigned c = 0; c < n; c++) {
            const struct virtq_chain *chain = &con->tx_batch[c];
            /* Stopping: what is left is dropped, not written (tx() might block again). */
            bool stopping = virtio_mmio_stopping(&con->transport);
            for (unsigned i = 0; i < chain->num_read && !stopping; i++) {
                const struct virtq_seg *s = &chain->segs[i];
                const uint8_t *p = guest_mem_ptr(con->transport.mem, s->gpa, s->len);
                if (p && con->host.tx)
                    con->host.tx(con->host.ctx, p, s->len);
            }
            con->tx_done[c] = (struct virtio_mmio_done){.head = chain->head, .len = 0};
        }
        virtio_mmio_queue_publish(&con->transport, VIRTIO_CONSOLE_TRANSMITQ, &batch, con->tx_done,
                                  n);
    }
}

static void console_kick(void *ctx, unsigned index)
{
    struct virtio_console *con = ctx;

    if (index == VIRTIO_CONSOLE_TRANSMITQ) {
        console_transmit(con);
        return;
    }
    /*
     * receiveq: new empty buffers. We fill them only when input arrives, so
     * just tell whoever holds input back that there is room now.
     */
    if (con->host.rx_ready)
        con->host.rx_ready(con->host.ctx);
}

/* Fill the writable buffers of one receive chain; returns bytes copied. */
static size_t fill_chain(const struct guest_mem *mem, const struct virtq_chain *c,
                         const uint8_t *buf, size_t len)
{
    size_t done = 0;

    for (unsigned i = c->num_read; i < c->count && done < len; i++) {
        const struct virtq_seg *s = &c->segs[i];
        size_t n = len - done < s->len ? len - done : s->len;
        uint8_t *p = guest_mem_ptr(mem, s->gpa, n);
        if (!p)
            break;
        memcpy(p, buf + done, n);
        done += n;
    }
    return done;
}

size_t virtio_console_receive(struct virtio_console *con, const uint8_t *buf, size_t len)
{
    size_t accepted = 0;
    int err = 0;

    struct virtq *vq = virtio_mmio_queue_begin(&con->transport, VIRTIO_CONSOLE_RECEIVEQ);
    while (vq && accepted < len) {
        err = virtq_pop(vq, &con->chain);
        if (err)
            break;
        /* Receive buffers are device-writable (section 5.3.6); readable parts are skipped. */
        size_t n = fill_chain(vq->mem, &con->chain, buf + accepted, len - accepted);
        virtq_push(vq, con->chain.head, (uint32_t)n);
        accepted += n;
    }
    virtio_mmio_queue_end(&con->transport, VIRTIO_CONSOLE_RECEIVEQ, err);
    return accepted;
}

int virtio_console_init(struct virtio_console *con, const struct virtio_console_host *host,
                        const struct guest_mem *mem, uint64_t base, struct irq_line irq)
{
    memset(con, 0, sizeof(*con));
    con->host = *host;
    con->ops = (struct virtio_device_ops){
        .name = "virtio-console",
        .device_id = VIRTIO_ID_CONSOLE,
        .num_queues = 2,
        .queue_max = VIRTIO_CONSOLE_QUEUE_SIZE,
        .features = 0, /* no size, no multiport, no emergency write */
        .kick = console_kick,
    };
    return virtio_mmio_init(&con->transport, &con->ops, con, mem, base, irq);
}

void virtio_console_destroy(struct virtio_console *con)
{
    virtio_mmio_destroy(&con->transport);
}

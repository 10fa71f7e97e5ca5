/*
 * virtio_net.c - a virtio network card (introduced in chapter 8).
 *
 * Device behaviour: virtio 1.2 section 5.1.6. With VIRTIO_F_VERSION_1 the
 * per-frame header is always the 12-byte struct virtio_net_hdr_v1 (num_buffers
 * included, section 5.1.6.1), whether or not VIRTIO_NET_F_MRG_RXBUF is
 * negotiated: the legacy 10-byte header does not exist for a modern device.
 *
 * Guest values. Like virtio-blk, a chain is a byte stream, cut into
 * descriptors however the driver likes: the header may be a descriptor of
 * its own (older Linux) or share one with the frame (Linux today). What
 * we refuse, we answer as section 5.1.6 allows a device to: a transmit
 * chain we cannot send is returned and counted as dropped; a frame that
 * does not fit the receive buffer is dropped and the buffer kept for the
 * next one. A broken ring (virtq_pop's -EINVAL/-EFAULT) is the transport's
 * DEVICE_NEEDS_RESET, as for every device.
 */
#define _GNU_SOURCE
#include "virtio_net.h"

#include <endian.h>
#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <linux/virtio_ids.h>

#include "log.h"

#define HDR_LEN sizeof(struct virtio_net_hdr_v1)
_Static_assert(sizeof(struct virtio_net_hdr_v1) == NET_VNET_HDR_LEN,
               "virtio_net_hdr_v1 is 12 bytes");

/* ---- chains as byte streams ---------------------------------------------- */

/*
 * Copy `len` bytes of a chain's readable (or writable) stream, starting
 * `skip` bytes in, to (or from) host buffer `buf`. The segments were checked
 * by virtq_pop(); guest_mem_ptr() checks again, for free.
 */
static int chain_copy(const struct guest_mem *mem, const struct virtq_chain *c, bool writable,
                      uint64_t skip, uint8_t *buf, uint64_t len)
{
    for (unsigned i = 0; i < c->count && len > 0; i++) {
        const struct virtq_seg *s = &c->segs[i];
        if (s->is_write != writable)
            continue;
        if (skip >= s->len) {
            skip -= s->len;
            continue;
        }
        uint64_t n = s->len - skip < len ? s->len - skip : len;
        uint8_t *p = guest_mem_ptr(mem, s->gpa + skip, n);
        if (!p)
            return -EFAULT;
        if (writable)
            memcpy(p, buf, n);
        else
            memcpy(buf, p, n);
        buf += n;
        len -= n;
        skip = 0;
    }
    return len ? -EFAULT : 0;
}

/*
 * The statistics: --stats prints them from another thread while the card
 * runs, so a relaxed atomic add (no dearer than ++ on arm64) keeps that read
 * well-defined.
 */
static void count(uint64_t *counter)
{
    __atomic_fetch_add(counter, 1, __ATOMIC_RELAXED);
}

/* ---- transmit: guest -> backend ------------------------------------------- */

/*
 * Check one transmit chain and copy its frame into `slot`. Returns the
 * frame's length, or 0 when the chain is dropped.
 */
static size_t tx_take(struct virtio_net *net, const struct guest_mem *mem, uint8_t *slot)
{
    static unsigned warned;
    const struct virtq_chain *c = &net->chain;
    uint64_t frame = c->read_len >= HDR_LEN ? c->read_len - HDR_LEN : 0;

    /*
     * Section 5.1.6.2: a transmit chain is device-readable: a header and a
     * frame. Anything writable, no room for a header, no Ethernet header or
     * more than the largest packet: not something we can put on a wire.
     * The header itself asks for nothing we offered, so it is not read.
     */
    if (c->num_read != c->count || c->read_len < HDR_LEN || frame < NET_FRAME_MIN ||
        frame > NET_FRAME_MAX) {
        log_warn_limited(
            &warned, "%s: transmit chain of %llu readable and %llu writable bytes; dropped",
            net->transport.name, (unsigned long long)c->read_len, (unsigned long long)c->write_len);
        count(&net->stats.tx_bad);
        return 0;
    }
    if (chain_copy(mem, c, false, HDR_LEN, slot, frame) < 0) {
        count(&net->stats.tx_bad);
        return 0;
    }
    count(&net->stats.tx_frames);
    return (size_t)frame;
}

int virtio_net_transmit(struct virtio_net *net)
{
    struct net_backend *be = net->backend;

    for (;;) {
        /* What is already queued goes first: frames leave in the order they came. */
        if (net_backend_tx_pending(be)) {
            int err = net_backend_flush(be);
            if (err == -EAGAIN)
                return -EAGAIN;
        }

        /* Under the lock: copy a batch of frames out of guest RAM, return the buffers. */
        unsigned taken = 0;
        int err = 0;
        uint8_t *slot;
        struct virtq *vq = virtio_mmio_queue_begin(&net->transport, VIRTIO_NET_TXQ);
        while (vq && (slot = net_backend_tx_slot(be)) && (err = virtq_pop(vq, &net->chain)) == 0) {
            size_t len = tx_take(net, vq->mem, slot);
            if (len)
                net_backend_tx_commit(be, len);
            /* Section 5.1.6.2: the device writes nothing into a transmit buffer. */
            virtq_push(vq, net->chain.head, 0);
            taken++;
        }
        virtio_mmio_queue_end(&net->transport, VIRTIO_NET_TXQ, err);

        /* Outside it: the system calls. */
        if (net_backend_tx_pending(be) && net_backend_flush(be) == -EAGAIN)
            return -EAGAIN;
        if (taken == 0)
            return 0;
    }
}

/* ---- receive: backend -> guest --------------------------------------------- */

/*
 * Put as many received frames into the guest's buffers as both have.
 * Returns false when the guest has no buffer for the next frame.
 */
static bool rx_deliver(struct virtio_net *net)
{
    static unsigned warned_chain, warned_size;
    const uint8_t *frame;
    size_t len;
    int err = 0;
    bool room = true;
    /* The header in front of every received frame: nothing to finish, one buffer. */
    struct virtio_net_hdr_v1 hdr = {.gso_type = VIRTIO_NET_HDR_GSO_NONE, .num_buffers = htole16(1)};

    struct virtq *vq = virtio_mmio_queue_begin(&net->transport, VIRTIO_NET_RXQ);
    if (!vq)
        room = false; /* the driver is not running (yet): frames wait */
    while (vq && (frame = net_backend_rx_peek(net->backend, &len))) {
        err = virtq_pop(vq, &net->chain);
        if (err) {
            if (err == -EAGAIN)
                count(&net->stats.rx_no_buffers);
            room = false;
            break;
        }
        const struct virtq_chain *c = &net->chain;
        if (c->num_read != 0) {
            /* Section 5.1.6.3: receive buffers are device-writable. Return it untouched. */
            log_warn_limited(&warned_chain, "%s: receive chain with readable buffers; returned",
                             net->transport.name);
            count(&net->stats.rx_bad_chain);
            virtq_push(vq, c->head, 0);
            continue;
        }
        if (c->write_len < HDR_LEN + len) {
            /*
             * Without VIRTIO_NET_F_MRG_RXBUF a frame must fit one buffer
             * (section 5.1.6.3.1 tells the driver how big to make them). It
             * does not: drop the frame, keep the buffer for the next one.
             */
            log_warn_limited(&warned_size, "%s: %zu-byte frame, %llu-byte receive buffer; dropped",
                             net->transport.name, len, (unsigned long long)c->write_len);
            count(&net->stats.rx_too_big);
            virtq_unpop(vq);
            net_backend_rx_consume(net->backend);
            continue;
        }
        if (chain_copy(vq->mem, c, true, 0, (uint8_t *)&hdr, HDR_LEN) < 0 ||
            chain_copy(vq->mem, c, true, HDR_LEN, (uint8_t *)frame, len) < 0) {
            virtq_push(vq, c->head, 0);
            continue;
        }
        virtq_push(vq, c->head, (uint32_t)(HDR_LEN + len));
        net_backend_rx_consume(net->backend);
        count(&net->stats.rx_frames);
    }
    virtio_mmio_queue_end(&net->transport, VIRTIO_NET_RXQ, err);
    return room;
}

void virtio_net_receive(struct virtio_net *net)
{
    size_t len;

    net->rx_waiting = false;
    for (;;) {
        /* Read only when nothing received is waiting: the guest sets the pace. */
        if (!net_backend_rx_peek(net->backend, &len) && net_backend_fill(net->backend) < 0)
            return;
        if (!rx_deliver(net)) {
            net->rx_waiting = true;
            return;
        }
    }
}

/* ---- the device thread ----------------------------------------------------- */

/* The backend hung up (passt exited): tell the guest the cable is out. */
static void link_lost(struct virtio_net *net)
{
    if (net->link_down)
        return;
    net->link_down = true;
    log_warn("%s: the network backend closed; link down", net->transport.name);
    pthread_mutex_lock(&net->transport.lock);
    net->config.status = htole16(0);
    pthread_mutex_unlock(&net->transport.lock);
    virtio_mmio_config_changed(&net->transport);
}

static void wake_thread(struct virtio_net *net)
{
    uint64_t one = 1;
    if (net->wake_fd >= 0) {
        ssize_t ignored = write(net->wake_fd, &one, sizeof(one));
        (void)ignored; /* an eventfd write fails only when the counter is saturated */
    }
}

/*
 * Transmit, from whichever thread has a reason to: the kicked one, or the
 * device thread once a full backend has room again. tx_lock makes it one
 * at a time (the backend's queue is not shared); send() never blocks, so
 * nobody waits long for it.
 */
static void tx_run(struct virtio_net *net)
{
    pthread_mutex_lock(&net->tx_lock);
    bool blocked = virtio_net_transmit(net) == -EAGAIN;
    __atomic_store_n(&net->tx_blocked, blocked, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&net->tx_lock);
    if (blocked)
        wake_thread(net); /* to poll for POLLOUT */
}

static void *net_thread(void *arg)
{
    struct virtio_net *net = arg;

    for (;;) {
        bool tx_blocked = __atomic_load_n(&net->tx_blocked, __ATOMIC_RELAXED);
        struct pollfd fds[3] = {
            {.fd = net->wake_fd, .events = POLLIN},
            {.fd = net->stop_fd, .events = POLLIN},
            {.fd = net->backend->fd, .events = 0},
        };
        if (!net->rx_waiting && !net->backend->closed)
            fds[2].events |= POLLIN;
        if (tx_blocked)
            fds[2].events |= POLLOUT;
        if (net->backend->closed)
            fds[2].fd = -1;

        if (poll(fds, 3, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (fds[1].revents)
            break;
        if (fds[0].revents) {
            uint64_t kicks;
            if (read(net->wake_fd, &kicks, sizeof(kicks)) < 0 && errno != EAGAIN)
                break;
            net->rx_waiting = false; /* maybe new receive buffers: try again */
        }
        if (tx_blocked && (fds[2].revents & (POLLOUT | POLLERR | POLLHUP)))
            tx_run(net);
        virtio_net_receive(net);
        if (net->backend->closed)
            link_lost(net);
    }
    return NULL;
}

/*
 * A queue was kicked (by the guest, through the device's ioeventfd worker,
 * or owed one at DRIVER_OK), called without the transport lock. Transmit
 * right here: waking the device thread to do it would cost every doorbell
 * a second thread wake-up. New receive buffers are the device thread's
 * business.
 */
static void net_kick(void *ctx, unsigned index)
{
    struct virtio_net *net = ctx;

    if (index == VIRTIO_NET_TXQ)
        tx_run(net);
    else
        wake_thread(net);
}

static void net_config_read(void *ctx, uint32_t offset, void *buf, unsigned len)
{
    struct virtio_net *net = ctx;
    memcpy(buf, (const uint8_t *)&net->config + offset, len);
}

int virtio_net_start(struct virtio_net *net)
{
    if (net->running)
        return 0;
    net->stop_fd = eventfd(0, EFD_CLOEXEC);
    if (net->stop_fd < 0)
        return -errno;
    int err = pthread_create(&net->thread, NULL, net_thread, net);
    if (err) {
        close(net->stop_fd);
        net->stop_fd = -1;
        return -err;
    }
    net->running = true;
    return 0;
}

void virtio_net_stop(struct virtio_net *net)
{
    uint64_t one = 1;

    if (!net->running)
        return;
    ssize_t ignored = write(net->stop_fd, &one, sizeof(one));
    (void)ignored;
    pthread_join(net->thread, NULL);
    net->running = false;
    close(net->stop_fd);
    net->stop_fd = -1;
}

int virtio_net_init(struct virtio_net *net, struct net_backend *backend, const uint8_t mac[6],
                    const struct guest_mem *mem, uint64_t base, struct irq_line irq)
{
    memset(net, 0, sizeof(*net));
    net->backend = backend;
    net->stop_fd = -1;
    net->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (net->wake_fd < 0)
        return -errno;
    pthread_mutex_init(&net->tx_lock, NULL);

    memcpy(net->config.mac, mac, 6);
    net->config.status = htole16(VIRTIO_NET_S_LINK_UP);
    net->ops = (struct virtio_device_ops){
        .name = "virtio-net",
        .device_id = VIRTIO_ID_NET,
        .num_queues = 2,
        .queue_max = VIRTIO_NET_QUEUE_SIZE,
        .features = (1ULL << VIRTIO_NET_F_MAC) | (1ULL << VIRTIO_NET_F_STATUS),
        /* mac and status: the fields our features make valid. */
        .config_size = offsetof(struct virtio_net_config, max_virtqueue_pairs),
        .config_read = net_config_read,
        .kick = net_kick,
    };
    int err = virtio_mmio_init(&net->transport, &net->ops, net, mem, base, irq);
    if (err) {
        close(net->wake_fd);
        net->wake_fd = -1;
        pthread_mutex_destroy(&net->tx_lock);
    }
    return err;
}

void virtio_net_destroy(struct virtio_net *net)
{
    virtio_net_stop(net);
    if (net->wake_fd >= 0) {
        close(net->wake_fd);
        pthread_mutex_destroy(&net->tx_lock);
    }
    net->wake_fd = -1;
    virtio_mmio_destroy(&net->transport);
}

int virtio_net_parse_mac(const char *text, uint8_t mac[6])
{
    unsigned b[6];
    char extra;

    if (sscanf(text, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5],
               &extra) != 6)
        return -EINVAL;
    if (b[0] & 1) /* the group bit: a multicast address cannot be a card's own */
        return -EINVAL;
    for (int i = 0; i < 6; i++)
        mac[i] = (uint8_t)b[i];
    return 0;
}

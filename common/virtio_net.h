/*
 * virtio_net.h - a virtio network card (introduced in chapter 8).
 *
 * A network card, seen from the guest, is a place to hand Ethernet frames
 * to and a place they arrive from. Virtio 1.2 section 5.1 makes that two
 * queues and nothing else:
 *
 *   receiveq (0)   the driver posts empty, device-writable buffers; each
 *                  frame from the host fills one: a 12-byte
 *                  struct virtio_net_hdr_v1, then the frame
 *   transmitq (1)  the driver posts device-readable chains: the same
 *                  12-byte header, then a frame to send
 *
 * plus a config space with the MAC address (VIRTIO_NET_F_MAC) and the link
 * state (VIRTIO_NET_F_STATUS). We offer no offloads: the header always says
 * "no checksum to finish, no segmentation", so a frame is a frame.
 *
 * What is on the other side is a struct net_backend: a tap device or a
 * user-mode network (passt), both an fd carrying frames.
 *
 * Threads. A transmit kick is served by the thread that gets it (the
 * device's ioeventfd worker, ops->kick): it copies the frames out and
 * writes them to the backend at once. The device has a thread of its own
 * too, started by virtio_net_start(), which waits in poll() for the
 * backend fd and for the worker (new receive buffers; a backend too full
 * to take more frames), moves received frames to the guest and finishes a
 * blocked transmit. Guest RAM and the rings are touched only under the transport
 * lock (virtio_mmio_queue_begin/end); the backend's reads and writes happen
 * outside it, so a vCPU never waits for the host's network.
 */
#ifndef GOD_VIRTIO_NET_H
#define GOD_VIRTIO_NET_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <linux/virtio_net.h>

#include "guest_mem.h"
#include "irq.h"
#include "net_backend.h"
#include "virtio_mmio.h"
#include "virtqueue.h"

#define VIRTIO_NET_RXQ 0
#define VIRTIO_NET_TXQ 1

#define VIRTIO_NET_QUEUE_SIZE 256

/*
 * What went through, and what the guest did that we refused, per the spec's
 * "drop" answers. Bumped with relaxed atomics: `god boot --stats` reads them
 * while the card runs.
 */
struct virtio_net_stats {
    uint64_t tx_frames;     /* frames handed to the backend */
    uint64_t tx_bad;        /* chains dropped: no header, too long, too short, writable parts */
    uint64_t rx_frames;     /* frames given to the guest */
    uint64_t rx_too_big;    /* frames dropped: larger than the buffer the guest posted */
    uint64_t rx_bad_chain;  /* receive chains with device-readable parts, returned unused */
    uint64_t rx_no_buffers; /* times we had a frame and the guest had no buffer posted */
};

struct virtio_net {
    struct virtio_mmio transport;
    struct virtio_device_ops ops;
    struct virtio_net_config config; /* little-endian, as the guest reads it */
    struct net_backend *backend;
    struct virtio_net_stats stats; /* tx_*: under tx_lock; rx_*: by the device thread */

    int wake_fd;     /* eventfd: new receive buffers, or transmit is blocked */
    int stop_fd;     /* eventfd: end the thread */
    bool rx_waiting; /* a frame waits for a receive buffer: stop reading the backend */
    /* Transmit runs on the kicking thread, or here when the backend was full. */
    pthread_mutex_t tx_lock;
    bool tx_blocked; /* the backend took only part: wait for POLLOUT (atomic) */
    bool link_down;  /* the backend hung up */
    pthread_t thread;
    bool running;

    struct virtq_chain chain; /* the chain being served (under the transport lock) */
};

/*
 * Create the device at MMIO window `base` with MAC address `mac`, moving
 * frames to and from `backend` (which stays the caller's). Returns 0 or -errno.
 */
int virtio_net_init(struct virtio_net *net, struct net_backend *backend, const uint8_t mac[6],
                    const struct guest_mem *mem, uint64_t base, struct irq_line irq);
void virtio_net_destroy(struct virtio_net *net);

/* Start and stop the device thread. stop is safe on a device that never started. */
int virtio_net_start(struct virtio_net *net);
void virtio_net_stop(struct virtio_net *net);

/*
 * One pass of each direction, as the thread runs them (exposed for tests):
 * transmit moves the guest's frames to the backend until the guest has no
 * more or the backend is full (-EAGAIN: wait for POLLOUT); receive moves
 * the backend's frames to the guest until either runs out.
 */
int virtio_net_transmit(struct virtio_net *net);
void virtio_net_receive(struct virtio_net *net);

/* Parse "02:00:00:00:00:01" into mac. Returns 0, or -EINVAL (also for a multicast address). */
int virtio_net_parse_mac(const char *text, uint8_t mac[6]);

#endif

/*
 * net_backend.h - an fd that carries Ethernet frames (introduced in chapter 8).
 *
 * A virtio-net device moves Ethernet frames between the guest and something
 * on the host. Whatever that something is, to the device it is a file
 * descriptor that frames are written to and read from. Only the framing
 * differs:
 *
 *   NET_FRAMING_VNET_HDR  a tap device (/dev/net/tun with IFF_TAP |
 *                         IFF_NO_PI | IFF_VNET_HDR): one frame per read()
 *                         and write(), each preceded by a 12-byte
 *                         struct virtio_net_hdr_v1 (TUNSETVNETHDRSZ 12).
 *   NET_FRAMING_STREAM    a stream socket to a user-mode network such as
 *                         passt: each frame preceded by its length as a
 *                         4-byte big-endian number, the format of QEMU's
 *                         `-netdev stream`. A read may return half a frame
 *                         or ten of them.
 *
 * The fd is non-blocking. Frames queue in two buffers, so the device can
 * copy a batch in or out of guest RAM under its lock and the system calls
 * happen outside it:
 *
 *   to the host:  slot = net_backend_tx_slot(); copy a frame there;
 *                 net_backend_tx_commit(len); ... net_backend_flush()
 *   to the guest: net_backend_fill(); while ((f = net_backend_rx_peek())) {
 *                 copy f; net_backend_rx_consume(); }
 *
 * Plain C, no KVM: unit-tested against socketpairs.
 */
#ifndef GOD_NET_BACKEND_H
#define GOD_NET_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * The largest frame we carry, without any header: virtio 1.2 section
 * 5.1.6.3.1 sizes receive buffers for 65550-byte packets (a 65535-byte IP
 * packet behind Ethernet and VLAN headers), and that is what a driver may
 * hand us to transmit.
 */
#define NET_FRAME_MAX    65550
/* An Ethernet header: a frame shorter than this is not one. */
#define NET_FRAME_MIN    14
/* The tap device's per-frame header: struct virtio_net_hdr_v1. */
#define NET_VNET_HDR_LEN 12

enum net_framing {
    NET_FRAMING_VNET_HDR,
    NET_FRAMING_STREAM,
};

struct net_backend_stats {
    uint64_t rx_frames, rx_bytes; /* from the host */
    uint64_t rx_dropped;          /* impossible lengths: too long, too short */
    uint64_t tx_frames, tx_bytes; /* to the host */
    uint64_t tx_dropped;          /* lost to a write error */
    /* The two *_dropped are bumped with relaxed atomics: --stats reads them while we run. */
};

struct net_backend {
    int fd;
    enum net_framing framing;
    pid_t helper; /* the user-mode network's process (passt), 0 for none */
    bool closed;  /* the other end hung up: nothing more will arrive */

    /*
     * Both buffers hold records in the stream format, [be32 len][frame]:
     * for a stream backend that is exactly the wire, so a read or a write
     * moves many frames at once.
     */
    uint8_t *in;
    size_t in_start, in_end; /* unread bytes are in[in_start .. in_end) */
    uint64_t in_discard;     /* bytes still to skip of a frame too long to keep */
    uint8_t *out;
    size_t out_start, out_end; /* unwritten bytes are out[out_start .. out_end) */
    size_t out_record;         /* where the first record not yet wholly written starts */

    struct net_backend_stats stats;
};

/*
 * Take over `fd` (made non-blocking here; closed by net_backend_destroy).
 * Returns 0 or -ENOMEM.
 */
int net_backend_init(struct net_backend *be, int fd, enum net_framing framing);
/* Close the fd, stop and reap the helper process if there is one, free the buffers. */
void net_backend_destroy(struct net_backend *be);

/* Room for one more frame of up to NET_FRAME_MAX bytes, or NULL while the queue is full. */
uint8_t *net_backend_tx_slot(struct net_backend *be);
/* The frame of `len` bytes (NET_FRAME_MIN .. NET_FRAME_MAX) is in the slot: queue it. */
void net_backend_tx_commit(struct net_backend *be, size_t len);
/* Are queued frames waiting to be written? */
bool net_backend_tx_pending(const struct net_backend *be);
/*
 * Write what is queued. Returns 0 when everything went, -EAGAIN when the fd
 * is full (poll for POLLOUT and call again), or -errno: then the queued
 * frames are dropped (and counted), since the fd will not take them.
 */
int net_backend_flush(struct net_backend *be);

/*
 * Read what the fd has, as long as there is room for another whole frame.
 * Returns the bytes read (> 0), -EAGAIN when there was nothing to read or
 * no room, -EPIPE when the other end closed (be->closed is then set), or
 * -errno.
 */
int net_backend_fill(struct net_backend *be);
/* The next complete frame received, or NULL. Frames of impossible length are skipped (counted). */
const uint8_t *net_backend_rx_peek(struct net_backend *be, size_t *len);
/* Done with the frame rx_peek returned. */
void net_backend_rx_consume(struct net_backend *be);

/*
 * Open tap device `name` (NULL or "" lets the kernel pick tapN) with
 * IFF_TAP | IFF_NO_PI | IFF_VNET_HDR and a 12-byte header. On success
 * returns the fd and writes the interface's name to ifname (IFNAMSIZ bytes);
 * -errno on failure (-EPERM/-EACCES: no CAP_NET_ADMIN and the tap is not ours).
 */
int net_tap_open(const char *name, char *ifname);

/*
 * Start passt with its end of a new socketpair (`passt --fd N`, in the
 * foreground) plus `extra_args` (a NULL-terminated list, may be NULL), and
 * return our end. passt exits when that socket closes, so it cannot outlive
 * us. *pid gets passt's pid. Returns the fd, -ENOENT when passt is not
 * installed, or -errno. For debugging, GOD_PASST_DEBUG=1 in the environment
 * runs passt with --debug instead of --quiet, and GOD_PASST_PCAP=FILE makes
 * it record every frame it exchanges with us in FILE (--pcap).
 */
int net_passt_start(const char *const *extra_args, pid_t *pid);

#endif

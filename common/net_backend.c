/*
 * net_backend.c - an fd that carries Ethernet frames (introduced in chapter 8).
 */
#define _GNU_SOURCE
#include "net_backend.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/if.h>
#include <linux/if_tun.h>

#include "log.h"

#define RECORD_HDR 4 /* the be32 length in front of each frame */
#define RECORD_MAX (RECORD_HDR + NET_FRAME_MAX)
/* Room for a few maximal frames: a batch per system call, a bounded memory cost. */
#define BUF_CAP    (4 * RECORD_MAX)

static uint32_t get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

int net_backend_init(struct net_backend *be, int fd, enum net_framing framing)
{
    memset(be, 0, sizeof(*be));
    be->fd = fd;
    be->framing = framing;
    be->in = malloc(BUF_CAP);
    be->out = malloc(BUF_CAP);
    if (!be->in || !be->out) {
        free(be->in);
        free(be->out);
        be->fd = -1;
        return -ENOMEM;
    }
    int flags = fcntl(fd, F_GETFL);
    if (flags >= 0)
        fcntl(fd, F_SETFL, flags | O_NONBLOCK);
    return 0;
}

void net_backend_destroy(struct net_backend *be)
{
    if (be->fd >= 0)
        close(be->fd); /* passt sees the socket close and exits by itself... */
    if (be->helper > 0) {
        /* ...but do not count on it: it may be stuck, or an older version. */
        kill(be->helper, SIGTERM);
        while (waitpid(be->helper, NULL, 0) < 0 && errno == EINTR)
            ;
    }
    free(be->in);
    free(be->out);
    memset(be, 0, sizeof(*be));
    be->fd = -1;
}

/* ---- to the host ----------------------------------------------------------- */

uint8_t *net_backend_tx_slot(struct net_backend *be)
{
    if (be->out_start == be->out_end)
        be->out_start = be->out_end = be->out_record = 0;
    if (BUF_CAP - be->out_end < RECORD_MAX)
        return NULL;
    return be->out + be->out_end + RECORD_HDR;
}

void net_backend_tx_commit(struct net_backend *be, size_t len)
{
    put_be32(be->out + be->out_end, (uint32_t)len);
    be->out_end += RECORD_HDR + len;
}

bool net_backend_tx_pending(const struct net_backend *be)
{
    return be->out_start != be->out_end;
}

/* Count the frames not wholly written (one may be cut in half) as lost, and forget them. */
static void drop_queued(struct net_backend *be)
{
    size_t pos = be->out_record;
    while (pos + RECORD_HDR <= be->out_end) {
        __atomic_fetch_add(&be->stats.tx_dropped, 1, __ATOMIC_RELAXED);
        pos += RECORD_HDR + get_be32(be->out + pos);
    }
    be->out_start = be->out_end = be->out_record = 0;
}

/*
 * Count the records that have now left whole. A write may end anywhere,
 * even inside a record's length, so the walk starts from the last record
 * boundary (out_record), never from out_start.
 */
static void count_sent(struct net_backend *be)
{
    while (be->out_record + RECORD_HDR <= be->out_start) {
        uint32_t len = get_be32(be->out + be->out_record);
        if (be->out_record + RECORD_HDR + len > be->out_start)
            break;
        be->stats.tx_frames++;
        be->stats.tx_bytes += len;
        be->out_record += RECORD_HDR + len;
    }
}

/* Stream: the queue is already in the wire format; write as much as the socket takes. */
static int flush_stream(struct net_backend *be)
{
    while (be->out_start < be->out_end) {
        ssize_t n = send(be->fd, be->out + be->out_start, be->out_end - be->out_start,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return -EAGAIN;
        if (n < 0 && errno == ENOTSOCK) /* a pipe or a character device, in tests */
            n = write(be->fd, be->out + be->out_start, be->out_end - be->out_start);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return -EAGAIN;
            return -errno;
        }
        be->out_start += (size_t)n;
    }
    return 0;
}

/* Tap: one write per frame, each behind a virtio_net_hdr that asks for nothing. */
static int flush_tap(struct net_backend *be)
{
    static const uint8_t hdr[NET_VNET_HDR_LEN]; /* no checksum to finish, no segmentation */

    while (be->out_start < be->out_end) {
        uint32_t len = get_be32(be->out + be->out_start);
        struct iovec iov[2] = {
            {.iov_base = (void *)hdr, .iov_len = sizeof(hdr)},
            {.iov_base = be->out + be->out_start + RECORD_HDR, .iov_len = len},
        };
        ssize_t n = writev(be->fd, iov, 2);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return -EAGAIN;
        if (n < 0) {
            /*
             * The tap refused this one frame (EIO while the interface is
             * down, EINVAL for a frame it does not like): drop it, go on.
             */
            __atomic_fetch_add(&be->stats.tx_dropped, 1, __ATOMIC_RELAXED);
        } else {
            be->stats.tx_frames++;
            be->stats.tx_bytes += len;
        }
        be->out_start += RECORD_HDR + len;
    }
    return 0;
}

int net_backend_flush(struct net_backend *be)
{
    if (be->framing == NET_FRAMING_VNET_HDR)
        return flush_tap(be);

    int err = flush_stream(be);
    /* Whole records that left the buffer are sent; one cut in half is still pending. */
    count_sent(be);
    if (err && err != -EAGAIN) {
        /*
         * The socket is broken. A stream cut mid-record cannot be resumed,
         * so everything still queued is lost.
         */
        drop_queued(be);
        return err;
    }
    /* All gone: the whole buffer is free for the next batch. */
    if (be->out_start == be->out_end)
        be->out_start = be->out_end = be->out_record = 0;
    return err;
}

/* ---- to the guest ------------------------------------------------------------ */

/* Move the unread bytes to the front, so a whole frame fits behind them. */
static void compact_in(struct net_backend *be)
{
    if (be->in_start == 0)
        return;
    memmove(be->in, be->in + be->in_start, be->in_end - be->in_start);
    be->in_end -= be->in_start;
    be->in_start = 0;
}

static int fill_stream(struct net_backend *be)
{
    compact_in(be);
    if (be->in_end == BUF_CAP)
        return -EAGAIN;
    for (;;) {
        ssize_t n = read(be->fd, be->in + be->in_end, BUF_CAP - be->in_end);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return errno == EWOULDBLOCK ? -EAGAIN : -errno;
        if (n == 0) {
            be->closed = true;
            return -EPIPE;
        }
        be->in_end += (size_t)n;
        return (int)n;
    }
}

/* One frame per read; the tap's header goes to scratch (we offer the guest no offloads). */
static int fill_tap(struct net_backend *be)
{
    uint8_t hdr[NET_VNET_HDR_LEN];
    int total = 0;

    compact_in(be);
    while (BUF_CAP - be->in_end >= RECORD_MAX) {
        struct iovec iov[2] = {
            {.iov_base = hdr, .iov_len = sizeof(hdr)},
            {.iov_base = be->in + be->in_end + RECORD_HDR, .iov_len = NET_FRAME_MAX},
        };
        ssize_t n = readv(be->fd, iov, 2);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;
            return total ? total : -errno;
        }
        if (n == 0) {
            be->closed = true;
            return total ? total : -EPIPE;
        }
        total += (int)n;
        if ((size_t)n < sizeof(hdr)) {
            __atomic_fetch_add(&be->stats.rx_dropped, 1, __ATOMIC_RELAXED);
            continue;
        }
        put_be32(be->in + be->in_end, (uint32_t)((size_t)n - sizeof(hdr)));
        be->in_end += RECORD_HDR + (size_t)n - sizeof(hdr);
    }
    return total ? total : -EAGAIN;
}

int net_backend_fill(struct net_backend *be)
{
    if (be->closed)
        return -EPIPE;
    return be->framing == NET_FRAMING_VNET_HDR ? fill_tap(be) : fill_stream(be);
}

const uint8_t *net_backend_rx_peek(struct net_backend *be, size_t *len)
{
    for (;;) {
        size_t avail = be->in_end - be->in_start;

        if (be->in_discard) {
            /* The rest of a frame we could not keep: skip it as it arrives. */
            size_t n = avail < be->in_discard ? avail : (size_t)be->in_discard;
            be->in_start += n;
            be->in_discard -= n;
            if (be->in_discard)
                return NULL;
            continue;
        }
        if (avail < RECORD_HDR)
            return NULL;
        uint32_t flen = get_be32(be->in + be->in_start);
        if (flen > NET_FRAME_MAX || flen < NET_FRAME_MIN) {
            /* Not a frame a guest could take: skip it whole, keep the stream in step. */
            __atomic_fetch_add(&be->stats.rx_dropped, 1, __ATOMIC_RELAXED);
            be->in_start += RECORD_HDR;
            be->in_discard = flen;
            continue;
        }
        if (avail < RECORD_HDR + flen)
            return NULL;
        *len = flen;
        return be->in + be->in_start + RECORD_HDR;
    }
}

void net_backend_rx_consume(struct net_backend *be)
{
    uint32_t flen = get_be32(be->in + be->in_start);
    be->in_start += RECORD_HDR + flen;
    be->stats.rx_frames++;
    be->stats.rx_bytes += flen;
    if (be->in_start == be->in_end)
        be->in_start = be->in_end = 0;
}

/* ---- opening the two kinds ------------------------------------------------- */

int net_tap_open(const char *name, char *ifname)
{
    int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return -errno;

    struct ifreq ifr = {0};
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
    if (name && *name)
        snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
    int hdr_len = NET_VNET_HDR_LEN;
    if (ioctl(fd, TUNSETIFF, &ifr) < 0 || ioctl(fd, TUNSETVNETHDRSZ, &hdr_len) < 0) {
        int err = -errno;
        close(fd);
        return err;
    }
    memcpy(ifname, ifr.ifr_name, IFNAMSIZ);
    return fd;
}

int net_passt_start(const char *const *extra_args, pid_t *pid)
{
    int sv[2], report[2];

    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return -errno;
    /* exec failures come back through a close-on-exec pipe: no bytes = passt is running. */
    if (pipe2(report, O_CLOEXEC) < 0) {
        int err = -errno;
        close(sv[0]);
        close(sv[1]);
        return err;
    }

    const char *argv[64];
    unsigned argc = 0;
    char fdarg[16];
    snprintf(fdarg, sizeof(fdarg), "%d", sv[1]);
    argv[argc++] = "passt";
    argv[argc++] = "--foreground"; /* stay our child, so we can stop it */
    argv[argc++] = getenv("GOD_PASST_DEBUG") ? "--debug" : "--quiet";
    argv[argc++] = "--fd"; /* the socket is already connected: no path, no race */
    argv[argc++] = fdarg;
    if (getenv("GOD_PASST_PCAP")) {
        argv[argc++] = "--pcap";
        argv[argc++] = getenv("GOD_PASST_PCAP");
    }
    for (unsigned i = 0; extra_args && extra_args[i] && argc < 63; i++)
        argv[argc++] = extra_args[i];
    argv[argc] = NULL;

    pid_t parent = getpid();
    pid_t child = fork();
    if (child < 0) {
        int err = -errno;
        close(sv[0]);
        close(sv[1]);
        close(report[0]);
        close(report[1]);
        return err;
    }
    if (child == 0) {
        /*
         * Belt and braces: if god dies, so does passt. (The kernel clears
         * this when passt drops root privileges; then the socket closing is
         * what stops it.)
         */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent)
            _exit(127);
        /* The VMM blocks its stop signals (stop_signals.c); passt must not inherit that. */
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        /* The one fd passt must inherit. */
        fcntl(sv[1], F_SETFD, 0);
        execvp("passt", (char *const *)argv);
        int err = errno;
        ssize_t ignored = write(report[1], &err, sizeof(err));
        (void)ignored;
        _exit(127);
    }
    close(sv[1]);
    close(report[1]);
    int child_err = 0;
    ssize_t n;
    while ((n = read(report[0], &child_err, sizeof(child_err))) < 0 && errno == EINTR)
        ;
    close(report[0]);
    if (n > 0) {
        waitpid(child, NULL, 0);
        close(sv[0]);
        return -child_err;
    }
    *pid = child;
    return sv[0];
}

/*
 * virtio_worker.c - a virtio device's own thread, woken by ioeventfd (introduced in chapter 8).
 */
#define _GNU_SOURCE /* pthread_timedjoin_np */
#include "virtio_worker.h"

#include <errno.h>
#include <linux/virtio_mmio.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

/* KVM_IOEVENTFD for queue q: assign or deassign. */
static int ioeventfd(const struct virtio_worker *w, unsigned q, bool assign)
{
    struct kvm_ioeventfd ev = {
        .addr = w->dev->base + VIRTIO_MMIO_QUEUE_NOTIFY,
        .len = 4,
        .fd = w->queue_fds[q],
        .datamatch = q, /* only writes of this queue's index */
        .flags = KVM_IOEVENTFD_FLAG_DATAMATCH | (assign ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN),
    };
    return ioctl(w->vm_fd, KVM_IOEVENTFD, &ev) < 0 ? -errno : 0;
}

/*
 * How long an owed used-buffer interrupt waits (virtio_mmio_queue_publish()):
 * for a quiet moment, or at most this long while kicks keep coming. Linux's
 * hvc0 kicks again within microseconds of taking its buffer back.
 */
#define SETTLE_AFTER_MS   1
#define SETTLE_AT_MOST_MS 10

static long ms_since(const struct timespec *t)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (now.tv_sec - t->tv_sec) * 1000 + (now.tv_nsec - t->tv_nsec) / 1000000;
}

static void *worker_thread(void *arg)
{
    struct virtio_worker *w = arg;
    struct pollfd fds[VIRTIO_MMIO_MAX_QUEUES + 1];
    struct timespec owed_since = {0};
    unsigned stop = w->nr_queues;

    for (unsigned q = 0; q < w->nr_queues; q++)
        fds[q] = (struct pollfd){.fd = w->queue_fds[q], .events = POLLIN};
    fds[stop] = (struct pollfd){.fd = w->stop_fd, .events = POLLIN};

    for (;;) {
        /*
         * An interrupt left owed by virtio_mmio_queue_publish() is raised
         * (if still wanted) once the queues have been quiet for
         * SETTLE_AFTER_MS; a stream of kicks that never pauses still gets
         * it every SETTLE_AT_MOST_MS.
         */
        bool owes = virtio_mmio_owes(w->dev);
        if (owes && ms_since(&owed_since) >= SETTLE_AT_MOST_MS) {
            virtio_mmio_settle(w->dev);
            continue;
        }
        int ready = poll(fds, w->nr_queues + 1, owes ? SETTLE_AFTER_MS : -1);
        if (ready < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (ready == 0) {
            virtio_mmio_settle(w->dev);
            continue;
        }
        if (fds[stop].revents)
            break;
        if (!owes)
            clock_gettime(CLOCK_MONOTONIC, &owed_since); /* what this pass leaves owed */
        for (unsigned q = 0; q < w->nr_queues; q++) {
            uint64_t kicks;
            /* Reading resets the counter: several kicks since we last looked are one pass. */
            if (fds[q].revents && read(w->queue_fds[q], &kicks, sizeof(kicks)) == sizeof(kicks))
                virtio_mmio_queue_notify(w->dev, q);
        }
    }
    return NULL;
}

/* DRIVER_OK owes queue q a look: hand it to the thread, as if the guest had kicked. */
static void worker_wake(void *ctx, unsigned q)
{
    struct virtio_worker *w = ctx;
    uint64_t one = 1;
    if (q < w->nr_queues) {
        ssize_t ignored = write(w->queue_fds[q], &one, sizeof(one));
        (void)ignored; /* an eventfd write fails only when the counter is saturated */
    }
}

/* The signal that interrupts a worker blocked in host I/O at shutdown: see virtio_worker_stop(). */
#define WORKER_KICK_SIGNAL SIGUSR1

static void on_worker_kick(int sig)
{
    (void)sig; /* nothing to do: interrupting the blocked call is the point */
}

static int install_kick_handler(void)
{
    struct sigaction old, sa = {.sa_handler = on_worker_kick}; /* no SA_RESTART: EINTR wanted */
    if (sigaction(WORKER_KICK_SIGNAL, NULL, &old) < 0)
        return -errno;
    /* vm_control.c uses the same signal, the same way, for vCPUs: keep its handler. */
    if (old.sa_handler != SIG_DFL && old.sa_handler != SIG_IGN)
        return 0;
    sigemptyset(&sa.sa_mask);
    return sigaction(WORKER_KICK_SIGNAL, &sa, NULL) < 0 ? -errno : 0;
}

static void close_fds(struct virtio_worker *w)
{
    for (unsigned q = 0; q < VIRTIO_MMIO_MAX_QUEUES; q++) {
        if (w->queue_fds[q] >= 0)
            close(w->queue_fds[q]);
        w->queue_fds[q] = -1;
    }
    if (w->stop_fd >= 0)
        close(w->stop_fd);
    w->stop_fd = -1;
}

int virtio_worker_start(struct virtio_worker *w, int vm_fd, struct virtio_mmio *dev)
{
    memset(w, 0, sizeof(*w));
    w->dev = dev;
    w->vm_fd = vm_fd;
    w->nr_queues = dev->ops->num_queues;
    for (unsigned q = 0; q < VIRTIO_MMIO_MAX_QUEUES; q++)
        w->queue_fds[q] = -1;
    w->stop_fd = eventfd(0, EFD_CLOEXEC);
    if (w->stop_fd < 0)
        return -errno;

    int ret = install_kick_handler();
    unsigned assigned = 0;
    if (ret < 0) {
        close_fds(w);
        return ret;
    }
    for (; assigned < w->nr_queues; assigned++) {
        w->queue_fds[assigned] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (w->queue_fds[assigned] < 0) {
            ret = -errno;
            break;
        }
        if ((ret = ioeventfd(w, assigned, true)) < 0)
            break;
    }
    if (ret == 0) {
        ret = -pthread_create(&w->thread, NULL, worker_thread, w);
        w->running = (ret == 0);
    }
    if (ret == 0) {
        pthread_mutex_lock(&dev->lock);
        dev->wake = worker_wake;
        dev->wake_ctx = w;
        pthread_mutex_unlock(&dev->lock);
    }
    if (ret < 0) {
        while (assigned-- > 0)
            ioeventfd(w, assigned, false);
        close_fds(w);
    }
    return ret;
}

void virtio_worker_stop(struct virtio_worker *w)
{
    if (!w->running)
        return;
    /*
     * Tell the device to take no more work (it finishes the batch in hand),
     * and the thread to leave its poll loop. The thread may be blocked in
     * host I/O meanwhile: a write to a stdout that nobody reads never
     * returns by itself. So until it has gone, interrupt whatever call it
     * is in with a signal every 50 ms: the call fails with EINTR, the device
     * sees virtio_mmio_stopping() and gives up on that output.
     */
    virtio_mmio_stop(w->dev);
    uint64_t one = 1;
    ssize_t ignored = write(w->stop_fd, &one, sizeof(one));
    (void)ignored;
    for (;;) {
        struct timespec deadline;
        clock_gettime(CLOCK_REALTIME, &deadline);
        deadline.tv_nsec += 50 * 1000000L;
        deadline.tv_sec += deadline.tv_nsec / 1000000000L;
        deadline.tv_nsec %= 1000000000L;
        if (pthread_timedjoin_np(w->thread, NULL, &deadline) != ETIMEDOUT)
            break;
        pthread_kill(w->thread, WORKER_KICK_SIGNAL);
    }
    w->running = false;
    pthread_mutex_lock(&w->dev->lock);
    w->dev->wake = NULL;
    pthread_mutex_unlock(&w->dev->lock);
    for (unsigned q = 0; q < w->nr_queues; q++)
        ioeventfd(w, q, false);
    close_fds(w);
}

/*
 * virtio_worker.h - a virtio device's own thread, woken by ioeventfd (introduced in chapter 8).
 *
 * When the guest adds buffers to a virtqueue it writes the queue's index to
 * the QueueNotify register. Handled as an ordinary MMIO exit, that write
 * would stop the vCPU while the device does the work: a disk read would
 * stall the guest's CPU for the length of a host read.
 *
 * KVM_IOEVENTFD removes both the exit and the stall. We tell KVM "a 4-byte
 * write of value q to this address means: signal this eventfd". KVM then
 * completes the guest's write inside the kernel and the vCPU runs on at
 * once; the device's worker thread, sleeping in poll() on the eventfds,
 * wakes and processes queue q in parallel with the guest.
 */
#ifndef GOD_VIRTIO_WORKER_H
#define GOD_VIRTIO_WORKER_H

#include <linux/kvm.h>
#include <pthread.h>

#include "virtio_mmio.h"

struct virtio_worker {
    struct virtio_mmio *dev;
    int vm_fd;
    unsigned nr_queues;
    int queue_fds[VIRTIO_MMIO_MAX_QUEUES]; /* one eventfd per queue */
    int stop_fd;                           /* an eventfd that ends the thread */
    pthread_t thread;
    bool running;
};

/*
 * Register an ioeventfd for each of the device's queues and start the
 * thread. Returns 0 or -errno; on failure nothing is left registered, and
 * the device still works through ordinary MMIO exits (virtio_mmio_write()
 * handles QueueNotify itself), only slower.
 */
int virtio_worker_start(struct virtio_worker *worker, int vm_fd, struct virtio_mmio *dev);

/* Stop the thread and unregister the ioeventfds. Safe on a worker that never started. */
void virtio_worker_stop(struct virtio_worker *worker);

#endif

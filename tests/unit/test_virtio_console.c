/*
 * test_virtio_console.c - virtio-console output and input (common/virtio_console.c)
 * (introduced in chapter 8).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <endian.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>

#include "fake_edge_gic.h"
#include "guest_mem.h"
#include "log.h"
#include "virtio_console.h"

#define BASE     0x40000000ULL
#define RAM_SIZE (64ULL * 1024)
#define QSIZE    4

/* Queue q's rings at BASE + q * 0x4000; buffers from BASE + 0x8000. */
#define DESC_GPA(q)  (BASE + 0x4000ULL * (q))
#define AVAIL_GPA(q) (DESC_GPA(q) + 0x1000)
#define USED_GPA(q)  (DESC_GPA(q) + 0x2000)
#define BUF_GPA      (BASE + 0x8000)

#define RX VIRTIO_CONSOLE_RECEIVEQ
#define TX VIRTIO_CONSOLE_TRANSMITQ

struct fixture {
    struct guest_mem mem;
    struct virtio_console con;
    char out[256]; /* what tx() received */
    size_t out_len;
    unsigned rx_ready_calls;
    uint16_t avail_idx[2];
    struct fake_edge_gic gic; /* the device's interrupt input */
    /* A terminal that stops reading: tx() blocks while `stuck`. */
    pthread_mutex_t stuck_lock;
    pthread_cond_t stuck_cond;
    bool stuck, in_tx;
};

static uint8_t *host(struct fixture *f, uint64_t gpa)
{
    return f->mem.host + (gpa - BASE);
}

static void tx(void *ctx, const uint8_t *buf, size_t len)
{
    struct fixture *f = ctx;
    pthread_mutex_lock(&f->stuck_lock);
    f->in_tx = true;
    pthread_cond_broadcast(&f->stuck_cond);
    while (f->stuck)
        pthread_cond_wait(&f->stuck_cond, &f->stuck_lock);
    pthread_mutex_unlock(&f->stuck_lock);
    assert_true(f->out_len + len <= sizeof(f->out));
    memcpy(f->out + f->out_len, buf, len);
    f->out_len += len;
}

static void rx_ready(void *ctx)
{
    struct fixture *f = ctx;
    f->rx_ready_calls++;
}

static void wr(struct fixture *f, uint64_t offset, uint32_t value)
{
    virtio_mmio_write(&f->con.transport, offset, 4, value);
}

static uint32_t rd(struct fixture *f, uint64_t offset)
{
    return (uint32_t)virtio_mmio_read(&f->con.transport, offset, 4);
}

/* Bring the device up with VIRTIO_F_VERSION_1 and the feature bits 0-31 given. */
static void driver_bring_up_with(struct fixture *f, uint32_t features_lo)
{
    const uint32_t s = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;

    wr(f, VIRTIO_MMIO_STATUS, s);
    wr(f, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
    wr(f, VIRTIO_MMIO_DRIVER_FEATURES, features_lo);
    wr(f, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
    wr(f, VIRTIO_MMIO_DRIVER_FEATURES, 1); /* VIRTIO_F_VERSION_1, bit 32 */
    wr(f, VIRTIO_MMIO_STATUS, s | VIRTIO_CONFIG_S_FEATURES_OK);
    for (unsigned q = 0; q < 2; q++) {
        wr(f, VIRTIO_MMIO_QUEUE_SEL, q);
        wr(f, VIRTIO_MMIO_QUEUE_NUM, QSIZE);
        wr(f, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)DESC_GPA(q));
        wr(f, VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)AVAIL_GPA(q));
        wr(f, VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)USED_GPA(q));
        wr(f, VIRTIO_MMIO_QUEUE_READY, 1);
    }
    unsigned before = f->rx_ready_calls;
    wr(f, VIRTIO_MMIO_STATUS, s | VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
    /* DRIVER_OK: receive buffers may already be posted, so input may be retried. */
    assert_int_equal(f->rx_ready_calls, before + 1);
    f->rx_ready_calls = 0;
}

static void driver_bring_up(struct fixture *f)
{
    driver_bring_up_with(f, 0);
}

static int setup_common(void **state, bool bring_up)
{
    static struct fixture f;
    memset(&f, 0, sizeof(f));
    pthread_mutex_init(&f.stuck_lock, NULL);
    pthread_cond_init(&f.stuck_cond, NULL);
    if (guest_mem_alloc(&f.mem, BASE, RAM_SIZE) != 0)
        return -1;
    struct virtio_console_host h = {.tx = tx, .rx_ready = rx_ready, .ctx = &f};
    struct irq_line irq = fake_edge_gic_line(&f.gic, 17);
    if (virtio_console_init(&f.con, &h, &f.mem, 0x0a000200, irq) != 0)
        return -1;
    log_set_muted(true);
    if (bring_up)
        driver_bring_up(&f);
    *state = &f;
    return 0;
}

static int setup(void **state)
{
    return setup_common(state, true);
}

static int setup_idle(void **state)
{
    return setup_common(state, false);
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    virtio_console_destroy(&f->con);
    guest_mem_free(&f->mem);
    return 0;
}

/* Post a one-descriptor buffer on queue q, using descriptor `d`. */
static void post(struct fixture *f, unsigned q, unsigned d, uint64_t gpa, uint32_t len,
                 bool writable)
{
    struct vring_desc *desc = (struct vring_desc *)host(f, DESC_GPA(q));
    struct vring_avail *avail = (struct vring_avail *)host(f, AVAIL_GPA(q));

    desc[d] = (struct vring_desc){.addr = htole64(gpa),
                                  .len = htole32(len),
                                  .flags = htole16(writable ? VRING_DESC_F_WRITE : 0)};
    avail->ring[f->avail_idx[q] % QSIZE] = htole16(d);
    f->avail_idx[q]++;
    avail->idx = htole16(f->avail_idx[q]);
}

static const struct vring_used *used(struct fixture *f, unsigned q)
{
    return (const struct vring_used *)host(f, USED_GPA(q));
}

/* With EVENT_IDX: ask for an interrupt when used entry `idx` is written (section 2.7.7). */
static void set_used_event(struct fixture *f, unsigned q, uint16_t idx)
{
    struct vring_avail *avail = (struct vring_avail *)host(f, AVAIL_GPA(q));
    avail->ring[QSIZE] = htole16(idx);
}

/* A worker thread's wake-up, as far as the device can tell: one exists. */
static void no_wake(void *ctx, unsigned index)
{
    (void)ctx;
    (void)index;
}

/*
 * Transmit "hello\n" the way Linux's hvc0 does: EVENT_IDX negotiated, an
 * interrupt asked for the first buffer (as virtqueue_enable_cb() leaves
 * used_event), and a worker thread behind the device.
 */
static void transmit_with_a_worker(struct fixture *f)
{
    wr(f, VIRTIO_MMIO_STATUS, 0);
    driver_bring_up_with(f, 1u << VIRTIO_RING_F_EVENT_IDX);
    f->con.transport.wake = no_wake;
    set_used_event(f, TX, 0);
    memcpy(host(f, BUF_GPA), "hello\n", 6);
    post(f, TX, 0, BUF_GPA, 6, false);
    wr(f, VIRTIO_MMIO_QUEUE_NOTIFY, TX);

    assert_int_equal(f->out_len, 6);
    assert_memory_equal(f->out, "hello\n", 6);
    assert_int_equal(le16toh(used(f, TX)->idx), 1); /* handed back at once... */
    assert_false(fake_edge_gic_take(&f->gic));      /* ...the interrupt owed */
    assert_true(virtio_mmio_owes(&f->con.transport));
}

/* ---- tests --------------------------------------------------------------- */

static void identifies_as_console(void **state)
{
    struct fixture *f = *state;

    assert_int_equal(rd(f, VIRTIO_MMIO_DEVICE_ID), 3);
    wr(f, VIRTIO_MMIO_QUEUE_SEL, 1);
    assert_int_equal(rd(f, VIRTIO_MMIO_QUEUE_NUM_MAX), VIRTIO_CONSOLE_QUEUE_SIZE);
    wr(f, VIRTIO_MMIO_QUEUE_SEL, 2); /* no control queues without MULTIPORT */
    assert_int_equal(rd(f, VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
}

static void transmit(void **state)
{
    struct fixture *f = *state;

    memcpy(host(f, BUF_GPA), "hello, ", 7);
    memcpy(host(f, BUF_GPA + 0x100), "world\n", 6);
    post(f, TX, 0, BUF_GPA, 7, false);
    post(f, TX, 1, BUF_GPA + 0x100, 6, false);
    wr(f, VIRTIO_MMIO_QUEUE_NOTIFY, TX);

    assert_int_equal(f->out_len, 13);
    assert_memory_equal(f->out, "hello, world\n", 13);
    assert_int_equal(le16toh(used(f, TX)->idx), 2);
    assert_int_equal(le32toh(used(f, TX)->ring[1].id), 1);
    assert_int_equal(le32toh(used(f, TX)->ring[1].len), 0); /* we wrote nothing into it */
    assert_true(fake_edge_gic_take(&f->gic));
}

/*
 * hvc0 spins until its buffer comes back, takes it, and moves used_event
 * past it (virtqueue_get_buf()): when the worker settles, the driver no
 * longer wants the interrupt, and none is raised.
 */
static void polling_driver_gets_no_interrupt(void **state)
{
    struct fixture *f = *state;

    transmit_with_a_worker(f);
    set_used_event(f, TX, le16toh(used(f, TX)->idx)); /* the driver took it */
    virtio_mmio_settle(&f->con.transport);

    assert_false(fake_edge_gic_take(&f->gic));
    assert_false(virtio_mmio_owes(&f->con.transport));
    assert_int_equal(f->con.transport.used_notifications, 0);
}

/* A driver that waits for the interrupt instead gets it when the worker settles. */
static void waiting_driver_gets_its_interrupt(void **state)
{
    struct fixture *f = *state;

    transmit_with_a_worker(f);
    virtio_mmio_settle(&f->con.transport);

    assert_true(fake_edge_gic_take(&f->gic));
    assert_int_equal(f->con.transport.used_notifications, 1);
    assert_int_equal(rd(f, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_VRING);
}

/* A reset forgets what was owed to the driver that is gone. */
static void reset_forgets_the_owed_interrupt(void **state)
{
    struct fixture *f = *state;

    transmit_with_a_worker(f);
    wr(f, VIRTIO_MMIO_STATUS, 0);
    assert_false(virtio_mmio_owes(&f->con.transport));
    virtio_mmio_settle(&f->con.transport);
    assert_false(fake_edge_gic_take(&f->gic));
}

static void receive_without_buffers(void **state)
{
    struct fixture *f = *state;

    assert_int_equal(virtio_console_receive(&f->con, (const uint8_t *)"abc", 3), 0);
    assert_false(fake_edge_gic_take(&f->gic));
}

static void receive_before_driver_ok(void **state)
{
    struct fixture *f = *state; /* setup_idle */

    assert_int_equal(virtio_console_receive(&f->con, (const uint8_t *)"abc", 3), 0);
}

static void receive_fills_posted_buffers(void **state)
{
    struct fixture *f = *state;

    post(f, RX, 0, BUF_GPA, 4, true);
    post(f, RX, 1, BUF_GPA + 0x100, 4, true);
    wr(f, VIRTIO_MMIO_QUEUE_NOTIFY, RX);
    assert_int_equal(f->rx_ready_calls, 1);

    /* 10 bytes, 8 bytes of buffers: the caller keeps the last 2. */
    assert_int_equal(virtio_console_receive(&f->con, (const uint8_t *)"0123456789", 10), 8);
    assert_memory_equal(host(f, BUF_GPA), "0123", 4);
    assert_memory_equal(host(f, BUF_GPA + 0x100), "4567", 4);
    assert_int_equal(le16toh(used(f, RX)->idx), 2);
    assert_int_equal(le32toh(used(f, RX)->ring[0].len), 4);
    assert_true(fake_edge_gic_take(&f->gic));

    /* Acknowledge, then the rest arrives once a new buffer is posted. */
    wr(f, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
    assert_false(fake_edge_gic_take(&f->gic));
    assert_int_equal(virtio_console_receive(&f->con, (const uint8_t *)"89", 2), 0);
    post(f, RX, 2, BUF_GPA + 0x200, 64, true);
    wr(f, VIRTIO_MMIO_QUEUE_NOTIFY, RX);
    assert_int_equal(f->rx_ready_calls, 2);
    assert_int_equal(virtio_console_receive(&f->con, (const uint8_t *)"89", 2), 2);
    assert_int_equal(le32toh(used(f, RX)->ring[2].len), 2);
    assert_memory_equal(host(f, BUF_GPA + 0x200), "89", 2);
    assert_true(fake_edge_gic_take(&f->gic));
}

static void receive_into_broken_ring(void **state)
{
    struct fixture *f = *state;

    post(f, RX, 0, BASE + RAM_SIZE, 16, true); /* outside guest RAM */
    assert_int_equal(virtio_console_receive(&f->con, (const uint8_t *)"x", 1), 0);
    assert_true(rd(f, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
}

static void reset_then_again(void **state)
{
    struct fixture *f = *state;

    wr(f, VIRTIO_MMIO_STATUS, 0);
    assert_int_equal(virtio_console_receive(&f->con, (const uint8_t *)"x", 1), 0);
    memset(f->mem.host, 0, RAM_SIZE);
    memset(f->avail_idx, 0, sizeof(f->avail_idx));
    driver_bring_up(f);
    post(f, RX, 0, BUF_GPA, 4, true);
    assert_int_equal(virtio_console_receive(&f->con, (const uint8_t *)"x", 1), 1);
}

static void *kick_tx(void *arg)
{
    wr(arg, VIRTIO_MMIO_QUEUE_NOTIFY, TX);
    return NULL;
}

struct vcpu_access {
    struct fixture *f;
    bool done;
    uint32_t interrupt_status;
};

/* A vCPU reading InterruptStatus and then resetting the device. */
static void *vcpu_access(void *arg)
{
    struct vcpu_access *a = arg;
    a->interrupt_status = rd(a->f, VIRTIO_MMIO_INTERRUPT_STATUS);
    wr(a->f, VIRTIO_MMIO_STATUS, 0);
    pthread_mutex_lock(&a->f->stuck_lock);
    a->done = true;
    pthread_cond_broadcast(&a->f->stuck_cond);
    pthread_mutex_unlock(&a->f->stuck_lock);
    return NULL;
}

/*
 * Issue 8 item 7: output to a terminal that does not read blocks the
 * worker in tx(), but never a vCPU: register accesses go on meanwhile. The
 * guest resets the device while the write hangs; when it finally returns,
 * the chain is not handed back to the reset queue.
 */
static void blocked_output_blocks_no_vcpu(void **state)
{
    struct fixture *f = *state;
    pthread_t worker, vcpu;
    struct vcpu_access a = {.f = f};

    f->stuck = true;
    memcpy(host(f, BUF_GPA), "stuck", 5);
    post(f, TX, 0, BUF_GPA, 5, false);
    assert_int_equal(pthread_create(&worker, NULL, kick_tx, f), 0);
    pthread_mutex_lock(&f->stuck_lock);
    while (!f->in_tx)
        pthread_cond_wait(&f->stuck_cond, &f->stuck_lock);
    pthread_mutex_unlock(&f->stuck_lock);

    assert_int_equal(pthread_create(&vcpu, NULL, vcpu_access, &a), 0);
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 2;
    pthread_mutex_lock(&f->stuck_lock);
    while (!a.done && pthread_cond_timedwait(&f->stuck_cond, &f->stuck_lock, &deadline) == 0)
        ;
    bool vcpu_done = a.done;
    f->stuck = false; /* the terminal reads again: let everything finish */
    pthread_cond_broadcast(&f->stuck_cond);
    pthread_mutex_unlock(&f->stuck_lock);
    pthread_join(worker, NULL);
    pthread_join(vcpu, NULL);

    assert_true(vcpu_done); /* the vCPU did not wait for the terminal */
    assert_int_equal(a.interrupt_status, 0);
    assert_memory_equal(f->out, "stuck", 5);
    /* Reset before the write returned: nothing pushed, no interrupt. */
    assert_int_equal(le16toh(used(f, TX)->idx), 0);
    assert_false(fake_edge_gic_take(&f->gic));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(identifies_as_console, setup, teardown),
        cmocka_unit_test_setup_teardown(transmit, setup, teardown),
        cmocka_unit_test_setup_teardown(polling_driver_gets_no_interrupt, setup, teardown),
        cmocka_unit_test_setup_teardown(waiting_driver_gets_its_interrupt, setup, teardown),
        cmocka_unit_test_setup_teardown(reset_forgets_the_owed_interrupt, setup, teardown),
        cmocka_unit_test_setup_teardown(receive_without_buffers, setup, teardown),
        cmocka_unit_test_setup_teardown(receive_before_driver_ok, setup_idle, teardown),
        cmocka_unit_test_setup_teardown(receive_fills_posted_buffers, setup, teardown),
        cmocka_unit_test_setup_teardown(receive_into_broken_ring, setup, teardown),
        cmocka_unit_test_setup_teardown(reset_then_again, setup, teardown),
        cmocka_unit_test_setup_teardown(blocked_output_blocks_no_vcpu, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * cases_console.c - the virtio console (virtio 1.2 section 5.3): transmit
 * chains done wrong, a one-entry queue, bogus queues, and receive buffers
 * done wrong while check.sh feeds god's standard input.
 */
#include "cases.h"

#define TXQ 1
#define RXQ 0

static const char *transmit(const char *text, uint16_t flags, uint32_t *used)
{
    struct vq *q = &con.q[TXQ];
    uint8_t *buf = vbuf(&con, 0);
    unsigned n = strlen(text);
    memcpy(buf, text, n);
    desc_set(q, 0, (uintptr_t)buf, n, flags, 0);
    vq_post(q, 0);
    vq_kick(&con, TXQ);
    enum wait_result r = vq_wait(&con, TXQ, WAIT_LONG);
    CHECK(r != WAIT_NEEDS_RESET, "DEVICE_NEEDS_RESET");
    CHECK(r == WAIT_USED, "no answer");
    *used = used_len(q, q->used_seen - 1);
    return NULL;
}

static const char *tx_ok(void)
{
    uint32_t used;
    const char *why = transmit("hostile-console: transmitted\n", 0, &used);
    CHECK(!why, why);
    CHECK(used == 0, "used len of a transmit buffer is not 0");
    return NULL; /* check.sh looks for the line in god's output */
}

static const char *tx_writable(void)
{
    /* A device-writable transmit buffer: nothing to send (check.sh: the text must not appear). */
    uint32_t used;
    const char *why = transmit("hostile-console: WRITABLE-TX\n", D_WRITE, &used);
    CHECK(!why, why);
    CHECK(used == 0, "used len is not 0");
    return NULL;
}

static const char *tx_bad(uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
    desc_set(&con.q[TXQ], 0, addr, len, flags, next);
    return expect_needs_reset(&con, TXQ, 0);
}

static const char *tx_loop(void)
{
    return tx_bad((uintptr_t)vbuf(&con, 0), 4, D_NEXT, 0);
}
static const char *tx_outside_ram(void)
{
    return tx_bad(ram_end + 0x1000, 16, 0, 0);
}
static const char *tx_len_zero(void)
{
    return tx_bad((uintptr_t)vbuf(&con, 0), 0, 0, 0);
}

static const char *tx_queue_size_1(void)
{
    const char *why = vdev_init(&con, F_VERSION_1, 1);
    CHECK(!why, why);
    uint32_t used;
    for (int i = 0; i < 3; i++) {
        why = transmit("hostile-console: one-entry queue\n", 0, &used);
        CHECK(!why, why);
    }
    vw(&con, R_STATUS, 0);
    return NULL;
}

static const char *bogus_queues(void)
{
    for (uint32_t q = 2; q < 6; q++)
        vw(&con, R_QUEUE_NOTIFY, q);
    vw(&con, R_QUEUE_SEL, 2);
    CHECK(vr(&con, R_QUEUE_NUM_MAX) == 0, "queue 2 exists");
    vw(&con, R_QUEUE_SEL, 1);
    CHECK(vr(&con, R_QUEUE_NUM_MAX) == 64, "queue 1's QueueNumMax is not 64");
    return NULL;
}

/* Receive: check.sh writes "HOSTILE-INPUT-0123456789abcdefghijklmnopqrstuvwxyz" to stdin. */
static const char *rx_post(uint16_t flags, unsigned len, enum wait_result *r)
{
    struct vq *q = &con.q[RXQ];
    desc_set(q, 0, (uintptr_t)vbuf(&con, 1), len, flags, 0);
    vq_post(q, 0);
    vq_kick(&con, RXQ);
    *r = vq_wait(&con, RXQ, WAIT_LONG);
    return NULL;
}

static const char *rx_readonly_buffer(void)
{
    enum wait_result r;
    canary_fill(vbuf(&con, 1), 64);
    rx_post(0, 8, &r);
    CHECK(r == WAIT_USED, "a read-only receive buffer was not handed back");
    CHECK(used_len(&con.q[RXQ], con.q[RXQ].used_seen - 1) == 0, "used len is not 0");
    CHECK(canary_intact(vbuf(&con, 1), 64), "input written into a read-only buffer");
    return NULL;
}

static const char *rx_ok(void)
{
    enum wait_result r;
    memset(vbuf(&con, 1), 0, 64);
    rx_post(D_WRITE, 8, &r);
    CHECK(r == WAIT_USED, "no input arrived");
    CHECK(used_len(&con.q[RXQ], con.q[RXQ].used_seen - 1) == 8, "used len is not 8");
    CHECK(memcmp(vbuf(&con, 1), "HOSTILE-", 8) == 0, "wrong input");
    return NULL;
}

static const char *rx_two_buffers(void)
{
    struct vq *q = &con.q[RXQ];
    uint8_t *b = vbuf(&con, 1);
    memset(b, 0, 64);
    desc_set(q, 0, (uintptr_t)b, 3, D_WRITE | D_NEXT, 1);
    desc_set(q, 1, (uintptr_t)b + 32, 3, D_WRITE, 0);
    vq_post(q, 0);
    vq_kick(&con, RXQ);
    CHECK(vq_wait(&con, RXQ, WAIT_LONG) == WAIT_USED, "no input arrived");
    CHECK(used_len(q, q->used_seen - 1) == 6, "used len is not 6");
    CHECK(memcmp(b, "INP", 3) == 0 && memcmp(b + 32, "UT-", 3) == 0, "wrong input");
    return NULL;
}

static const char *rx_bad(uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
    /* The device only looks at receive buffers when input is waiting: there is, so it must. */
    desc_set(&con.q[RXQ], 0, addr, len, flags, next);
    return expect_needs_reset(&con, RXQ, 0);
}

static const char *rx_loop(void)
{
    return rx_bad((uintptr_t)vbuf(&con, 1), 4, D_WRITE | D_NEXT, 0);
}
static const char *rx_outside_ram(void)
{
    return rx_bad(ram_end, 16, D_WRITE, 0);
}
static const char *rx_straddles_ram_end(void)
{
    return rx_bad(ram_end - 4, 16, D_WRITE, 0);
}

const struct hostile_case console_cases[] = {
    {"console transmit", tx_ok},
    {"console transmit from a writable buffer", tx_writable},
    {"console transmit loop", tx_loop},
    {"console transmit outside RAM", tx_outside_ram},
    {"console transmit length 0", tx_len_zero},
    {"console one-entry queue", tx_queue_size_1},
    {"console bogus queues", bogus_queues},
    {"console receive into a read-only buffer", rx_readonly_buffer},
    {"console receive", rx_ok},
    {"console receive into two buffers", rx_two_buffers},
    {"console receive loop", rx_loop},
    {"console receive outside RAM", rx_outside_ram},
    {"console receive straddles RAM's end", rx_straddles_ram_end},
};
const unsigned console_count = ARRAY_SIZE(console_cases);

/*
 * test_pl011.c - the PL011 UART model (common/pl011.c), driven through the MMIO bus
 * exactly as the run loop drives it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "memmap.h"
#include "mmio_bus.h"
#include "pl011.h"

#define LCR_H_8N1_FIFO (0x60 | PL011_LCR_H_FEN) /* 8 data bits, FIFOs on: what Linux writes */

struct fixture {
    struct pl011 uart;
    struct mmio_bus bus;

    char sent[256]; /* what the guest transmitted */
    size_t nsent;

    bool levels[64]; /* the first calls to the irq line, in order */
    unsigned ncalls;
    bool level;    /* the wire as the interrupt controller sees it */
    bool repeated; /* set by a call that did not change the level */
    unsigned spi;
};

static void record_tx(void *ctx, uint8_t byte)
{
    struct fixture *f = ctx;
    if (f->nsent < sizeof(f->sent))
        f->sent[f->nsent++] = (char)byte;
}

static void record_irq(void *ctx, unsigned spi, bool level)
{
    struct fixture *f = ctx;

    /* The wire starts low, and the model must only call us to change it. */
    if (level == f->level)
        f->repeated = true;
    f->level = level;
    f->spi = spi;
    if (f->ncalls < 64)
        f->levels[f->ncalls] = level;
    f->ncalls++;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    struct pl011_output out = {.tx = record_tx, .ctx = f};
    struct irq_line irq = {.set_level = record_irq, .ctx = f, .spi = PL011_SPI};
    if (pl011_init(&f->uart, &out, &irq) != 0)
        return -1;
    struct mmio_region r = pl011_region(&f->uart);
    if (mmio_bus_add(&f->bus, &r) != 0)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    pl011_destroy(&f->uart);
    free(f);
    return 0;
}

static uint64_t rd_w(struct fixture *f, uint64_t offset, unsigned width)
{
    uint8_t data[8];
    assert_int_equal(mmio_bus_access(&f->bus, PL011_BASE + offset, data, width, false), 0);
    return mmio_bus_get_le(data, width);
}

static void wr_w(struct fixture *f, uint64_t offset, unsigned width, uint64_t value)
{
    uint8_t data[8];
    mmio_bus_put_le(data, width, value);
    assert_int_equal(mmio_bus_access(&f->bus, PL011_BASE + offset, data, width, true), 0);
}

static uint32_t rd(struct fixture *f, uint64_t offset)
{
    return (uint32_t)rd_w(f, offset, 4);
}

static void wr(struct fixture *f, uint64_t offset, uint32_t value)
{
    wr_w(f, offset, 4, value);
}

static void receive_str(struct fixture *f, const char *s, size_t want_accepted)
{
    assert_int_equal(pl011_receive(&f->uart, (const uint8_t *)s, strlen(s)), want_accepted);
}

static void reset_state(void **state)
{
    struct fixture *f = *state;

    assert_int_equal(rd(f, PL011_FR), PL011_FR_TXFE | PL011_FR_RXFE); /* 0x90 */
    assert_int_equal(rd(f, PL011_CR), 0x300);
    assert_int_equal(rd(f, PL011_IFLS), 0x12);
    assert_int_equal(rd(f, PL011_LCR_H), 0);
    assert_int_equal(rd(f, PL011_IMSC), 0);
    assert_int_equal(rd(f, PL011_RIS), PL011_INT_TX); /* the TX FIFO is empty */
    assert_int_equal(rd(f, PL011_MIS), 0);
    assert_int_equal(rd(f, PL011_RSR), 0);
    assert_int_equal(pl011_rx_room(&f->uart), 1); /* FIFOs off: a 1-byte holding register */
    assert_int_equal(f->ncalls, 0);               /* the line starts low, untouched */
}

static void id_registers(void **state)
{
    struct fixture *f = *state;
    const uint8_t want[8] = {0x11, 0x10, 0x14, 0x00, 0x0D, 0xF0, 0x05, 0xB1};

    for (unsigned i = 0; i < 8; i++) {
        assert_int_equal(rd(f, PL011_PERIPH_ID0 + 4 * i), want[i]);
        assert_int_equal(rd_w(f, PL011_PERIPH_ID0 + 4 * i, 1), want[i]);
    }
    assert_string_equal(pl011_reg_name(0xFE0), "UARTPeriphID0");
    assert_string_equal(pl011_reg_name(0xFFC), "UARTPCellID3");
}

static void tx_goes_to_callback(void **state)
{
    struct fixture *f = *state;

    /* UARTCR still has UARTEN clear, as when earlycon starts writing. */
    wr(f, PL011_DR, 'H');
    wr_w(f, PL011_DR, 1, 'i');
    wr_w(f, PL011_DR, 2, 0x100 | '!'); /* only the low 8 bits are data */
    wr(f, PL011_DR, '\n');
    assert_int_equal(f->nsent, 4);
    assert_memory_equal(f->sent, "Hi!\n", 4);

    /* Transmission is instantaneous: never full, never busy. */
    uint32_t fr = rd(f, PL011_FR);
    assert_true(fr & PL011_FR_TXFE);
    assert_false(fr & PL011_FR_TXFF);
    assert_false(fr & PL011_FR_BUSY);
    assert_true(rd(f, PL011_RIS) & PL011_INT_TX);
    assert_int_equal(f->ncalls, 0); /* TXIM is masked */
}

static void rx_holding_register_without_fifo(void **state)
{
    struct fixture *f = *state;

    receive_str(f, "ab", 1);
    assert_int_equal(pl011_rx_room(&f->uart), 0);
    assert_int_equal(rd(f, PL011_FR), PL011_FR_TXFE | PL011_FR_RXFF);
    receive_str(f, "b", 0); /* never overflows */

    assert_int_equal(rd(f, PL011_DR), 'a');
    assert_int_equal(rd(f, PL011_FR), PL011_FR_TXFE | PL011_FR_RXFE);
    receive_str(f, "b", 1);
    assert_int_equal(rd_w(f, PL011_DR, 2), 'b');
}

static void rx_fifo_fill_and_drain(void **state)
{
    struct fixture *f = *state;

    wr(f, PL011_LCR_H, LCR_H_8N1_FIFO);
    assert_int_equal(pl011_rx_room(&f->uart), PL011_FIFO_DEPTH);

    receive_str(f, "0123456789ABCDEFGHIJ", PL011_FIFO_DEPTH); /* 20 offered, 16 fit */
    assert_int_equal(pl011_rx_room(&f->uart), 0);
    assert_true(rd(f, PL011_FR) & PL011_FR_RXFF);
    assert_false(rd(f, PL011_FR) & PL011_FR_RXFE);
    receive_str(f, "GHIJ", 0);

    assert_int_equal(rd(f, PL011_DR), '0');
    assert_false(rd(f, PL011_FR) & PL011_FR_RXFF);
    assert_int_equal(pl011_rx_room(&f->uart), 1);
    receive_str(f, "GHIJ", 1); /* goes in behind 'F' */

    const char *want = "123456789ABCDEFG";
    for (size_t i = 0; i < strlen(want); i++) {
        assert_false(rd(f, PL011_FR) & PL011_FR_RXFE);
        assert_int_equal(rd(f, PL011_DR), want[i]);
    }
    assert_int_equal(rd(f, PL011_FR), PL011_FR_TXFE | PL011_FR_RXFE);
    assert_int_equal(rd(f, PL011_DR), 0); /* reading an empty FIFO is harmless */
    assert_int_equal(pl011_rx_room(&f->uart), PL011_FIFO_DEPTH);
}

static void rx_fifo_wraps_around(void **state)
{
    struct fixture *f = *state;
    char expect = 'a';

    wr(f, PL011_LCR_H, LCR_H_8N1_FIFO);
    /* Several rounds of "add some, take some" walk the ring past its end. */
    for (int round = 0; round < 5; round++) {
        receive_str(f, round % 2 ? "fghijklmnop" : "abcde", round % 2 ? 11 : 5);
        while (!(rd(f, PL011_FR) & PL011_FR_RXFE)) {
            assert_int_equal(rd(f, PL011_DR), expect);
            expect = expect == 'p' ? 'a' : (char)(expect + 1);
        }
    }
    assert_int_equal(expect, 'f');
}

static void disabling_fifo_keeps_bytes(void **state)
{
    struct fixture *f = *state;

    wr(f, PL011_LCR_H, LCR_H_8N1_FIFO);
    receive_str(f, "xyz", 3);
    wr(f, PL011_LCR_H, 0x60); /* FIFOs off: capacity 1, but 3 bytes are waiting */
    assert_int_equal(pl011_rx_room(&f->uart), 0);
    assert_true(rd(f, PL011_FR) & PL011_FR_RXFF);
    assert_int_equal(rd(f, PL011_DR), 'x');
    assert_int_equal(rd(f, PL011_DR), 'y');
    assert_int_equal(rd(f, PL011_DR), 'z');
    assert_int_equal(pl011_rx_room(&f->uart), 1);
}

static void interrupt_status_logic(void **state)
{
    struct fixture *f = *state;

    wr(f, PL011_LCR_H, LCR_H_8N1_FIFO); /* IFLS reset value: RX trigger at 1/2 = 8 bytes */
    assert_false(pl011_rx_irq_enabled(&f->uart));
    wr(f, PL011_IMSC, PL011_INT_RX | PL011_INT_RT);
    assert_int_equal(rd(f, PL011_IMSC), PL011_INT_RX | PL011_INT_RT);
    assert_true(pl011_rx_irq_enabled(&f->uart));

    receive_str(f, "abc", 3); /* below the trigger: only the timeout */
    assert_int_equal(rd(f, PL011_RIS), PL011_INT_TX | PL011_INT_RT);
    assert_int_equal(rd(f, PL011_MIS), PL011_INT_RT);

    receive_str(f, "defgh", 5); /* 8 bytes: the trigger level is reached */
    assert_int_equal(rd(f, PL011_RIS), PL011_INT_TX | PL011_INT_RT | PL011_INT_RX);
    assert_int_equal(rd(f, PL011_MIS), PL011_INT_RT | PL011_INT_RX);

    /* ICR clears RXIS; RTIS and TXIS come straight back, their conditions still hold. */
    wr(f, PL011_ICR, PL011_INT_RX | PL011_INT_RT | PL011_INT_TX);
    assert_int_equal(rd(f, PL011_RIS), PL011_INT_TX | PL011_INT_RT);

    receive_str(f, "i", 1); /* still above the trigger: no new edge, RXIS stays clear */
    assert_false(rd(f, PL011_RIS) & PL011_INT_RX);

    rd(f, PL011_DR);
    rd(f, PL011_DR);        /* 7: below the trigger */
    receive_str(f, "j", 1); /* 8 again: RXIS is raised again */
    assert_true(rd(f, PL011_RIS) & PL011_INT_RX);
    rd(f, PL011_DR); /* reading below the trigger clears it */
    assert_false(rd(f, PL011_RIS) & PL011_INT_RX);

    while (!(rd(f, PL011_FR) & PL011_FR_RXFE))
        rd(f, PL011_DR);
    assert_int_equal(rd(f, PL011_RIS), PL011_INT_TX);
    assert_int_equal(rd(f, PL011_MIS), 0);

    /* Writes to the status registers are ignored (and logged). */
    log_set_muted(true);
    wr(f, PL011_RIS, 0x7FF);
    wr(f, PL011_MIS, 0x7FF);
    log_set_muted(false);
    assert_int_equal(rd(f, PL011_RIS), PL011_INT_TX);
}

static void rx_trigger_levels(void **state)
{
    struct fixture *f = *state;

    wr(f, PL011_LCR_H, LCR_H_8N1_FIFO);
    wr(f, PL011_IFLS, 0 << 3); /* RX at 1/8: 2 bytes */
    receive_str(f, "a", 1);
    assert_false(rd(f, PL011_RIS) & PL011_INT_RX);
    receive_str(f, "b", 1);
    assert_true(rd(f, PL011_RIS) & PL011_INT_RX);

    wr(f, PL011_IFLS, 4 << 3); /* RX at 7/8: 14 bytes; 2 are below that */
    assert_false(rd(f, PL011_RIS) & PL011_INT_RX);
    receive_str(f, "cdefghijklm", 11);
    assert_false(rd(f, PL011_RIS) & PL011_INT_RX);
    receive_str(f, "n", 1);
    assert_true(rd(f, PL011_RIS) & PL011_INT_RX);

    /* Once cleared, RXIS stays clear while the level stays at or above the trigger... */
    wr(f, PL011_ICR, PL011_INT_RX);
    wr(f, PL011_IFLS, 1 << 3); /* 1/4: 4 bytes; we hold 14 */
    assert_false(rd(f, PL011_RIS) & PL011_INT_RX);

    /* ...but lowering the trigger from above the level down to it is reaching it. */
    wr(f, PL011_IFLS, 4 << 3);
    for (int i = 0; i < 11; i++)
        rd(f, PL011_DR); /* 3 left, trigger 14 */
    assert_false(rd(f, PL011_RIS) & PL011_INT_RX);
    wr(f, PL011_IFLS, 0 << 3); /* trigger 2 */
    assert_true(rd(f, PL011_RIS) & PL011_INT_RX);
}

static void irq_line_follows_mis(void **state)
{
    struct fixture *f = *state;

    wr(f, PL011_IMSC, PL011_INT_TX); /* the TX FIFO is empty: fires at once */
    assert_int_equal(f->ncalls, 1);
    assert_true(f->levels[0]);
    assert_int_equal(f->spi, PL011_SPI);

    wr(f, PL011_DR, 'x'); /* no change in level: no call */
    wr(f, PL011_IMSC, PL011_INT_TX);
    wr(f, PL011_ICR, PL011_INT_TX);
    assert_int_equal(f->ncalls, 1);

    wr(f, PL011_IMSC, 0);
    assert_int_equal(f->ncalls, 2);
    assert_false(f->levels[1]);

    wr(f, PL011_IMSC, PL011_INT_RX | PL011_INT_RT); /* nothing received yet */
    assert_int_equal(f->ncalls, 2);
    receive_str(f, "k", 1);
    assert_int_equal(f->ncalls, 3);
    assert_true(f->levels[2]);
    receive_str(f, "l", 0); /* refused: no change */
    rd(f, PL011_FR);
    assert_int_equal(f->ncalls, 3);

    assert_int_equal(rd(f, PL011_DR), 'k'); /* empty again: the line drops */
    assert_int_equal(f->ncalls, 4);
    assert_false(f->levels[3]);
    assert_false(f->repeated);
}

static void registers_hold_values(void **state)
{
    struct fixture *f = *state;

    wr(f, PL011_IBRD, 0x1FFFF);
    assert_int_equal(rd(f, PL011_IBRD), 0xFFFF);
    wr(f, PL011_FBRD, 0xFF);
    assert_int_equal(rd(f, PL011_FBRD), 0x3F);
    wr(f, PL011_ILPR, 0x1AB);
    assert_int_equal(rd(f, PL011_ILPR), 0xAB);
    wr(f, PL011_IMSC, 0xFFFF);
    assert_int_equal(rd(f, PL011_IMSC), PL011_INT_ALL);
    wr(f, PL011_IMSC, 0);
    wr(f, PL011_DMACR, 0x4); /* DMAONERR only: no DMA requested, no warning */
    assert_int_equal(rd(f, PL011_DMACR), 0x4);

    /* 16-bit accesses, as Linux makes by default, work like 32-bit ones. */
    wr_w(f, PL011_CR, 2, 0x0301);
    assert_int_equal(rd_w(f, PL011_CR, 2), 0x0301);
    assert_int_equal(rd_w(f, PL011_FR, 2), 0x90);
    assert_int_equal(rd_w(f, PL011_CR, 1), 0x01); /* narrower reads see the low bits */

    wr(f, PL011_RSR, 0xFF); /* UARTECR: clears errors, of which there are none */
    assert_int_equal(rd(f, PL011_RSR), 0);
}

static void odd_accesses_are_logged_and_ignored(void **state)
{
    struct fixture *f = *state;
    uint8_t data[8] = {'Q'};

    log_set_muted(true);
    unsigned before = log_warning_count();

    assert_int_equal(rd(f, 0x04C), 0); /* no register there */
    assert_int_equal(log_warning_count(), before + 1);
    wr(f, 0x04C, 0x1234); /* same word: not logged again */
    rd(f, 0x04C);
    assert_int_equal(log_warning_count(), before + 1);

    wr(f, 0x080, 1); /* the test registers are not modelled */
    assert_int_equal(log_warning_count(), before + 2);

    wr(f, PL011_FR, 0); /* read-only */
    wr(f, PL011_PERIPH_ID0, 0);
    assert_int_equal(rd(f, PL011_ICR), 0); /* write-only */
    assert_int_equal(log_warning_count(), before + 5);

    /* 64-bit and misaligned accesses reach the device but are refused by it. */
    assert_int_equal(mmio_bus_access(&f->bus, PL011_BASE + PL011_DR, data, 8, true), 0);
    assert_int_equal(f->nsent, 0);
    assert_int_equal(rd_w(f, PL011_FR, 8), 0);
    assert_int_equal(rd_w(f, PL011_FR + 1, 1), 0);
    assert_true(log_warning_count() > before + 5);

    log_set_muted(false);

    /* None of it changed the UART. */
    assert_int_equal(rd(f, PL011_FR), 0x90);
    assert_int_equal(rd(f, PL011_PERIPH_ID0), 0x11);
    assert_int_equal(f->ncalls, 0);
}

static void describe_for_trace(void **state)
{
    struct fixture *f = *state;
    char buf[64];

    pl011_describe(PL011_DR, true, 'H', buf, sizeof(buf));
    assert_string_equal(buf, "UARTDR write 'H'");
    pl011_describe(PL011_DR, true, '\r', buf, sizeof(buf));
    assert_string_equal(buf, "UARTDR write 0x0d");
    pl011_describe(PL011_DR, false, 'y', buf, sizeof(buf));
    assert_string_equal(buf, "UARTDR read 'y'");
    pl011_describe(PL011_FR, false, 0x90, buf, sizeof(buf));
    assert_string_equal(buf, "UARTFR read 0x90");
    pl011_describe(PL011_IMSC, true, 0x50, buf, sizeof(buf));
    assert_string_equal(buf, "UARTIMSC write 0x50");
    pl011_describe(0x04C, false, 0, buf, sizeof(buf));
    assert_string_equal(buf, "+0x04c read 0x0");

    const struct mmio_region *r = mmio_bus_find(&f->bus, PL011_BASE);
    assert_non_null(r);
    assert_string_equal(r->name, "PL011");
    assert_int_equal(r->base, PL011_BASE);
    assert_int_equal(r->size, PL011_SIZE);
    assert_string_equal(r->reg_name(r->opaque, PL011_LCR_H), "UARTLCR_H");
    assert_null(r->reg_name(r->opaque, 0x01C));

    const uint8_t data[4] = {0x90};
    mmio_bus_describe(&f->bus, PL011_BASE + PL011_FR, data, 4, false, buf, sizeof(buf));
    assert_string_equal(buf, "PL011 UARTFR read 0x90");
}

static void *reader_thread(void *arg)
{
    struct fixture *f = arg;
    struct timespec pause = {.tv_nsec = 20 * 1000000L};

    nanosleep(&pause, NULL); /* let the waiter block first */
    rd(f, PL011_DR);
    return NULL;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void wait_for_room(void **state)
{
    struct fixture *f = *state;
    pthread_t t;

    receive_str(f, "a", 1);
    assert_int_equal(pl011_wait_rx_room(&f->uart, 10), 0); /* times out: nobody reads */

    /* The guest's read wakes the waiter long before its 5 s timeout. */
    double start = now_ms();
    assert_int_equal(pthread_create(&t, NULL, reader_thread, f), 0);
    assert_int_equal(pl011_wait_rx_room(&f->uart, 5000), 1);
    assert_true(now_ms() - start < 2500);
    pthread_join(t, NULL);
    assert_int_equal(pl011_wait_rx_room(&f->uart, -1), 1); /* room already: returns at once */
}

#define STREAM_LEN 20000

static void *input_thread(void *arg)
{
    struct fixture *f = arg;
    static uint8_t stream[STREAM_LEN];

    for (size_t i = 0; i < STREAM_LEN; i++)
        stream[i] = (uint8_t)(i * 7);
    for (size_t done = 0; done < STREAM_LEN;) {
        done += pl011_receive(&f->uart, stream + done, STREAM_LEN - done);
        if (done < STREAM_LEN)
            pl011_wait_rx_room(&f->uart, 100);
    }
    return NULL;
}

/* The input thread feeds bytes while this thread plays the guest: nothing lost or reordered. */
static void concurrent_receive_and_reads(void **state)
{
    struct fixture *f = *state;
    pthread_t t;

    wr(f, PL011_LCR_H, LCR_H_8N1_FIFO);
    wr(f, PL011_IMSC, PL011_INT_RX | PL011_INT_RT);
    assert_int_equal(pthread_create(&t, NULL, input_thread, f), 0);

    for (size_t i = 0; i < STREAM_LEN;) {
        if (rd(f, PL011_FR) & PL011_FR_RXFE) {
            sched_yield();
            continue;
        }
        assert_int_equal(rd(f, PL011_DR), (uint8_t)(i * 7));
        i++;
    }
    pthread_join(t, NULL);

    assert_int_equal(rd(f, PL011_FR), PL011_FR_TXFE | PL011_FR_RXFE);
    /* The line went up and down in strict alternation and ended low. */
    assert_true(f->ncalls >= 2);
    assert_false(f->repeated);
    assert_false(f->level);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(reset_state),
        T(id_registers),
        T(tx_goes_to_callback),
        T(rx_holding_register_without_fifo),
        T(rx_fifo_fill_and_drain),
        T(rx_fifo_wraps_around),
        T(disabling_fifo_keeps_bytes),
        T(interrupt_status_logic),
        T(rx_trigger_levels),
        T(irq_line_follows_mis),
        T(registers_hold_values),
        T(odd_accesses_are_logged_and_ignored),
        T(describe_for_trace),
        T(wait_for_room),
        T(concurrent_receive_and_reads),
    };
#undef T
    return cmocka_run_group_tests_name("pl011", tests, NULL, NULL);
}

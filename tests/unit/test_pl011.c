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

    char sent[16384]; /* what the guest transmitted */
    size_t nsent;
    unsigned ntx_calls; /* calls to the tx callback: one per drain */

    bool levels[64]; /* the first calls to the irq line, in order */
    unsigned ncalls;
    bool level;    /* the wire as the interrupt controller sees it */
    bool repeated; /* set by a call that did not change the level */
    unsigned spi;
};

static void record_tx(void *ctx, const uint8_t *buf, size_t len)
{
    struct fixture *f = ctx;
    for (size_t i = 0; i < len && f->nsent < sizeof(f->sent); i++)
        f->sent[f->nsent++] = (char)buf[i];
    f->ntx_calls++;
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
    const uint8_t want[8] = {0x11, 0x10, 0x34, 0x00, 0x0D, 0xF0, 0x05, 0xB1};

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
    /* FIFOs are off (LCR_H.FEN = 0): a one-byte holding register, whose
     * byte the wire takes at once. */
    wr(f, PL011_DR, '\n');
    assert_int_equal(f->nsent, 4);
    assert_memory_equal(f->sent, "Hi!\n", 4);
    assert_int_equal(f->ntx_calls, 4);
    uint32_t fr = rd(f, PL011_FR);
    assert_int_equal(fr & (PL011_FR_TXFE | PL011_FR_TXFF | PL011_FR_BUSY), PL011_FR_TXFE);
    assert_true(rd(f, PL011_RIS) & PL011_INT_TX);
    assert_int_equal(f->ncalls, 0); /* TXIM is masked */
}

static void tx_fifo_fills_then_drains_in_one_call(void **state)
{
    struct fixture *f = *state;

    wr(f, PL011_LCR_H, LCR_H_8N1_FIFO);
    unsigned calls = f->ntx_calls;
    for (int i = 0; i < PL011_FIFO_DEPTH; i++) {
        assert_false(rd(f, PL011_FR) & PL011_FR_TXFF); /* right after a write: no drain */
        wr(f, PL011_DR, 'a' + i);
    }
    assert_int_equal(f->nsent, 0);
    uint32_t fr = rd(f, PL011_FR);
    assert_true(fr & PL011_FR_TXFF);
    assert_true(fr & PL011_FR_BUSY);
    assert_false(fr & PL011_FR_TXFE);
    rd(f, PL011_IMSC); /* any access that is not filling the FIFO lets the wire drain it */
    assert_int_equal(f->nsent, 32);
    assert_memory_equal(f->sent, "abcdefghijklmnopqrstuvwxyz{|}~\x7f\x80", 32);
    assert_int_equal(f->ntx_calls, calls + 1); /* one write() for the whole FIFO */
    assert_true(rd(f, PL011_FR) & PL011_FR_TXFE);

    /* A guest that ignores TXFF loses nothing: the wire catches up first. */
    for (int i = 0; i < PL011_FIFO_DEPTH + 3; i++)
        wr(f, PL011_DR, 'A' + i);
    pl011_flush(&f->uart);
    assert_int_equal(f->nsent, 32 + 35);
    assert_memory_equal(f->sent + 32, "ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abc", 35);
}

static void tx_interrupt_at_the_programmed_level(void **state)
{
    struct fixture *f = *state;
    static const unsigned level[] = {4, 8, 16, 24, 28};

    /* Reading UARTRIS lets the wire drain first, so watch the line instead. */
    wr(f, PL011_LCR_H, LCR_H_8N1_FIFO);
    wr(f, PL011_IMSC, PL011_INT_TX);
    assert_true(f->level); /* empty FIFO: at or below any level */
    for (unsigned sel = 0; sel < 5; sel++) {
        wr(f, PL011_IFLS, sel);
        for (unsigned i = 0; i < level[sel]; i++)
            wr(f, PL011_DR, 'x');
        assert_true(f->level); /* at the level: still raised */
        wr(f, PL011_DR, 'x');
        assert_false(f->level); /* above it: cleared by the write */
        rd(f, PL011_FR);        /* the flag check after a write: still queued */
        assert_false(f->level);
        rd(f, PL011_FR); /* polling again: drained, raised again */
        assert_true(f->level);
    }

    /* UARTICR clears TXIS until the FIFO has been above the level and come back down. */
    wr(f, PL011_IFLS, 2); /* 1/2: 16 bytes */
    wr(f, PL011_ICR, PL011_INT_TX);
    assert_false(f->level);
    assert_false(rd(f, PL011_RIS) & PL011_INT_TX);
    for (int i = 0; i < 16; i++)
        wr(f, PL011_DR, 'y'); /* 16: not above the level */
    assert_false(rd(f, PL011_RIS) & PL011_INT_TX);
    for (int i = 0; i < 17; i++)
        wr(f, PL011_DR, 'z');                     /* 17: above it */
    assert_true(rd(f, PL011_RIS) & PL011_INT_TX); /* drained: raised again */
    assert_true(f->level);
}

/*
 * Linux 6.1's amba-pl011 transmit path, access for access
 * (drivers/tty/serial/amba-pl011.c: pl011_start_tx_pio, pl011_tx_chars,
 * pl011_tx_char, pl011_stop_tx, pl011_int), with a 32-byte FIFO (our
 * PeriphID revision) and IFLS = TX 1/2, RX 1/2 as pl011_startup writes.
 */
struct linux_tx {
    struct fixture *f;
    const char *buf;
    size_t head, tail; /* the tty layer's circular buffer: bytes tail..head are queued */
    uint32_t im;
    unsigned long accesses;
};

static uint32_t l_rd(struct linux_tx *l, uint64_t offset)
{
    l->accesses++;
    return rd(l->f, offset);
}

static void l_wr(struct linux_tx *l, uint64_t offset, uint32_t value)
{
    l->accesses++;
    wr(l->f, offset, value);
}

static void l_stop_tx(struct linux_tx *l)
{
    l->im &= ~PL011_INT_TX;
    l_wr(l, PL011_IMSC, l->im);
}

static bool l_tx_chars(struct linux_tx *l, bool from_irq)
{
    int count = PL011_FIFO_DEPTH >> 1;

    if (l->tail == l->head) {
        l_stop_tx(l);
        return false;
    }
    do {
        if (from_irq && count-- == 0)
            break;
        if (!from_irq && (l_rd(l, PL011_FR) & PL011_FR_TXFF))
            break;
        l_wr(l, PL011_DR, (uint8_t)l->buf[l->tail++]);
    } while (l->tail != l->head);
    if (l->tail == l->head) {
        l_stop_tx(l);
        return false;
    }
    return true;
}

static void l_start_tx(struct linux_tx *l)
{
    if (l_tx_chars(l, false)) {
        l->im |= PL011_INT_TX;
        l_wr(l, PL011_IMSC, l->im);
    }
}

static void l_interrupt(struct linux_tx *l)
{
    unsigned pass_counter = 256; /* AMBA_ISR_PASS_LIMIT */
    uint32_t status = l_rd(l, PL011_RIS) & l->im;

    while (status) {
        l_wr(l, PL011_ICR, status & ~(PL011_INT_TX | PL011_INT_RT | PL011_INT_RX));
        if (status & PL011_INT_TX)
            l_tx_chars(l, true);
        if (pass_counter-- == 0)
            break;
        status = l_rd(l, PL011_RIS) & l->im;
    }
}

static void linux_tx_costs_at_most_1_3_accesses_per_byte(void **state)
{
    struct fixture *f = *state;
    enum {
        TOTAL = 8192,
        XMIT = 4095
    }; /* UART_XMIT_SIZE - 1 bytes fit in the tty buffer */
    static char data[TOTAL];
    for (int i = 0; i < TOTAL; i++)
        data[i] = (char)('a' + i % 26);
    struct linux_tx l = {.f = f, .buf = data, .im = PL011_INT_RX | PL011_INT_RT};

    wr(f, PL011_LCR_H, LCR_H_8N1_FIFO);
    wr(f, PL011_IFLS, 0x12);
    wr(f, PL011_IMSC, l.im);
    f->nsent = 0;

    while (l.head < TOTAL) {
        /* The writer fills the tty buffer and kicks the port; interrupts do the rest. */
        l.head = l.head + XMIT < TOTAL ? l.head + XMIT : TOTAL;
        l_start_tx(&l);
        for (int guard = 0; f->level && guard < 10000; guard++)
            l_interrupt(&l);
        assert_int_equal(l.tail, l.head);
    }
    assert_int_equal(f->nsent, TOTAL);
    assert_memory_equal(f->sent, data, TOTAL);
    print_message("Linux's transmit path: %lu accesses (MMIO exits) for %d bytes\n", l.accesses,
                  TOTAL);
    assert_true(l.accesses * 10 <= (unsigned long)TOTAL * 13);
}

/*
 * The earlycon (drivers/tty/serial/amba-pl011.c, pl011_putc): FIFOs still
 * off, it waits for room, writes, and waits until the byte is sent: three
 * accesses per byte, the first read already finding the previous byte gone.
 */
static void earlycon_costs_three_accesses_per_byte(void **state)
{
    struct fixture *f = *state;
    const char *line = "[    0.000000] Booting Linux\n";
    unsigned long accesses = 0;

    for (const char *c = line; *c; c++) {
        do
            accesses++;
        while (rd(f, PL011_FR) & PL011_FR_TXFF);
        wr(f, PL011_DR, (uint8_t)*c);
        accesses++;
        do
            accesses++;
        while (rd(f, PL011_FR) & PL011_FR_BUSY);
    }
    assert_int_equal(f->nsent, strlen(line));
    assert_memory_equal(f->sent, line, strlen(line));
    assert_int_equal(accesses, 3 * strlen(line));
}

/* printk's console path and earlycon: they poll UARTFR, and must never spin forever. */
static void console_polling_terminates(void **state)
{
    struct fixture *f = *state;
    const char *line = "[    0.000000] Booting Linux on physical CPU 0x0000000000\r\n";
    unsigned long reads = 0;

    wr(f, PL011_LCR_H, LCR_H_8N1_FIFO);
    for (const char *c = line; *c; c++) { /* pl011_console_putchar */
        while (rd(f, PL011_FR) & PL011_FR_TXFF)
            assert_true(++reads < 1000);
        wr(f, PL011_DR, (uint8_t)*c);
    }
    while (rd(f, PL011_FR) & PL011_FR_BUSY) /* pl011_console_write: wait until sent */
        assert_true(++reads < 1000);
    assert_int_equal(f->nsent, strlen(line));
    assert_memory_equal(f->sent, line, strlen(line));
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

    /* 36 offered, 32 fit */
    receive_str(f, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", PL011_FIFO_DEPTH);
    assert_int_equal(pl011_rx_room(&f->uart), 0);
    assert_true(rd(f, PL011_FR) & PL011_FR_RXFF);
    assert_false(rd(f, PL011_FR) & PL011_FR_RXFE);
    receive_str(f, "WXYZ", 0);

    assert_int_equal(rd(f, PL011_DR), '0');
    assert_false(rd(f, PL011_FR) & PL011_FR_RXFF);
    assert_int_equal(pl011_rx_room(&f->uart), 1);
    receive_str(f, "WXYZ", 1); /* goes in behind 'V' */

    const char *want = "123456789ABCDEFGHIJKLMNOPQRSTUVW";
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

    wr(f, PL011_LCR_H, LCR_H_8N1_FIFO); /* IFLS reset value: RX trigger at 1/2 = 16 bytes */
    assert_false(pl011_rx_irq_enabled(&f->uart));
    wr(f, PL011_IMSC, PL011_INT_RX | PL011_INT_RT);
    assert_int_equal(rd(f, PL011_IMSC), PL011_INT_RX | PL011_INT_RT);
    assert_true(pl011_rx_irq_enabled(&f->uart));

    receive_str(f, "abc", 3); /* below the trigger: only the timeout */
    assert_int_equal(rd(f, PL011_RIS), PL011_INT_TX | PL011_INT_RT);
    assert_int_equal(rd(f, PL011_MIS), PL011_INT_RT);

    receive_str(f, "defghijklmnop", 13); /* 16 bytes: the trigger level is reached */
    assert_int_equal(rd(f, PL011_RIS), PL011_INT_TX | PL011_INT_RT | PL011_INT_RX);
    assert_int_equal(rd(f, PL011_MIS), PL011_INT_RT | PL011_INT_RX);

    /* ICR clears RXIS and TXIS; RTIS comes straight back, its condition still holds. */
    wr(f, PL011_ICR, PL011_INT_RX | PL011_INT_RT | PL011_INT_TX);
    assert_int_equal(rd(f, PL011_RIS), PL011_INT_RT);

    receive_str(f, "i", 1); /* still above the trigger: no new edge, RXIS stays clear */
    assert_false(rd(f, PL011_RIS) & PL011_INT_RX);

    rd(f, PL011_DR);
    rd(f, PL011_DR);        /* 15: below the trigger */
    receive_str(f, "j", 1); /* 16 again: RXIS is raised again */
    assert_true(rd(f, PL011_RIS) & PL011_INT_RX);
    rd(f, PL011_DR); /* reading below the trigger clears it */
    assert_false(rd(f, PL011_RIS) & PL011_INT_RX);

    while (!(rd(f, PL011_FR) & PL011_FR_RXFE))
        rd(f, PL011_DR);
    assert_int_equal(rd(f, PL011_RIS), 0);
    assert_int_equal(rd(f, PL011_MIS), 0);

    /* Writes to the status registers are ignored (and logged). */
    log_set_muted(true);
    wr(f, PL011_RIS, 0x7FF);
    wr(f, PL011_MIS, 0x7FF);
    log_set_muted(false);
    assert_int_equal(rd(f, PL011_RIS), 0);
}

static void rx_trigger_levels(void **state)
{
    struct fixture *f = *state;

    wr(f, PL011_LCR_H, LCR_H_8N1_FIFO);
    wr(f, PL011_IFLS, 0 << 3); /* RX at 1/8: 4 bytes */
    receive_str(f, "abc", 3);
    assert_false(rd(f, PL011_RIS) & PL011_INT_RX);
    receive_str(f, "d", 1);
    assert_true(rd(f, PL011_RIS) & PL011_INT_RX);

    wr(f, PL011_IFLS, 4 << 3); /* RX at 7/8: 28 bytes; 4 are below that */
    assert_false(rd(f, PL011_RIS) & PL011_INT_RX);
    receive_str(f, "efghijklmnopqrstuvwxyz{", 23);
    assert_false(rd(f, PL011_RIS) & PL011_INT_RX);
    receive_str(f, "|", 1);
    assert_true(rd(f, PL011_RIS) & PL011_INT_RX);

    /* Once cleared, RXIS stays clear while the level stays at or above the trigger... */
    wr(f, PL011_ICR, PL011_INT_RX);
    wr(f, PL011_IFLS, 1 << 3); /* 1/4: 8 bytes; we hold 28 */
    assert_false(rd(f, PL011_RIS) & PL011_INT_RX);

    /* ...but lowering the trigger from above the level down to it is reaching it. */
    wr(f, PL011_IFLS, 4 << 3);
    for (int i = 0; i < 24; i++)
        rd(f, PL011_DR); /* 4 left, trigger 28 */
    assert_false(rd(f, PL011_RIS) & PL011_INT_RX);
    wr(f, PL011_IFLS, 0 << 3); /* trigger 4 */
    assert_true(rd(f, PL011_RIS) & PL011_INT_RX);
}

static void irq_line_follows_mis(void **state)
{
    struct fixture *f = *state;

    wr(f, PL011_IMSC, PL011_INT_TX); /* the TX FIFO is empty: fires at once */
    assert_int_equal(f->ncalls, 1);
    assert_true(f->levels[0]);
    assert_int_equal(f->spi, PL011_SPI);

    wr(f, PL011_IMSC, PL011_INT_TX); /* no change in level: no call */
    assert_int_equal(f->ncalls, 1);
    wr(f, PL011_ICR, PL011_INT_TX); /* cleared: the line drops */
    assert_int_equal(f->ncalls, 2);
    assert_false(f->levels[1]);
    wr(f, PL011_IMSC, 0);
    assert_int_equal(f->ncalls, 2);

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
        T(tx_fifo_fills_then_drains_in_one_call),
        T(tx_interrupt_at_the_programmed_level),
        T(linux_tx_costs_at_most_1_3_accesses_per_byte),
        T(console_polling_terminates),
        T(earlycon_costs_three_accesses_per_byte),
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

/*
 * pl011.c - the ARM PL011 UART model (introduced in chapter 4).
 *
 * Register semantics come from the PL011 Technical Reference Manual, ARM DDI
 * 0183 ("TRM"); where the TRM leaves room, we do what the drivers we care
 * about (Linux amba-pl011, its earlycon, FreeBSD uart_dev_pl011) need, and
 * say so.
 *
 * Interrupts. The PL011 has eleven interrupt sources (TRM, "Interrupts");
 * each sets a bit in the raw status UARTRIS, UARTIMSC selects the ones that
 * matter, UARTMIS = RIS & IMSC, and the one line the device tree describes
 * (UARTINTR) is high while MIS is non-zero. How each source behaves here:
 *
 *  TXIS  Raised while the transmit FIFO holds no more than its trigger
 *        level (UARTIFLS bits 2:0: 1/8 to 7/8 of the FIFO; with FIFOs off,
 *        while the one-byte holding register is empty). UARTICR clears it
 *        and it stays clear until writes have taken the FIFO above the
 *        level and the transmitter has brought it back down (TRM,
 *        UARTTXINTR). Linux's transmit path lives on it: it fills the FIFO
 *        with polled writes until UARTFR says TXFF, unmasks TXIS, and from
 *        the interrupt writes half a FIFO per pass without looking at
 *        UARTFR, for as long as TXIS is still raised when it looks again.
 *  RXIS  Raised when the receive FIFO *reaches* the trigger level set in
 *        UARTIFLS (one byte when FIFOs are disabled); cleared when reads
 *        take the FIFO below that level, or through UARTICR. (QEMU
 *        simplifies this to "raised on the first byte".)
 *  RTIS  On hardware, "data has waited for 32 bit periods with nothing new
 *        arriving", and it comes back after UARTICR if the data is still
 *        there when the period has passed again. We have no bit clock, so
 *        we treat that time as already past: RTIS is raised exactly while
 *        the receive FIFO holds data, and UARTICR has no lasting effect on
 *        it. A driver thus hears about every byte even below the RXIS
 *        trigger level, including bytes typed while it was starting up
 *        (Linux clears RXIS and RTIS at startup and handles them alike).
 *  The modem-line and error sources are never raised: there is no modem,
 *  no wire to corrupt bytes, and pl011_receive() refuses bytes rather than
 *  overrunning the FIFO.
 *
 * The transmitter. Bytes written to UARTDR go into a real FIFO (32 bytes,
 * or one with FIFOs off), and the flags say what hardware's would: TXFF
 * when it is full, TXFE when it is empty, BUSY while anything is in it.
 * What a model must choose is how fast the wire empties it, as seen from
 * the guest's register accesses. Ours is "instantly, at the next access
 * that is not part of filling it": before handling any access the whole
 * FIFO is handed to the VMM's tx callback (one call, so one write() for up
 * to 32 bytes), except for
 *   - a write to UARTDR (it adds a byte), and
 *   - a read of UARTFR that directly follows a write to UARTDR (the "is
 *     there room for one more?" of a driver filling the FIFO).
 * With FIFOs off (UARTLCR_H.FEN clear) there is nothing to fill: the byte
 * in the holding register goes to the wire as soon as it is written.
 * So a driver that writes back to back sees the FIFO fill and TXFF rise
 * after 32 bytes, exactly as on hardware whose bus is faster than its
 * wire; and anything else it does (looking at UARTRIS from its interrupt
 * handler, writing UARTIMSC, polling UARTFR a second time) is time in
 * which the wire has caught up. For Linux that makes a byte cost one MMIO
 * exit (its UARTDR write) plus a share of two per half FIFO: the
 * interrupt handler's UARTICR write and UARTRIS read around its 16 UARTDR
 * writes, 1.125 exits per byte (chapter 7 then lets KVM queue the UARTDR
 * writes instead of exiting: common/coalesced_mmio.h; the laziness described
 * here is what makes that safe). A FIFO that never fills costs 2: Linux
 * then sends everything from pl011_start_tx(), one UARTFR read and one
 * UARTDR write per byte. Polled output with FIFOs off (earlycon, which
 * runs before anyone set UARTLCR_H.FEN; chapters 4 to 6's guests) costs
 * what it did with instant transmission: a "wait until not BUSY" after a
 * byte finds it sent.
 * A guest with FIFOs on whose last access is a UARTDR write leaves its
 * bytes in the FIFO until it touches the UART again, or until the VMM calls
 * pl011_flush(): when the VM stops, and (chapter 8) before another console
 * prints, so that the two stay in the order the guest wrote them. A guest that writes to a full
 * FIFO loses nothing: the wire catches up first.
 *
 * Locking. One mutex guards everything in struct pl011, and the tx and irq
 * callbacks are called with it held. That is deliberate. If we dropped it
 * before calling irq, the input thread could decide "raise", a vCPU decide
 * "lower", and the two calls reach KVM in the opposite order, leaving the
 * line at the wrong level. Holding it also means the tx callback never runs
 * twice at once, so it needs no lock of its own. The price: while a slow
 * terminal blocks the tx callback, the input thread waits too. And the
 * callbacks must never call into this UART: the mutex is not recursive, so
 * that would deadlock. Taking their own locks is fine.
 */
#include "pl011.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <time.h>

#include "log.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/*
 * The eight ID bytes at 0xFE0-0xFFC, one per 32-bit register. PeriphID says
 * "part 0x011 (PL011), designer 0x41 (ARM), revision 3" (r1p5, the one with
 * 32-entry FIFOs: pl011.h); the PrimeCell ID 0xB105F00D is the same for
 * every PrimeCell. Linux's AMBA bus reads them to match the device with its
 * driver, and its PL011 driver sizes its FIFO handling from the revision.
 */
static const uint8_t id_bytes[8] = {0x11, 0x10, 0x34, 0x00, 0x0D, 0xF0, 0x05, 0xB1};

static const struct {
    uint64_t offset;
    const char *name;
} registers[] = {
    {PL011_DR, "UARTDR"},       {PL011_RSR, "UARTRSR/ECR"}, {PL011_FR, "UARTFR"},
    {PL011_ILPR, "UARTILPR"},   {PL011_IBRD, "UARTIBRD"},   {PL011_FBRD, "UARTFBRD"},
    {PL011_LCR_H, "UARTLCR_H"}, {PL011_CR, "UARTCR"},       {PL011_IFLS, "UARTIFLS"},
    {PL011_IMSC, "UARTIMSC"},   {PL011_RIS, "UARTRIS"},     {PL011_MIS, "UARTMIS"},
    {PL011_ICR, "UARTICR"},     {PL011_DMACR, "UARTDMACR"}, {0xFE0, "UARTPeriphID0"},
    {0xFE4, "UARTPeriphID1"},   {0xFE8, "UARTPeriphID2"},   {0xFEC, "UARTPeriphID3"},
    {0xFF0, "UARTPCellID0"},    {0xFF4, "UARTPCellID1"},    {0xFF8, "UARTPCellID2"},
    {0xFFC, "UARTPCellID3"},
};

const char *pl011_reg_name(uint64_t offset)
{
    for (size_t i = 0; i < ARRAY_SIZE(registers); i++) {
        if (registers[i].offset == offset)
            return registers[i].name;
    }
    return NULL;
}

/* ---- Receive FIFO ------------------------------------------------------ */

static bool fifos_enabled(const struct pl011 *uart)
{
    return uart->lcr_h & PL011_LCR_H_FEN;
}

static unsigned rx_capacity(const struct pl011 *uart)
{
    return fifos_enabled(uart) ? PL011_FIFO_DEPTH : 1;
}

/*
 * The RX trigger level in bytes. UARTIFLS bits 5:3 (RXIFLSEL) pick 1/8, 1/4,
 * 1/2, 3/4 or 7/8 of the FIFO; the other encodings are reserved and we treat
 * them as 1/2, the reset value.
 */
static unsigned rx_trigger(const struct pl011 *uart)
{
    static const unsigned eighths[] = {1, 2, 4, 6, 7};
    unsigned sel = (uart->ifls >> 3) & 7;

    if (!fifos_enabled(uart))
        return 1;
    return PL011_FIFO_DEPTH * (sel < ARRAY_SIZE(eighths) ? eighths[sel] : 4) / 8;
}

static size_t rx_room_locked(const struct pl011 *uart)
{
    unsigned cap = rx_capacity(uart);
    /* Turning FIFOs off can leave more bytes than the new capacity: no room then. */
    return uart->rx_count < cap ? cap - uart->rx_count : 0;
}

/*
 * Re-evaluate RXIS after the FIFO level or the trigger level moved. The TRM
 * raises RXIS when the level *reaches* the trigger, not while it sits above
 * it, so a guest that cleared it through UARTICR does not get it back until
 * the FIFO has gone below the trigger and up again. We remember which side
 * of the trigger we were on to spot that edge.
 */
static void update_rx_status(struct pl011 *uart)
{
    bool at_trigger = uart->rx_count >= rx_trigger(uart);

    if (at_trigger && !uart->rx_at_trigger)
        uart->ris |= PL011_INT_RX;
    else if (!at_trigger)
        uart->ris &= ~PL011_INT_RX;
    uart->rx_at_trigger = at_trigger;
}

/* Whoever feeds the FIFO may go on: waiters in pl011_wait_rx_room() and the room notifier. */
static void rx_room_changed(struct pl011 *uart)
{
    pthread_cond_broadcast(&uart->rx_room);
    if (uart->rx_room_notify)
        uart->rx_room_notify(uart->rx_room_ctx);
}

static uint8_t rx_pop(struct pl011 *uart)
{
    if (uart->rx_count == 0)
        return 0; /* the TRM leaves this undefined; Linux never does it */

    uint8_t byte = uart->rx_fifo[uart->rx_head];
    uart->rx_head = (uart->rx_head + 1) % PL011_FIFO_DEPTH;
    uart->rx_count--;
    update_rx_status(uart);
    rx_room_changed(uart);
    return byte;
}

/* ---- Transmit FIFO and the wire ----------------------------------------- */

static unsigned tx_capacity(const struct pl011 *uart)
{
    return fifos_enabled(uart) ? PL011_FIFO_DEPTH : 1;
}

/*
 * TXIS is raised at or below this many bytes. UARTIFLS bits 2:0 (TXIFLSEL)
 * pick 1/8, 1/4, 1/2, 3/4 or 7/8; reserved encodings count as 1/2, the
 * reset value. Without FIFOs: when the holding register is empty.
 */
static unsigned tx_trigger(const struct pl011 *uart)
{
    static const unsigned eighths[] = {1, 2, 4, 6, 7};
    unsigned sel = uart->ifls & 7;

    if (!fifos_enabled(uart))
        return 0;
    return PL011_FIFO_DEPTH * (sel < ARRAY_SIZE(eighths) ? eighths[sel] : 4) / 8;
}

/* The wire: everything queued leaves, in one call to the VMM. */
static void tx_drain(struct pl011 *uart)
{
    if (uart->tx_count == 0)
        return;
    if (uart->out.tx)
        uart->out.tx(uart->out.ctx, uart->tx_fifo, uart->tx_count);
    uart->tx_count = 0;
}

static void tx_push(struct pl011 *uart, uint8_t byte)
{
    if (uart->tx_count >= tx_capacity(uart))
        tx_drain(uart); /* written while TXFF: hardware would drop it, we send it */
    uart->tx_fifo[uart->tx_count++] = byte;
    if (uart->tx_count > tx_trigger(uart))
        uart->tx_cleared = false; /* above the level: the next drain raises TXIS again */
    if (!fifos_enabled(uart))
        tx_drain(uart); /* a holding register: nothing to fill, the wire takes it now */
}

/* Let the wire catch up before an access, unless the access is part of filling the FIFO. */
static void tx_before_access(struct pl011 *uart, uint64_t offset, bool is_write)
{
    bool dr_write = is_write && offset == PL011_DR;
    bool filling = dr_write || (!is_write && offset == PL011_FR && uart->last_dr_write);

    uart->last_dr_write = dr_write;
    if (!filling)
        tx_drain(uart);
}

/* ---- Interrupts and flags ---------------------------------------------- */

/* UARTRIS: the latched RXIS plus the two conditions we recompute (see the top). */
static uint16_t raw_status(const struct pl011 *uart)
{
    uint16_t ris = uart->ris;

    if (uart->tx_count <= tx_trigger(uart) && !uart->tx_cleared)
        ris |= PL011_INT_TX;
    if (uart->rx_count > 0)
        ris |= PL011_INT_RT;
    return ris;
}

/* Tell the interrupt controller, but only when the wire actually changes. */
static void update_irq(struct pl011 *uart)
{
    bool level = (raw_status(uart) & uart->imsc) != 0;

    if (level != uart->irq_level) {
        uart->irq_level = level;
        irq_line_set(&uart->irq, level);
    }
}

static uint32_t flags(const struct pl011 *uart)
{
    uint32_t fr = 0;

    if (uart->tx_count == 0)
        fr |= PL011_FR_TXFE;
    else
        fr |= PL011_FR_BUSY;
    if (uart->tx_count >= tx_capacity(uart))
        fr |= PL011_FR_TXFF;
    if (uart->rx_count == 0)
        fr |= PL011_FR_RXFE;
    if (uart->rx_count >= rx_capacity(uart))
        fr |= PL011_FR_RXFF;
    return fr;
}

/* ---- MMIO -------------------------------------------------------------- */

/*
 * Tell the user, once per register word and only a few times in all, that
 * the guest did something we ignore. A guest poking at a register we do not
 * model is worth knowing about when debugging, not worth a flood.
 */
static void warn_ignored(struct pl011 *uart, uint64_t offset, unsigned width, bool is_write,
                         const char *why)
{
    unsigned word = (unsigned)(offset % PL011_SIZE) / 4;
    uint32_t bit = 1u << (word % 32);

    if (uart->warned[word / 32] & bit)
        return;
    uart->warned[word / 32] |= bit;
    log_warn_limited(&uart->warn_limit, "PL011: ignoring %u-byte %s at offset 0x%03" PRIx64 ": %s",
                     width, is_write ? "write" : "read", offset, why);
}

/*
 * Every register is at most 16 bits wide and sits at a multiple of 4, so
 * 8-, 16- and 32-bit accesses at that offset are all fine, and all are
 * used: Linux's driver and its earlycon access the UART with 16- and 8-bit
 * loads and stores unless told the bus needs 32-bit ones. A narrower write
 * sets the upper bits to zero. 64-bit accesses and offsets inside a
 * register are not something the hardware supports.
 */
static bool access_ok(struct pl011 *uart, uint64_t offset, unsigned width, bool is_write)
{
    if (width > 4) {
        warn_ignored(uart, offset, width, is_write, "64-bit access");
        return false;
    }
    if (offset % 4 != 0) {
        warn_ignored(uart, offset, width, is_write, "not at a register boundary");
        return false;
    }
    return true;
}

static uint64_t pl011_mmio_read(void *opaque, uint64_t offset, unsigned width)
{
    struct pl011 *uart = opaque;
    uint32_t value = 0;

    pthread_mutex_lock(&uart->lock);
    if (!access_ok(uart, offset, width, false))
        goto out;
    tx_before_access(uart, offset, false);

    switch (offset) {
    case PL011_DR:
        /* Bits 11:8 would report errors on this byte; we never have any. */
        value = rx_pop(uart);
        break;
    case PL011_RSR:
        value = 0; /* no framing, parity, break or overrun errors, ever */
        break;
    case PL011_FR:
        value = flags(uart);
        break;
    case PL011_ILPR:
        value = uart->ilpr;
        break;
    case PL011_IBRD:
        value = uart->ibrd;
        break;
    case PL011_FBRD:
        value = uart->fbrd;
        break;
    case PL011_LCR_H:
        value = uart->lcr_h;
        break;
    case PL011_CR:
        value = uart->cr;
        break;
    case PL011_IFLS:
        value = uart->ifls;
        break;
    case PL011_IMSC:
        value = uart->imsc;
        break;
    case PL011_RIS:
        value = raw_status(uart);
        break;
    case PL011_MIS:
        value = raw_status(uart) & uart->imsc;
        break;
    case PL011_DMACR:
        value = uart->dmacr;
        break;
    case PL011_ICR:
        warn_ignored(uart, offset, width, false, "UARTICR is write-only");
        break;
    default:
        if (offset >= PL011_PERIPH_ID0 && offset <= PL011_PCELL_ID3)
            value = id_bytes[(offset - PL011_PERIPH_ID0) / 4];
        else
            warn_ignored(uart, offset, width, false, "no register there");
        break;
    }
    update_irq(uart); /* the wire may have emptied the FIFO, the guest the RX FIFO */
out:
    pthread_mutex_unlock(&uart->lock);
    return value & (width >= 4 ? 0xFFFFFFFFu : (1u << (8 * width)) - 1);
}

static void pl011_mmio_write(void *opaque, uint64_t offset, unsigned width, uint64_t value)
{
    struct pl011 *uart = opaque;

    pthread_mutex_lock(&uart->lock);
    if (!access_ok(uart, offset, width, true))
        goto out;
    tx_before_access(uart, offset, true);

    switch (offset) {
    case PL011_DR:
        /*
         * Queued for the wire whatever UARTCR.UARTEN and TXE say: earlycon
         * writes here before anything has enabled the UART (firmware would
         * have, on a real board, and we have no firmware). Loopback
         * (UARTCR.LBE) is not modelled; Linux does not use it.
         */
        tx_push(uart, (uint8_t)value);
        break;
    case PL011_RSR:
        break; /* UARTECR: any write clears the error flags, and we have none */
    case PL011_ILPR:
        uart->ilpr = (uint8_t)value;
        break;
    case PL011_IBRD:
        uart->ibrd = (uint16_t)value;
        break;
    case PL011_FBRD:
        uart->fbrd = value & 0x3F;
        break;
    case PL011_LCR_H:
        /*
         * FEN changes the FIFO depth and so the trigger level. The bytes
         * already received are kept (QEMU drops them): they are keystrokes
         * the user typed while the guest was booting.
         */
        uart->lcr_h = (uint8_t)value;
        update_rx_status(uart);
        rx_room_changed(uart);
        break;
    case PL011_CR:
        uart->cr = (uint16_t)value;
        break;
    case PL011_IFLS:
        uart->ifls = value & 0x3F;
        update_rx_status(uart);
        break;
    case PL011_IMSC:
        uart->imsc = value & PL011_INT_ALL;
        break;
    case PL011_ICR:
        uart->ris &= ~(value & PL011_INT_ALL);
        if (value & PL011_INT_TX)
            uart->tx_cleared = true;
        break;
    case PL011_DMACR:
        uart->dmacr = value & 0x7;
        if (uart->dmacr & 0x3)
            warn_ignored(uart, offset, width, true, "DMA is not modelled");
        break;
    case PL011_FR:
    case PL011_RIS:
    case PL011_MIS:
        warn_ignored(uart, offset, width, true, "read-only register");
        break;
    default:
        warn_ignored(uart, offset, width, true,
                     offset >= PL011_PERIPH_ID0 ? "read-only register" : "no register there");
        break;
    }
    update_irq(uart);
out:
    pthread_mutex_unlock(&uart->lock);
}

static const char *pl011_mmio_reg_name(void *opaque, uint64_t offset)
{
    (void)opaque;
    return pl011_reg_name(offset);
}

struct mmio_region pl011_region(struct pl011 *uart)
{
    return (struct mmio_region){
        .name = "PL011",
        .base = PL011_BASE,
        .size = PL011_SIZE,
        .opaque = uart,
        .read = pl011_mmio_read,
        .write = pl011_mmio_write,
        .reg_name = pl011_mmio_reg_name,
        .describe = pl011_describe,
    };
}

void pl011_describe(uint64_t offset, bool is_write, uint64_t value, char *buf, size_t len)
{
    mmio_bus_format_access(buf, len, pl011_reg_name(offset), offset, is_write, value,
                           offset == PL011_DR);
}

/* ---- The VMM's side ---------------------------------------------------- */

int pl011_init(struct pl011 *uart, const struct pl011_output *out, const struct irq_line *irq)
{
    pthread_condattr_t attr;
    int err;

    memset(uart, 0, sizeof(*uart));
    if (out)
        uart->out = *out;
    if (irq)
        uart->irq = *irq;

    /* Reset values from the TRM's register summary; everything else resets to zero. */
    uart->cr = 0x0300; /* TXE | RXE, but UARTEN clear */
    uart->ifls = 0x12; /* both trigger levels at 1/2 */

    err = pthread_mutex_init(&uart->lock, NULL);
    if (err)
        return -err;
    /* CLOCK_MONOTONIC: a wait must not stretch or shrink when someone sets the date. */
    err = pthread_condattr_init(&attr);
    if (!err) {
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
        err = pthread_cond_init(&uart->rx_room, &attr);
        pthread_condattr_destroy(&attr);
    }
    if (err) {
        pthread_mutex_destroy(&uart->lock);
        return -err;
    }
    return 0;
}

void pl011_destroy(struct pl011 *uart)
{
    pthread_cond_destroy(&uart->rx_room);
    pthread_mutex_destroy(&uart->lock);
}

size_t pl011_receive(struct pl011 *uart, const uint8_t *buf, size_t len)
{
    size_t n = 0;

    pthread_mutex_lock(&uart->lock);
    while (n < len && uart->rx_count < rx_capacity(uart)) {
        uart->rx_fifo[(uart->rx_head + uart->rx_count) % PL011_FIFO_DEPTH] = buf[n++];
        uart->rx_count++;
    }
    if (n > 0) {
        update_rx_status(uart);
        update_irq(uart);
    }
    pthread_mutex_unlock(&uart->lock);
    return n;
}

void pl011_set_rx_room_notify(struct pl011 *uart, void (*fn)(void *ctx), void *ctx)
{
    pthread_mutex_lock(&uart->lock);
    uart->rx_room_notify = fn;
    uart->rx_room_ctx = ctx;
    pthread_mutex_unlock(&uart->lock);
}

size_t pl011_rx_room(struct pl011 *uart)
{
    pthread_mutex_lock(&uart->lock);
    size_t room = rx_room_locked(uart);
    pthread_mutex_unlock(&uart->lock);
    return room;
}

size_t pl011_wait_rx_room(struct pl011 *uart, int timeout_ms)
{
    struct timespec deadline;
    size_t room;

    if (timeout_ms >= 0) {
        clock_gettime(CLOCK_MONOTONIC, &deadline);
        deadline.tv_sec += timeout_ms / 1000;
        deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
        if (deadline.tv_nsec >= 1000000000L) {
            deadline.tv_sec++;
            deadline.tv_nsec -= 1000000000L;
        }
    }

    pthread_mutex_lock(&uart->lock);
    /* A loop, because condition variables may wake up for no reason. */
    while ((room = rx_room_locked(uart)) == 0) {
        if (timeout_ms < 0)
            pthread_cond_wait(&uart->rx_room, &uart->lock);
        else if (pthread_cond_timedwait(&uart->rx_room, &uart->lock, &deadline) == ETIMEDOUT)
            break;
    }
    room = rx_room_locked(uart);
    pthread_mutex_unlock(&uart->lock);
    return room;
}

void pl011_flush(struct pl011 *uart)
{
    pthread_mutex_lock(&uart->lock);
    tx_drain(uart);
    update_irq(uart);
    pthread_mutex_unlock(&uart->lock);
}

bool pl011_rx_irq_enabled(struct pl011 *uart)
{
    pthread_mutex_lock(&uart->lock);
    bool enabled = uart->imsc & (PL011_INT_RX | PL011_INT_RT);
    pthread_mutex_unlock(&uart->lock);
    return enabled;
}

/*
 * pl011.h - an ARM PrimeCell PL011 UART, the guest's serial console (introduced in chapter 4).
 *
 * Why a PL011: it is the UART of QEMU's "virt" board, so the guest kernel
 * needs no new driver (Linux: amba-pl011, console=ttyAMA0; earlycon=pl011),
 * and its register interface is small enough to model completely. Register
 * semantics follow the PL011 Technical Reference Manual, ARM DDI 0183
 * ("TRM" below).
 *
 * What is modelled, and what is not:
 *  - Transmit goes through a real FIFO with TXFF, TXFE, BUSY and the TX
 *    interrupt at the programmed level; the wire empties it into the VMM's
 *    tx callback at the guest's next access that is not part of filling
 *    it (pl011.c explains the choice), or when the VMM calls pl011_flush().
 *  - Receive goes through a real FIFO, filled by the VMM's input thread with
 *    pl011_receive() and drained by the guest reading UARTDR.
 *  - Baud rate, word format, modem control, IrDA and DMA settings hold what
 *    the guest writes and do nothing: there is no wire to time. The one
 *    exception is UARTLCR_H.FEN, which sets the depth of the RX FIFO.
 *
 * Threads: vCPU threads call the MMIO callbacks, the input thread calls
 * pl011_receive(). One mutex inside struct pl011 serialises them. The tx and
 * irq callbacks are called WITH that mutex held (see pl011.c for why), so
 * they must not call back into this UART; they may take their own locks.
 */
#ifndef GOD_PL011_H
#define GOD_PL011_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "irq.h"
#include "memmap.h"
#include "mmio_bus.h"

/* Register offsets (TRM, "Summary of registers"). */
#define PL011_DR         0x000 /* data: write = transmit, read = pop the RX FIFO */
#define PL011_RSR        0x004 /* receive status (read) / error clear (write, "ECR") */
#define PL011_FR         0x018 /* flags: FIFO empty/full, busy, modem lines */
#define PL011_ILPR       0x020 /* IrDA low-power counter */
#define PL011_IBRD       0x024 /* integer baud rate divisor */
#define PL011_FBRD       0x028 /* fractional baud rate divisor */
#define PL011_LCR_H      0x02C /* line control: word length, parity, FIFO enable */
#define PL011_CR         0x030 /* control: UART/TX/RX enable, loopback, modem outputs */
#define PL011_IFLS       0x034 /* interrupt FIFO level select */
#define PL011_IMSC       0x038 /* interrupt mask set/clear: 1 = enabled */
#define PL011_RIS        0x03C /* raw interrupt status */
#define PL011_MIS        0x040 /* masked interrupt status = RIS & IMSC */
#define PL011_ICR        0x044 /* interrupt clear: write 1 to clear */
#define PL011_DMACR      0x048 /* DMA control */
#define PL011_PERIPH_ID0 0xFE0 /* PeriphID0..3, then PCellID0..3, one byte per word */
#define PL011_PCELL_ID3  0xFFC

/* UARTFR bits. */
#define PL011_FR_CTS  (1u << 0)
#define PL011_FR_DSR  (1u << 1)
#define PL011_FR_DCD  (1u << 2)
#define PL011_FR_BUSY (1u << 3)
#define PL011_FR_RXFE (1u << 4) /* receive FIFO empty */
#define PL011_FR_TXFF (1u << 5) /* transmit FIFO full */
#define PL011_FR_RXFF (1u << 6) /* receive FIFO full */
#define PL011_FR_TXFE (1u << 7) /* transmit FIFO empty */
#define PL011_FR_RI   (1u << 8)

/* UARTLCR_H bits. */
#define PL011_LCR_H_FEN (1u << 4) /* FIFOs enabled; otherwise 1-byte holding registers */

/* Interrupt bits, the same in UARTIMSC, UARTRIS, UARTMIS and UARTICR. */
#define PL011_INT_RI  (1u << 0)
#define PL011_INT_CTS (1u << 1)
#define PL011_INT_DCD (1u << 2)
#define PL011_INT_DSR (1u << 3)
#define PL011_INT_RX  (1u << 4)  /* RXIS: receive FIFO reached its trigger level */
#define PL011_INT_TX  (1u << 5)  /* TXIS: transmit FIFO at or below its trigger level */
#define PL011_INT_RT  (1u << 6)  /* RTIS: receive timeout: data has been waiting */
#define PL011_INT_FE  (1u << 7)  /* framing error */
#define PL011_INT_PE  (1u << 8)  /* parity error */
#define PL011_INT_BE  (1u << 9)  /* break error */
#define PL011_INT_OE  (1u << 10) /* overrun error */
#define PL011_INT_ALL 0x7FFu

/*
 * FIFO depth. We are a PL011 r1p5: UARTPeriphID2 = 0x34, revision field 3.
 * r1p5 has 32-entry FIFOs, the revisions before it 16 (the field reads 0-2
 * there: QEMU models one of those), and Linux and FreeBSD both size their
 * FIFO handling from that field. Linux's interrupt handler writes half a
 * FIFO per pass, so the deeper FIFO halves its per-pass overhead per byte
 * (pl011.c, "The transmitter"). With LCR_H.FEN clear the FIFOs shrink to
 * one-byte holding registers (TRM, UARTLCR_H).
 */
#define PL011_FIFO_DEPTH 32

/* Where transmitted bytes go: usually a write() to the VMM's stdout. */
struct pl011_output {
    void (*tx)(void *ctx, const uint8_t *buf, size_t len); /* NULL: bytes are dropped */
    void *ctx;
};

struct pl011 {
    pthread_mutex_t lock;
    pthread_cond_t rx_room;            /* signalled when the guest makes room in the RX FIFO */
    void (*rx_room_notify)(void *ctx); /* called then too: pl011_set_rx_room_notify() */
    void *rx_room_ctx;

    struct pl011_output out;
    struct irq_line irq;
    bool irq_level; /* what we last told irq: the wire only toggles on a change */

    /* The receive FIFO: a ring of rx_count bytes starting at rx_head. */
    uint8_t rx_fifo[PL011_FIFO_DEPTH];
    unsigned rx_head;
    unsigned rx_count;
    bool rx_at_trigger; /* was rx_count >= trigger level when we last looked? */

    /* The transmit FIFO: tx_count bytes waiting for the wire, oldest first. */
    uint8_t tx_fifo[PL011_FIFO_DEPTH];
    unsigned tx_count;
    bool tx_cleared; /* UARTICR cleared TXIS; it stays clear until the FIFO rises above the level */
    bool last_dr_write; /* the previous access was a UARTDR write */

    /* Interrupt state: MIS = RIS & IMSC, and the wire is (MIS != 0). */
    uint16_t imsc;
    uint16_t ris; /* the latched bit, RXIS; TXIS and RTIS are computed, see pl011.c */

    /* Registers that only hold what the guest writes. */
    uint16_t cr, ibrd;
    uint8_t fbrd, ilpr, lcr_h, ifls, dmacr;

    /* Odd guest accesses are logged once per register word, and only a few in all. */
    uint32_t warned[PL011_SIZE / 4 / 32];
    unsigned warn_limit;
};

/*
 * Put the UART in its reset state (UARTCR = 0x300, UARTIFLS = 0x12,
 * UARTFR = TXFE | RXFE) with an empty RX FIFO. `out` and `irq` are copied; the
 * interrupt line starts deasserted and is not touched here. Returns 0 or
 * -errno if the mutex or condition variable cannot be created.
 */
int pl011_init(struct pl011 *uart, const struct pl011_output *out, const struct irq_line *irq);
void pl011_destroy(struct pl011 *uart);

/*
 * The MMIO window for the bus: name "PL011", PL011_BASE/PL011_SIZE from
 * memmap.h, our read/write callbacks and register names for --trace.
 */
struct mmio_region pl011_region(struct pl011 *uart);

/*
 * Feed bytes typed on the host into the receive FIFO. Never blocks and never
 * overflows: returns how many of the len bytes fit (possibly 0); the caller
 * keeps the rest and retries once the guest has read some, e.g. after
 * pl011_wait_rx_room().
 */
size_t pl011_receive(struct pl011 *uart, const uint8_t *buf, size_t len);

/*
 * Also call fn(ctx) whenever the receive FIFO may have gained room (the
 * guest read UARTDR, or changed the FIFO depth), for an input thread that
 * never waits (console_input_room()). fn runs on a vCPU thread with the
 * UART's lock held: it must not block or call back into this UART.
 */
void pl011_set_rx_room_notify(struct pl011 *uart, void (*fn)(void *ctx), void *ctx);

/*
 * Send whatever the guest left in the transmit FIFO. Call it when the VM
 * has stopped, before printing anything of your own: a guest's last bytes
 * may still be waiting there (see pl011.c, "The transmitter").
 */
void pl011_flush(struct pl011 *uart);

/* Has the guest unmasked a receive interrupt (UARTIMSC RXIM or RTIM)? */
bool pl011_rx_irq_enabled(struct pl011 *uart);

/* How many bytes pl011_receive() would accept right now. */
size_t pl011_rx_room(struct pl011 *uart);

/*
 * Wait until the receive FIFO has room, for at most timeout_ms milliseconds
 * (negative: no limit). Returns the room, 0 on timeout. A timeout lets the
 * input thread notice that the VM is shutting down.
 */
size_t pl011_wait_rx_room(struct pl011 *uart, int timeout_ms);

/*
 * One decoded line for --trace: "UARTDR write 'H'", "UARTFR read 0x90",
 * "+0x04c read 0x0" for an offset that is no register. Data register values
 * are shown as characters when printable.
 */
void pl011_describe(uint64_t offset, bool is_write, uint64_t value, char *buf, size_t len);

/* The register's name at offset ("UARTDR"), or NULL when there is none. */
const char *pl011_reg_name(uint64_t offset);

#endif

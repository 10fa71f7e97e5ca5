/*
 * hello.S - "Hello, World!" through the PL011 UART (chapter 4).
 *
 * A UART is a device: its registers are not memory but addresses that the
 * board wires to the device. Our VMM puts the PL011 at 0x09000000, where
 * QEMU's virt board has it. Nothing backs that address in guest RAM, so
 * every load or store to it stops the vCPU with KVM_EXIT_MMIO and the VMM's
 * PL011 model does what the hardware would.
 */
    .equ    UART_BASE, 0x09000000
    .equ    UARTDR, 0x000           // data register: a write sends one byte
    .equ    UARTFR, 0x018           // flag register
    .equ    FR_TXFF, (1 << 5)       // transmit FIFO full: wait before writing

    .text
    .global _start
_start:
    movz    x1, #(UART_BASE >> 16), lsl #16 // x1 = the UART's registers
    adr     x2, message                     // x2 = the next byte to send (PC-relative:
                                            //      we are linked at 0, loaded elsewhere)
next_byte:
    ldrb    w3, [x2], #1                    // w3 = *x2++
    cbz     w3, power_off                   // the terminating NUL: done
wait_tx:
    ldr     w4, [x1, #UARTFR]               // a real UART can be busy: poll until the
    tst     w4, #FR_TXFF                    // transmit FIFO (here: the one-byte holding
    b.ne    wait_tx                         // register, FIFOs are off) has room
    str     w3, [x1, #UARTDR]               // send it: one MMIO exit
    b       next_byte

power_off:
    movz    x0, #0x0008                     // PSCI SYSTEM_OFF (0x84000008)
    movk    x0, #0x8400, lsl #16
    hvc     #0
hang:
    b       hang

message:
    .asciz  "Hello, World!\n"

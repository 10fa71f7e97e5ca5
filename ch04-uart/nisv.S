/*
 * nisv.S - a device access KVM cannot emulate, and the guest's side of it (chapter 4).
 *
 * `ldp` reads two registers at once. Aimed at the PL011 it traps like any
 * device access, but the CPU gives KVM no description of it (ESR_EL2.ISV is
 * 0 for a pair), so KVM cannot turn it into an MMIO exit. It reports
 * KVM_EXIT_ARM_NISV; god names the instruction and the address on stderr
 * and makes the guest take a synchronous external abort, as a bus error
 * would. We catch it in our exception vector, check that it is one (ESR_EL1
 * says data abort, external; FAR_EL1 says the UART), say so through the
 * UART with plain stores, and power off.
 */
    .equ    UART_BASE, 0x09000000
    .equ    UARTDR, 0x000
    .equ    ESR_EC_DABT_CUR, 0x25           // data abort taken without a change of EL
    .equ    DFSC_SYNC_EXT, 0x10             // synchronous external abort

    .text
    .global _start
_start:
    adr     x0, vectors                     // where exceptions go (PC-relative: we
    msr     vbar_el1, x0                    //  are linked at 0, loaded elsewhere)
    isb
    movz    x1, #(UART_BASE >> 16), lsl #16
    ldp     w2, w3, [x1]                    // the access KVM cannot emulate
    adr     x2, no_abort                    // not reached if god does its job
    b       print

sync_exception:
    mrs     x4, esr_el1
    ubfx    x5, x4, #26, #6                 // ESR_EL1.EC, bits 31:26 (not a shift:
    cmp     x5, #ESR_EC_DABT_CUR            //  KVM 6.1 leaves bits 63:32 all ones)
    b.ne    unexpected
    and     x5, x4, #0x3f                   // ESR_EL1.DFSC
    cmp     x5, #DFSC_SYNC_EXT
    b.ne    unexpected
    mrs     x5, far_el1
    cmp     x5, x1                          // the address we touched
    b.ne    unexpected
    adr     x2, got_abort
    b       print
unexpected:
    adr     x2, wrong_exception

print:                                      // x1 = UART, x2 = NUL-terminated text
    ldrb    w3, [x2], #1
    cbz     w3, power_off
    str     w3, [x1, #UARTDR]
    b       print
power_off:
    movz    x0, #0x0008                     // PSCI SYSTEM_OFF (0x84000008)
    movk    x0, #0x8400, lsl #16
    hvc     #0
hang:
    b       hang

got_abort:
    .asciz  "guest: LDP from the UART: synchronous external abort at 0x09000000\n"
wrong_exception:
    .asciz  "guest: an exception, but not the external abort expected\n"
no_abort:
    .asciz  "guest: LDP from the UART returned without an abort\n"

    .balign 2048                            // VBAR_EL1 needs 2 KiB alignment
vectors:
    .skip   0x200                           // current EL with SP_EL0: unused
    b       sync_exception                  // current EL with SP_ELx, synchronous
    b       hang                            // IRQ, FIQ, SError: not expected here

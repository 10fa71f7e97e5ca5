/*
 * mmio_loop.S - a guest that makes exactly N MMIO exits, then powers off
 * (tests/bench.sh's "MMIO exit cost").
 *
 * N is fixed at assembly time (as --defsym N=...): ch04's `god run` starts
 * the guest with no arguments in registers, so the count has to be in the
 * program. The bench builds this twice, N=10000 and N=0; both do the same
 * setup and the same power-off, so the difference between their wall times
 * is N exits and nothing else (VMM start-up, KVM_CREATE_VM, loading, thread
 * start and exit cancel out).
 *
 * Each iteration reads the PL011's flag register. Nothing backs 0x09000000
 * in guest RAM, so every read stops the vCPU (KVM_EXIT_MMIO), the VMM's
 * PL011 model answers, and KVM_RUN resumes it: one full round trip guest ->
 * KVM -> VMM (user space) -> KVM -> guest. Reads, not writes, so nothing is
 * printed and stdout costs nothing.
 */
    .ifndef N
    .error  "assemble with --defsym N=<number of MMIO reads>"
    .endif

    .equ    UART_BASE, 0x09000000
    .equ    UARTFR, 0x018           // flag register: reading it has no side effects

    .text
    .global _start
_start:
    movz    x1, #(UART_BASE >> 16), lsl #16 // x1 = the UART's registers
    ldr     x5, count                       // x5 = reads left (PC-relative literal:
                                            //      we are linked at 0, loaded elsewhere)
    cbz     x5, power_off                   // N=0: no exit at all
loop:
    ldr     w4, [x1, #UARTFR]               // one MMIO exit
    subs    x5, x5, #1
    b.ne    loop

power_off:
    movz    x0, #0x0008                     // PSCI SYSTEM_OFF (0x84000008)
    movk    x0, #0x8400, lsl #16
    hvc     #0
hang:
    b       hang

    .balign 8
count:
    .quad   N

/*
 * timer.S - count ticks of the virtual timer and measure them (chapter 6).
 *
 * The VMM passes:
 *   x0 = N, how many ticks to take
 *   x1 = the interval between ticks, in milliseconds
 *   x2 = where in RAM to store the results for the VMM to check
 *
 * The guest reads the counter frequency (CNTFRQ_EL0), turns the interval into
 * counter ticks, sets up the GIC for the virtual timer's interrupt (PPI,
 * INTID 27), arms the timer and sleeps. Each interrupt re-arms it; the N-th
 * switches it off. The virtual count (CNTVCT_EL0) read before arming and at
 * the N-th interrupt gives the elapsed time, which the guest prints:
 *
 *   timer: 10 ticks of 10 ms at 62500000 Hz, elapsed 106545 us
 *
 * and stores, as five 64-bit words at x2:
 *   +0  ticks taken          +8  CNTFRQ_EL0        +16 CNTVCT_EL0 at the start
 *   +24 CNTVCT_EL0 at the N-th tick                +32 other IAR values seen
 *
 * The GIC set-up is chapter 5's, except that a PPI is private to its CPU.
 * On a GICv3 its enable, group and priority live in this CPU's
 * redistributor (the SGI_base frame), not in the distributor; a GICv2 has no
 * redistributors, and its distributor banks the first 32 INTIDs' registers
 * per CPU instead: each CPU sees its own at the same address. As in chapter
 * 5 the guest finds out which GIC it has (gic_detect) and says so first.
 */

    // The PL011 UART: output only, this time.
    .equ    UART_BASE, 0x09000000
    .equ    UARTDR, 0x000
    .equ    UARTFR, 0x018
    .equ    FR_TXFF, 5                     // UARTFR bit 5: transmit FIFO full

    // The GICv3 distributor.
    .equ    GICD_BASE, 0x08000000
    .equ    GICD_CTLR, 0x0000
    .equ    CTLR_ENABLE_G1, (1 << 1)       // KVM's GIC has one security state (DS = 1):
    .equ    CTLR_ARE, (1 << 4)             // bit 1 enables group 1, bit 4 is ARE
    .equ    CTLR_RWP, 31                   // "register write pending"

    // GICv2 (chapter 5): the distributor's group 0 enable, the memory-mapped
    // CPU interface, and ID_AA64PFR0_EL1.GIC.
    .equ    GICD_ISENABLER0, 0x0100        // banked per CPU for INTIDs 0-31
    .equ    GICD_IPRIORITYR, 0x0400
    .equ    CTLR_ENABLE_G0, 1
    .equ    GICC_BASE, 0x08010000
    .equ    GICC_CTLR, 0x0000
    .equ    GICC_PMR, 0x0004
    .equ    GICC_IAR, 0x000c
    .equ    GICC_EOIR, 0x0010
    .equ    PFR0_GIC_SHIFT, 24

    // vCPU 0's redistributor (GICv3): RD_base, then SGI_base 64 KiB above it.
    .equ    GICR_BASE, 0x080a0000
    .equ    GICR_WAKER, 0x0014
    .equ    WAKER_PROCESSOR_SLEEP, (1 << 1)
    .equ    WAKER_CHILDREN_ASLEEP, 2       // bit number
    .equ    GICR_SGI_BASE, 0x080b0000
    .equ    GICR_IGROUPR0, 0x0080          // INTIDs 0-31, one bit each: 1 = group 1
    .equ    GICR_ISENABLER0, 0x0100        // write 1 to enable
    .equ    GICR_IPRIORITYR, 0x0400        // one byte per INTID

    // The EL1 virtual timer's interrupt (the Server Base System Architecture's
    // choice, and KVM's default): PPI 11, INTID 16 + 11.
    .equ    TIMER_INTID, 27
    .equ    TIMER_PRIORITY, 0xa0
    .equ    CTL_ENABLE, 1                  // CNTV_CTL_EL0: ENABLE = 1, IMASK (bit 1) = 0

    .text
    .global _start
_start:
    mov     x19, x0                         // x19 = N
    mov     x20, x1                         // x20 = the interval, ms
    mov     x21, x2                         // x21 = the results block
    adr     x0, vectors
    msr     vbar_el1, x0                    // exceptions go to our table
    isb
    adr     x0, stack_top
    mov     sp, x0                          // SP_EL1: ours and the handler's

    // The counter's frequency is fixed for the whole system: firmware writes
    // it at boot, and a guest reads the host's. interval = freq * ms / 1000.
    mrs     x22, cntfrq_el0                 // x22 = counts per second
    mul     x0, x22, x20
    mov     x1, #1000
    udiv    x23, x0, x1                     // x23 = counts per interval
    adr     x0, interval
    str     x23, [x0]                       // the handler re-arms with it
    adr     x0, ticks_wanted
    str     x19, [x0]                       // and stops after this many ticks

    bl      gic_detect                      // gic_is_v2 = 1 on a GICv2 (chapter 5)
    ldr     x0, gic_is_v2
    cbnz    x0, 1f
    adr     x0, msg_v3
    bl      puts
    bl      gic_init
    b       2f
1:  adr     x0, msg_v2
    bl      puts
    bl      gic_v2_init
2:

    // Start the clock, then the timer. The ISB keeps the CPU from reading the
    // counter early (CNTVCT reads are not ordered with other instructions).
    isb
    mrs     x24, cntvct_el0                 // x24 = the count at the start
    msr     cntv_tval_el0, x23              // TVAL: fire in x23 counts (the hardware
                                            // sets CVAL = CNTVCT + TVAL)
    mov     x0, #CTL_ENABLE
    msr     cntv_ctl_el0, x0                // enabled, not masked: it will assert PPI 27
    isb

    // Sleep until the handler has counted N ticks. Test and sleep with IRQs
    // masked: if the last tick came between the test and the WFI, an unmasked
    // loop would sleep forever (the timer is off by then). WFI still wakes up
    // for a pending interrupt while PSTATE.I masks it; unmasking then lets the
    // CPU take it, and the loop comes back round to the test.
wait:
    msr     daifset, #2                     // mask IRQs
    ldr     x0, ticks
    cmp     x0, x19
    b.hs    done                            // N ticks: done
    wfi                                     // sleep until an interrupt is pending
    msr     daifclr, #2                     // unmask: the handler runs about here
    isb
    b       wait

done:
    // The results, for the VMM.
    ldr     x25, end_count                  // the handler's CNTVCT at the N-th tick
    ldr     x26, others
    str     x0, [x21, #0]                   // ticks taken
    str     x22, [x21, #8]                  // CNTFRQ
    str     x24, [x21, #16]                 // start
    str     x25, [x21, #24]                 // end
    str     x26, [x21, #32]                 // other IAR values
    str     x23, [x21, #40]                 // counts per interval, as we computed it

    // And in words: "timer: 10 ticks of 10 ms at 62500000 Hz, elapsed 106545 us".
    mov     x27, x0
    adr     x0, msg_timer
    bl      puts
    mov     x0, x27
    bl      print_dec
    adr     x0, msg_ticks
    bl      puts
    mov     x0, x20
    bl      print_dec
    adr     x0, msg_ms_at
    bl      puts
    mov     x0, x22
    bl      print_dec
    adr     x0, msg_hz
    bl      puts
    sub     x0, x25, x24                    // elapsed counts
    mov     x1, #0x4240                     // x1 = 1000000 (0xf4240)
    movk    x1, #0xf, lsl #16
    mul     x0, x0, x1                      // counts * 10^6 / frequency = microseconds
    udiv    x0, x0, x22                     // (no overflow: 2^64 / 10^6 counts is
    bl      print_dec                       // over 5 hours even at 1 GHz)
    adr     x0, msg_us
    bl      puts

    movz    x0, #0x0008                     // PSCI SYSTEM_OFF (0x84000008)
    movk    x0, #0x8400, lsl #16
    hvc     #0
    b       .

/*
 * gic_detect - chapter 5's: gic_is_v2 = 0 if the CPU interface is system
 * registers (ID_AA64PFR0_EL1.GIC says they exist and ICC_SRE_EL1.SRE
 * sticks), 1 if it is memory-mapped.
 */
gic_detect:
    mov     x3, #1
    mrs     x2, id_aa64pfr0_el1
    ubfx    x2, x2, #PFR0_GIC_SHIFT, #4
    cbz     x2, 1f
    mrs     x2, icc_sre_el1
    orr     x2, x2, #1
    msr     icc_sre_el1, x2
    isb
    mrs     x2, icc_sre_el1
    tbz     x2, #0, 1f
    mov     x3, #0
1:  adr     x2, gic_is_v2
    str     x3, [x2]
    ret

/*
 * gic_v2_init - make INTID 27 reach this CPU as an IRQ, on a GICv2: its
 * priority and enable in the distributor's banked registers (group 0, the
 * only group KVM's vGICv2 lets a guest use), then the CPU interface.
 */
gic_v2_init:
    movz    x1, #(GICD_BASE >> 16), lsl #16
    mov     w2, #TIMER_PRIORITY
    strb    w2, [x1, #GICD_IPRIORITYR + TIMER_INTID]
    mov     w2, #(1 << TIMER_INTID)
    str     w2, [x1, #GICD_ISENABLER0]      // no target to set: a PPI is ours
    mov     w2, #CTLR_ENABLE_G0
    str     w2, [x1, #GICD_CTLR]
    movz    x1, #(GICC_BASE >> 16), lsl #16
    mov     w2, #0xff
    str     w2, [x1, #GICC_PMR]
    mov     w2, #CTLR_ENABLE_G0
    str     w2, [x1, #GICC_CTLR]
    ret

/*
 * gic_init - make INTID 27 reach this CPU as a group 1 IRQ, on a GICv3.
 */
gic_init:
    // 1. The distributor: affinity routing and group 1 on. It owns no PPI
    //    settings, but its group enable gates every group 1 interrupt.
    movz    x1, #(GICD_BASE >> 16), lsl #16
    mov     w2, #(CTLR_ARE | CTLR_ENABLE_G1)
    str     w2, [x1, #GICD_CTLR]
1:  ldr     w2, [x1, #GICD_CTLR]
    tbnz    w2, #CTLR_RWP, 1b               // wait until the write has taken effect

    // 2. Wake our redistributor (KVM's is always awake; hardware's is not).
    movz    x1, #(GICR_BASE >> 16), lsl #16
    ldr     w2, [x1, #GICR_WAKER]
    bic     w2, w2, #WAKER_PROCESSOR_SLEEP
    str     w2, [x1, #GICR_WAKER]
2:  ldr     w2, [x1, #GICR_WAKER]
    tbnz    w2, #WAKER_CHILDREN_ASLEEP, 2b

    // 3. INTID 27 in the redistributor's SGI_base frame: private interrupts
    //    are set up per CPU. (Its trigger is level, and KVM does not let the
    //    guest change a PPI's: nothing to write in GICR_ICFGR1.)
    movz    x1, #(GICR_SGI_BASE >> 16), lsl #16
    ldr     w2, [x1, #GICR_IGROUPR0]
    orr     w2, w2, #(1 << TIMER_INTID)     // group 1
    str     w2, [x1, #GICR_IGROUPR0]
    mov     w2, #TIMER_PRIORITY
    strb    w2, [x1, #GICR_IPRIORITYR + TIMER_INTID]
    mov     w2, #(1 << TIMER_INTID)
    str     w2, [x1, #GICR_ISENABLER0]      // enable it (no routing: it is ours)

    // 4. The CPU interface, as in chapter 5.
    mrs     x2, icc_sre_el1
    orr     x2, x2, #1                      // SRE: the system register interface
    msr     icc_sre_el1, x2
    isb
    mov     x2, #0xff
    msr     icc_pmr_el1, x2                 // mask no priority
    mov     x2, #1
    msr     icc_igrpen1_el1, x2             // group 1 on
    isb
    ret

/*
 * The vector table, as in chapter 5: only +0x280 (IRQ at EL1 on SP_EL1) is
 * expected; anything else is reported and ends in a reset (god exits 1).
 * The IRQ entry is different from chapter 5's: its handler returns to the
 * interrupted code, so the entry must not touch a register on the way.
 */
    .macro  vector_unexpected offset
    .balign 0x80
    mov     x0, #\offset                    // which entry, for the report
    b       unexpected
    .endm

    .balign 2048
vectors:
    vector_unexpected 0x000
    vector_unexpected 0x080
    vector_unexpected 0x100
    vector_unexpected 0x180
    vector_unexpected 0x200                 // current EL, SP_EL1: sync (a fault)
    .balign 0x80
    b       irq_handler                     //   IRQ: the timer
    vector_unexpected 0x300
    vector_unexpected 0x380
    vector_unexpected 0x400
    vector_unexpected 0x480
    vector_unexpected 0x500
    vector_unexpected 0x580
    vector_unexpected 0x600
    vector_unexpected 0x680
    vector_unexpected 0x700
    vector_unexpected 0x780

/*
 * eoi_x0 - end interrupt x0: ICC_EOIR1_EL1 on a GICv3, GICC_EOIR on a
 * GICv2. Uses x1.
 */
    .macro  eoi_x0
    ldr     x1, gic_is_v2
    cbnz    x1, 10\@f
    msr     icc_eoir1_el1, x0
    b       11\@f
10\@:
    movz    x1, #(GICC_BASE >> 16), lsl #16
    str     w0, [x1, #GICC_EOIR]
11\@:
    .endm

/*
 * irq_handler - one tick: save what we use, acknowledge, re-arm or stop the
 * timer, end the interrupt, restore, return. Unlike chapter 5's handler this
 * one returns (ERET) to the interrupted code, which must find every register
 * as it left it.
 */
irq_handler:
    stp     x0, x1, [sp, #-32]!             // save x0-x3 (SP stays 16-byte aligned);
    stp     x2, x3, [sp, #16]               // ELR/SPSR need no saving: IRQs stay
                                            // masked in here, nothing can nest
    ldr     x1, gic_is_v2
    cbnz    x1, 1f
    mrs     x0, icc_iar1_el1                // acknowledge: x0 = the INTID
    b       2f
1:  movz    x1, #(GICC_BASE >> 16), lsl #16
    ldr     w0, [x1, #GICC_IAR]             // the same on a GICv2
2:  cmp     x0, #TIMER_INTID
    b.ne    not_timer

    adr     x1, ticks
    ldr     x2, [x1]
    add     x2, x2, #1                      // one more tick
    str     x2, [x1]
    ldr     x3, ticks_wanted
    cmp     x2, x3
    b.hs    last_tick
    ldr     x3, interval
    msr     cntv_tval_el0, x3               // re-arm: fire again in one interval.
    b       eoi                             // This also lowers the line: the timer
                                            // asserts it while CNTVCT >= CVAL
last_tick:
    isb
    mrs     x3, cntvct_el0                  // the time of the N-th tick
    adr     x1, end_count
    str     x3, [x1]
    msr     cntv_ctl_el0, xzr               // timer off: the line goes down
eoi:
    isb                                     // the timer write before the EOI: with the
    eoi_x0                                  // line still up, INTID 27 would be pending
    b       irq_return                      // again at once (a phantom tick)

not_timer:
    adr     x1, others
    ldr     x2, [x1]
    add     x2, x2, #1                      // count it: the VMM reports these
    str     x2, [x1]
    cmp     x0, #1020                       // 1020-1023 are special (1023: spurious,
    b.hs    irq_return                      // nothing was pending) and take no EOI
    eoi_x0                                  // anything else: end it, and move on

irq_return:
    ldp     x2, x3, [sp, #16]
    ldp     x0, x1, [sp], #32
    eret                                    // back to ELR_EL1 with SPSR_EL1's PSTATE

/*
 * unexpected - any other exception: say which and ask for a reset.
 */
unexpected:
    mov     x19, x0
    mrs     x20, esr_el1
    mrs     x21, elr_el1
    adr     x0, msg_unexpected
    bl      puts
    mov     x0, x19
    bl      print_hex
    adr     x0, msg_esr
    bl      puts
    mov     x0, x20
    bl      print_hex
    adr     x0, msg_elr
    bl      puts
    mov     x0, x21
    bl      print_hex
    mov     w0, #'\n'
    bl      putc
    movz    x0, #0x0009                     // PSCI SYSTEM_RESET (0x84000009)
    movk    x0, #0x8400, lsl #16
    hvc     #0
    b       .

/*
 * Output helpers, as in chapter 5: putc uses x9-x10; puts, print_dec and
 * print_hex use x0 and x9-x15 and keep the return address on the stack.
 */
putc:
    movz    x9, #(UART_BASE >> 16), lsl #16
1:  ldr     w10, [x9, #UARTFR]
    tbnz    w10, #FR_TXFF, 1b
    str     w0, [x9, #UARTDR]
    ret

puts:
    str     x30, [sp, #-16]!
    mov     x11, x0
1:  ldrb    w0, [x11], #1
    cbz     w0, 2f
    bl      putc
    b       1b
2:  ldr     x30, [sp], #16
    ret

print_dec:
    str     x30, [sp, #-32]!
    add     x11, sp, #8
    mov     x12, #10
    mov     x13, x0
    mov     x14, #0
1:  udiv    x15, x13, x12
    msub    x10, x15, x12, x13
    add     w10, w10, #'0'
    strb    w10, [x11, x14]
    add     x14, x14, #1
    mov     x13, x15
    cbnz    x13, 1b
2:  sub     x14, x14, #1
    ldrb    w0, [x11, x14]
    bl      putc
    cbnz    x14, 2b
    ldr     x30, [sp], #32
    ret

print_hex:
    str     x30, [sp, #-16]!
    mov     x11, x0
    mov     w0, #'0'
    bl      putc
    mov     w0, #'x'
    bl      putc
    mov     x12, #60
1:  lsr     x13, x11, x12
    and     x13, x13, #0xf
    add     w0, w13, #'0'
    cmp     x13, #10
    b.lo    2f
    add     w0, w13, #('a' - 10)
2:  bl      putc
    subs    x12, x12, #4
    b.ge    1b
    ldr     x30, [sp], #16
    ret

msg_v3:         .asciz "GICv3: CPU interface in system registers\n"
msg_v2:         .asciz "GICv2: CPU interface at 0x8010000\n"
msg_timer:      .asciz "timer: "
msg_ticks:      .asciz " ticks of "
msg_ms_at:      .asciz " ms at "
msg_hz:         .asciz " Hz, elapsed "
msg_us:         .asciz " us\n"
msg_unexpected: .asciz "unexpected exception: vector +"
msg_esr:        .asciz ", ESR "
msg_elr:        .asciz ", ELR "

    // Shared by the main code and the handler; in RAM the VMM zeroed.
    .bss
    .balign 8
ticks:          .space 8                    // ticks taken so far
ticks_wanted:   .space 8                    // N
interval:       .space 8                    // counts per interval
end_count:      .space 8                    // CNTVCT at the N-th tick
others:         .space 8                    // IAR values other than 27
gic_is_v2:      .space 8                    // 1 on a GICv2 (gic_detect)
    .balign 16
stack:
    .space  4096
stack_top:

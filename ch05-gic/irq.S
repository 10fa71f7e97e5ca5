/*
 * irq.S - take one interrupt from the PL011 through the GIC, v3 or v2 (chapter 5).
 *
 * Until now the guest asked its devices ("is there a byte?"). Here it sets
 * everything up, goes to sleep with WFI and lets the UART wake it: the VMM
 * types a few bytes, the PL011 raises its line, the GIC turns the line into
 * an IRQ exception, and the CPU jumps to our vector table. The handler then
 * does what every interrupt handler does:
 *
 *   acknowledge   read the IAR: which interrupt? (it becomes "active")
 *   service       read the bytes until the receive FIFO is empty, which
 *                 makes the UART lower its line
 *   complete      write the INTID to the EOIR (it becomes "inactive")
 *
 * The GIC is whichever the VMM created: a GICv3, whose CPU interface is
 * system registers (ICC_IAR1_EL1, ICC_EOIR1_EL1...), or a GICv2, whose CPU
 * interface is memory-mapped (GICC_IAR, GICC_EOIR... at 0x08010000). The
 * guest finds out first (gic_detect) and says which, then reports, before
 * powering off:
 *
 *   GICv3: CPU interface in system registers      (or "GICv2: CPU
 *   irq 33: got 'ping'                             interface at 0x8010000")
 *   EOI: active 1 -> 0, next IAR 1023
 *
 * "active 1 -> 0" is the distributor's view of INTID 33 just before and
 * just after the EOI, and 1023 is what IAR says when nothing is pending.
 *
 * Addresses are the VMM's memory map (common/memmap.h, QEMU virt's layout).
 * The MMU is off, so every address here is physical, and device registers
 * are accessed one at a time with plain LDR/STR: KVM can only emulate an
 * access whose syndrome describes it, which rules out LDP/STP and
 * writeback addressing on MMIO.
 */

    // The PL011 UART (PL011 TRM, ARM DDI 0183).
    .equ    UART_BASE, 0x09000000
    .equ    UARTDR, 0x000                  // data: read pops the receive FIFO
    .equ    UARTFR, 0x018                  // flags
    .equ    UARTLCR_H, 0x02c               // line control
    .equ    UARTCR, 0x030                  // control
    .equ    UARTIMSC, 0x038                // interrupt mask set/clear: 1 = enabled
    .equ    FR_RXFE, 4                     // UARTFR bit 4: receive FIFO empty
    .equ    FR_TXFF, 5                     // UARTFR bit 5: transmit FIFO full
    .equ    LCR_H_8N1_FIFO, 0x70           // 8 data bits (WLEN = 3), FIFOs on (FEN)
    .equ    CR_ON, 0x301                   // UARTEN | TXE | RXE
    .equ    IMSC_RX, 0x50                  // RXIM (bit 4) | RTIM (bit 6): receive and
                                           // receive-timeout interrupts

    // The GICv3 distributor (GICv3 architecture spec, ARM IHI 0069).
    .equ    GICD_BASE, 0x08000000
    .equ    GICD_CTLR, 0x0000
    .equ    GICD_IGROUPR, 0x0080           // 1 bit per INTID: 1 = group 1
    .equ    GICD_ISENABLER, 0x0100         // 1 bit per INTID: write 1 to enable
    .equ    GICD_ISACTIVER, 0x0300         // 1 bit per INTID: read = active or not
    .equ    GICD_IPRIORITYR, 0x0400        // 1 byte per INTID: 0 = most urgent
    .equ    GICD_ICFGR, 0x0c00             // 2 bits per INTID: the upper one = edge
    .equ    GICD_IROUTER, 0x6000           // 8 bytes per INTID: target affinity
    .equ    CTLR_ENABLE_G1, (1 << 1)       // KVM's GIC has one security state (DS = 1):
    .equ    CTLR_ARE, (1 << 4)             // bit 1 enables group 1, bit 4 is ARE
    .equ    CTLR_RWP, 31                   // "register write pending"

    // The same distributor as a GICv2 (GICv2 architecture spec, ARM IHI 0048):
    // the registers above sit at the same offsets, plus one byte per INTID
    // naming the CPU interfaces an SPI goes to (affinity routing, IROUTER,
    // is GICv3's). KVM's vGICv2 has no security extensions: GICD_CTLR bit 0
    // enables group 0, the group every interrupt is in (KVM ignores guest
    // writes to GICD_IGROUPR unless the VMM opted in), and a group 0
    // interrupt is signalled as an IRQ unless GICC_CTLR.FIQEn says FIQ.
    .equ    GICD_ITARGETSR, 0x0800
    .equ    CTLR_ENABLE_G0, 1

    // The GICv2 CPU interface: memory-mapped, one per CPU at the same address.
    .equ    GICC_BASE, 0x08010000
    .equ    GICC_CTLR, 0x0000              // bit 0: signal group 0 interrupts
    .equ    GICC_PMR, 0x0004               // priority mask
    .equ    GICC_IAR, 0x000c               // acknowledge
    .equ    GICC_EOIR, 0x0010              // end of interrupt

    // ID_AA64PFR0_EL1.GIC, bits [27:24]: 0 = no GIC system-register interface.
    .equ    PFR0_GIC_SHIFT, 24

    // This vCPU's redistributor (GICv3 only): the first 64 KiB frame (RD_base).
    .equ    GICR_BASE, 0x080a0000
    .equ    GICR_WAKER, 0x0014
    .equ    WAKER_PROCESSOR_SLEEP, (1 << 1)
    .equ    WAKER_CHILDREN_ASLEEP, 2       // bit number

    // Our interrupt: the device tree's SPI 1 is INTID 32 + 1.
    .equ    UART_INTID, 33
    .equ    UART_PRIORITY, 0xa0            // anything below the mask (0xff) gets through

    .equ    RX_MAX, 32                     // the PL011 FIFO's depth (r1p5)

    .text
    .global _start
_start:
    // The CPU starts in EL1 with interrupts masked (PSTATE.I = 1): nothing can
    // reach us until we say so, which is what lets us set up in peace.
    adr     x0, vectors                    // where exceptions go: VBAR_EL1 holds the
    msr     vbar_el1, x0                   // table's address (2 KiB aligned)
    isb                                    // make sure the new VBAR is in use from here on
    adr     x0, stack_top                  // a stack, for the BL/RET helpers below;
    mov     sp, x0                         // at EL1h this is SP_EL1, also the handler's

    bl      gic_detect                     // x24 = 1 on a GICv2, 0 on a GICv3: kept in
                                           // x24 for the handler (nothing else uses it)
    adr     x0, msg_v3
    cbz     x24, 1f
    adr     x0, msg_v2
1:  bl      puts                           // say which
    cbnz    x24, 2f
    bl      gic_init                       // distributor, redistributor, CPU interface
    b       3f
2:  bl      gic_v2_init                    // distributor, CPU interface
3:  bl      uart_init                      // the UART, last: from here it may interrupt

    msr     daifclr, #2                    // clear PSTATE.I: IRQs may now be taken
idle:
    wfi                                    // sleep until an interrupt is pending
    b       idle                           // (the handler never comes back here)

/*
 * gic_detect - x24 = 0 if the GIC's CPU interface is system registers (v3),
 * 1 if it is memory-mapped (v2). Two questions, asked the way Linux asks
 * them (arch/arm64/kernel/cpufeature.c, then gic_enable_sre() in
 * drivers/irqchip/irq-gic-v3.c):
 *
 *   1. Does the CPU have the system-register interface at all?
 *      ID_AA64PFR0_EL1.GIC. A Cortex-A72 (Raspberry Pi 4) says 0: it has
 *      none, and touching an ICC_* register would be an undefined
 *      instruction, so this must come first.
 *   2. Is it switched on for us? Set ICC_SRE_EL1.SRE and read it back. A
 *      hypervisor that gives its guest a GICv2 on a GICv3 host (GICv3's
 *      optional v2 compatibility) keeps it off: SRE reads 0.
 *
 * Reading the distributor's ID register (GICD_PIDR2.ArchRev) would be the
 * other way, but KVM's vGICv2 does not implement it.
 */
gic_detect:
    mrs     x2, id_aa64pfr0_el1
    ubfx    x2, x2, #PFR0_GIC_SHIFT, #4
    cbz     x2, 1f                          // no ICC_* registers: a GICv2
    mrs     x2, icc_sre_el1
    orr     x2, x2, #1
    msr     icc_sre_el1, x2                 // SRE = 1, if we are allowed
    isb
    mrs     x2, icc_sre_el1
    tbz     x2, #0, 1f                      // it did not stick: a GICv2
    mov     x24, #0
    ret
1:  mov     x24, #1
    ret

/*
 * gic_v2_init - make INTID 33 reach this CPU as an IRQ, on a GICv2.
 * The same steps as gic_init below, in GICv2's terms: no redistributor to
 * wake, a target CPU mask instead of an affinity, and the CPU interface in
 * memory.
 */
gic_v2_init:
    movz    x1, #(GICD_BASE >> 16), lsl #16
    ldr     w2, [x1, #GICD_ICFGR + 8]       // level-sensitive, as in gic_init
    bic     w2, w2, #(2 << (2 * (UART_INTID - 32)))
    str     w2, [x1, #GICD_ICFGR + 8]
    mov     w2, #UART_PRIORITY
    strb    w2, [x1, #GICD_IPRIORITYR + UART_INTID]
    mov     w2, #1                          // CPU interface 0 (bit n = interface n):
    strb    w2, [x1, #GICD_ITARGETSR + UART_INTID] // ours, the only one
    mov     w2, #(1 << (UART_INTID - 32))
    str     w2, [x1, #GICD_ISENABLER + 4]   // enable it
    mov     w2, #CTLR_ENABLE_G0
    str     w2, [x1, #GICD_CTLR]            // the distributor forwards group 0

    movz    x1, #(GICC_BASE >> 16), lsl #16
    mov     w2, #0xff
    str     w2, [x1, #GICC_PMR]             // let every priority through
    mov     w2, #CTLR_ENABLE_G0
    str     w2, [x1, #GICC_CTLR]            // and signal group 0 to the CPU
    ret

/*
 * gic_init - make INTID 33 reach this CPU as a group 1 IRQ, on a GICv3.
 */
gic_init:
    // 1. The distributor: switch on affinity routing and group 1.
    movz    x1, #(GICD_BASE >> 16), lsl #16 // x1 = GICD
    mov     w2, #(CTLR_ARE | CTLR_ENABLE_G1)
    str     w2, [x1, #GICD_CTLR]
1:  ldr     w2, [x1, #GICD_CTLR]            // the GIC may take a while to apply
    tbnz    w2, #CTLR_RWP, 1b               // that: wait until RWP reads 0

    // 2. Our redistributor: a CPU's redistributor starts "asleep" and drops
    //    interrupts for it until told the CPU is awake.
    movz    x1, #(GICR_BASE >> 16), lsl #16 // x1 = GICR (vCPU 0's RD_base frame)
    ldr     w2, [x1, #GICR_WAKER]
    bic     w2, w2, #WAKER_PROCESSOR_SLEEP  // ProcessorSleep = 0: "this CPU is awake"
    str     w2, [x1, #GICR_WAKER]
2:  ldr     w2, [x1, #GICR_WAKER]           // and wait for the redistributor to agree
    tbnz    w2, #WAKER_CHILDREN_ASLEEP, 2b  // (ChildrenAsleep = 0)

    // 3. INTID 33 in the distributor. SPIs are shared: their settings live
    //    here, not in a redistributor. INTID n is bit n % 32 of word n / 32.
    movz    x1, #(GICD_BASE >> 16), lsl #16
    ldr     w2, [x1, #GICD_IGROUPR + 4]     // word 1 covers INTIDs 32-63
    orr     w2, w2, #(1 << (UART_INTID - 32)) // group 1: the group a non-secure
    str     w2, [x1, #GICD_IGROUPR + 4]     // OS uses (group 0 would be an FIQ)
    ldr     w2, [x1, #GICD_ICFGR + 8]       // word 2 covers INTIDs 32-47, 2 bits each
    bic     w2, w2, #(2 << (2 * (UART_INTID - 32))) // level-sensitive, like the PL011's
    str     w2, [x1, #GICD_ICFGR + 8]       // line (KVM resets SPIs to edge)
    mov     w2, #UART_PRIORITY
    strb    w2, [x1, #GICD_IPRIORITYR + UART_INTID] // priorities are byte-addressable
    str     xzr, [x1, #GICD_IROUTER + 8 * UART_INTID] // route to affinity 0.0.0.0 (our
                                            // vCPU), IRM = 0: that CPU only
    mov     w2, #(1 << (UART_INTID - 32))
    str     w2, [x1, #GICD_ISENABLER + 4]   // enable it (writing 0 bits changes nothing)

    // 4. The CPU interface: system registers, not memory.
    mrs     x2, icc_sre_el1
    orr     x2, x2, #1                      // SRE = 1: use the ICC_* system registers
    msr     icc_sre_el1, x2                 // (KVM's vGICv3 has it fixed at 1 anyway)
    isb                                     // SRE must take effect before other ICC_*
    mov     x2, #0xff
    msr     icc_pmr_el1, x2                 // priority mask: let every priority through
    mov     x2, #1
    msr     icc_igrpen1_el1, x2             // accept group 1 interrupts
    isb                                     // all of it in effect before we go on
    ret

/*
 * uart_init - switch the UART on with FIFOs and unmask its receive interrupts.
 */
uart_init:
    movz    x1, #(UART_BASE >> 16), lsl #16
    mov     w2, #LCR_H_8N1_FIFO             // FIFOs first: without them the UART
    str     w2, [x1, #UARTLCR_H]            // holds one received byte, not 32
    mov     w2, #CR_ON
    str     w2, [x1, #UARTCR]
    mov     w2, #IMSC_RX                    // "tell me when bytes arrive": the line
    str     w2, [x1, #UARTIMSC]             // goes up as soon as the FIFO is not empty
    ret

/*
 * The exception vector table: 16 entries of 0x80 bytes (32 instructions),
 * four kinds (synchronous, IRQ, FIQ, SError) for each of four origins:
 *
 *   +0x000  current EL, using SP_EL0
 *   +0x200  current EL, using SP_ELx   <- us: EL1 on SP_EL1 ("EL1h")
 *   +0x400  a lower EL in AArch64
 *   +0x600  a lower EL in AArch32
 *
 * The CPU jumps to VBAR_EL1 + the entry's offset with PSTATE.I set again,
 * the return address in ELR_EL1 and the old PSTATE in SPSR_EL1.
 */
    .macro  vector_entry target, offset
    .balign 0x80
    mov     x0, #\offset                    // tell the handler which entry this was
    b       \target
    .endm

    .balign 2048                            // VBAR_EL1's low 11 bits are RES0
vectors:
    vector_entry unexpected, 0x000          // current EL, SP_EL0: sync
    vector_entry unexpected, 0x080          //   IRQ
    vector_entry unexpected, 0x100          //   FIQ
    vector_entry unexpected, 0x180          //   SError
    vector_entry unexpected, 0x200          // current EL, SP_EL1: sync (a fault)
    vector_entry irq_handler, 0x280         //   IRQ: the one we expect
    vector_entry unexpected, 0x300          //   FIQ (group 0 would come here)
    vector_entry unexpected, 0x380          //   SError
    vector_entry unexpected, 0x400          // lower EL, AArch64
    vector_entry unexpected, 0x480
    vector_entry unexpected, 0x500
    vector_entry unexpected, 0x580
    vector_entry unexpected, 0x600          // lower EL, AArch32
    vector_entry unexpected, 0x680
    vector_entry unexpected, 0x700
    vector_entry unexpected, 0x780

/*
 * irq_handler - the IRQ: acknowledge, drain the UART, complete, report.
 * It powers the machine off at the end and never returns, so it may use
 * any register without saving it.
 */
irq_handler:
    cbnz    x24, 1f
    mrs     x19, icc_iar1_el1               // acknowledge: x19 = the INTID, which is now
    b       2f                              // active (and not pending any more)
1:  movz    x1, #(GICC_BASE >> 16), lsl #16
    ldr     w19, [x1, #GICC_IAR]            // the same on a GICv2, in memory
2:

    movz    x1, #(UART_BASE >> 16), lsl #16
    adr     x2, rx_buf
    mov     x20, #0                         // x20 = bytes received
drain:
    ldr     w3, [x1, #UARTFR]
    tbnz    w3, #FR_RXFE, drained           // the FIFO is empty: done
    ldr     w3, [x1, #UARTDR]               // pop one byte (bits 11:8 would be errors)
    cmp     x20, #RX_MAX                    // keep at most RX_MAX bytes, but read
    b.hs    drain                           // everything: the line stays up until
    strb    w3, [x2, x20]                   // the FIFO is empty
    add     x20, x20, #1
    b       drain
drained:
    strb    wzr, [x2, x20]                  // NUL-terminate for puts

    // Is INTID 33 active in the distributor's eyes? Bit 1 of ISACTIVER word 1.
    movz    x1, #(GICD_BASE >> 16), lsl #16
    ldr     w21, [x1, #GICD_ISACTIVER + 4]
    ubfx    w21, w21, #(UART_INTID - 32), #1 // x21 = active before the EOI

    cbnz    x24, 1f
    msr     icc_eoir1_el1, x19              // end of interrupt: drop the running
    isb                                     // priority and deactivate INTID 33
    b       2f
1:  movz    x2, #(GICC_BASE >> 16), lsl #16
    str     w19, [x2, #GICC_EOIR]           // the same on a GICv2
2:

    ldr     w22, [x1, #GICD_ISACTIVER + 4]
    ubfx    w22, w22, #(UART_INTID - 32), #1 // x22 = active after the EOI
    cbnz    x24, 1f
    mrs     x23, icc_iar1_el1               // anything else pending? We drained the
    b       2f                              // FIFO, so the line is down: expect 1023
1:  movz    x2, #(GICC_BASE >> 16), lsl #16
    ldr     w23, [x2, #GICC_IAR]
2:

    // Report: "irq 33: got 'ping'" and "EOI: active 1 -> 0, next IAR 1023".
    adr     x0, msg_irq
    bl      puts
    mov     x0, x19
    bl      print_dec
    adr     x0, msg_got
    bl      puts
    adr     x0, rx_buf
    bl      puts
    adr     x0, msg_eoi
    bl      puts
    mov     x0, x21
    bl      print_dec
    adr     x0, msg_arrow
    bl      puts
    mov     x0, x22
    bl      print_dec
    adr     x0, msg_next
    bl      puts
    mov     x0, x23
    bl      print_dec
    mov     w0, #'\n'
    bl      putc

    movz    x0, #0x0008                     // PSCI SYSTEM_OFF (0x84000008): god exits 0
    movk    x0, #0x8400, lsl #16
    hvc     #0
    b       .

/*
 * unexpected - any other exception: say which (x0 = the vector offset) and
 * ask for a reset, which god reports as a failure (exit status 1).
 */
unexpected:
    mov     x19, x0
    mrs     x20, esr_el1                    // why: the exception syndrome
    mrs     x21, elr_el1                    // where: the address it happened at
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
 * Output helpers. putc sends w0 and uses only x9 and x10, so the others
 * can keep their values across it in registers; puts and the number
 * printers use x0 and x9-x15 and keep the return address on the stack.
 */
putc:
    movz    x9, #(UART_BASE >> 16), lsl #16
1:  ldr     w10, [x9, #UARTFR]
    tbnz    w10, #FR_TXFF, 1b               // wait for room in the transmit FIFO
    str     w0, [x9, #UARTDR]               // one MMIO exit per byte: keep it short
    ret

puts:                                       // x0 = a NUL-terminated string
    str     x30, [sp, #-16]!                // push the return address (SP stays
    mov     x11, x0                         // 16-byte aligned, as AArch64 requires)
1:  ldrb    w0, [x11], #1
    cbz     w0, 2f
    bl      putc
    b       1b
2:  ldr     x30, [sp], #16
    ret

print_dec:                                  // x0 = an unsigned number, in decimal
    str     x30, [sp, #-32]!                // return address + 20 bytes for digits
    add     x11, sp, #8                     // x11 = the digit buffer
    mov     x12, #10
    mov     x13, x0
    mov     x14, #0                         // x14 = digits so far
1:  udiv    x15, x13, x12                   // x15 = x13 / 10
    msub    x10, x15, x12, x13              // x10 = x13 - x15 * 10: the lowest digit
    add     w10, w10, #'0'
    strb    w10, [x11, x14]                 // digits come out lowest first...
    add     x14, x14, #1
    mov     x13, x15
    cbnz    x13, 1b
2:  sub     x14, x14, #1                    // ...so print them in reverse
    ldrb    w0, [x11, x14]
    bl      putc
    cbnz    x14, 2b
    ldr     x30, [sp], #32
    ret

print_hex:                                  // x0 = a number, as 0x and 16 hex digits
    str     x30, [sp, #-16]!
    mov     x11, x0
    mov     w0, #'0'
    bl      putc
    mov     w0, #'x'
    bl      putc
    mov     x12, #60                        // shift for the top nibble
1:  lsr     x13, x11, x12
    and     x13, x13, #0xf
    add     w0, w13, #'0'                   // 0-9
    cmp     x13, #10
    b.lo    2f
    add     w0, w13, #('a' - 10)            // a-f
2:  bl      putc
    subs    x12, x12, #4
    b.ge    1b
    ldr     x30, [sp], #16
    ret

msg_v3:         .asciz "GICv3: CPU interface in system registers\n"
msg_v2:         .asciz "GICv2: CPU interface at 0x8010000\n"
msg_irq:        .asciz "irq "
msg_got:        .asciz ": got '"
msg_eoi:        .asciz "'\nEOI: active "
msg_arrow:      .asciz " -> "
msg_next:       .asciz ", next IAR "
msg_unexpected: .asciz "unexpected exception: vector +"
msg_esr:        .asciz ", ESR "
msg_elr:        .asciz ", ELR "

    // RAM the VMM zeroed for us: not part of irq.bin, but inside guest RAM.
    .bss
    .balign 16
rx_buf:
    .space  RX_MAX + 1
    .balign 16
stack:
    .space  4096
stack_top:

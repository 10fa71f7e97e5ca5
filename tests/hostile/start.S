/*
 * start.S - entry, arm64 Image header and exception vectors of the hostile guests.
 *
 * god boot loads a kernel the way booting.rst says (common/arm64_image.c),
 * so the guest starts with the same 64-byte header a Linux Image has: god
 * puts it at the first 2 MiB boundary of RAM plus text_offset (0 here) and
 * starts vCPU 0 there with x0 = the DTB's address.
 */
    .section .text.head, "ax"
    .global _head
_head:
    b       primary_entry           // code0: jump over the header
    .long   0                       // code1
    .quad   0                       // text_offset
    .quad   _image_size             // image_size: file plus bss (hostile.ld)
    .quad   0x2                     // flags: little endian, 4 KiB pages
    .quad   0, 0, 0                 // res2..res4
    .ascii  "ARM\x64"               // magic
    .long   0                       // res5

primary_entry:
    mov     x19, x0                 // the DTB
    adrp    x1, primary_stack_top
    add     x1, x1, :lo12:primary_stack_top
    mov     sp, x1
    adrp    x0, vectors
    add     x0, x0, :lo12:vectors
    msr     vbar_el1, x0
    isb
    adrp    x0, _bss_start
    add     x0, x0, :lo12:_bss_start
    adrp    x1, _bss_end
    add     x1, x1, :lo12:_bss_end
1:  cmp     x0, x1
    b.hs    2f
    str     xzr, [x0], #8
    b       1b
2:  mov     x0, x19
    bl      hostile_main
    b       psci_system_off

/*
 * A secondary vCPU started by PSCI CPU_ON arrives here with the MMU off and
 * x0 = the context id the primary passed (the address of its flag word).
 */
    .global secondary_entry
secondary_entry:
    adrp    x1, secondary_stack_top
    add     x1, x1, :lo12:secondary_stack_top
    mov     sp, x1
    bl      secondary_main
3:  wfe
    b       3b

/*
 * Exception vectors: every entry saves the registers and calls
 * exception_handler(kind, frame), which either records an exception a case
 * asked for and steps over the faulting instruction, or reports and powers off.
 */
    .macro vector kind
    .balign 0x80
    sub     sp, sp, #272
    stp     x0, x1, [sp, #0]
    mov     x0, #\kind
    b       vector_common
    .endm

    .balign 2048
vectors:
    .irp k, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
    vector \k
    .endr

vector_common:
    stp     x2, x3, [sp, #16]
    stp     x4, x5, [sp, #32]
    stp     x6, x7, [sp, #48]
    stp     x8, x9, [sp, #64]
    stp     x10, x11, [sp, #80]
    stp     x12, x13, [sp, #96]
    stp     x14, x15, [sp, #112]
    stp     x16, x17, [sp, #128]
    stp     x18, x19, [sp, #144]
    stp     x20, x21, [sp, #160]
    stp     x22, x23, [sp, #176]
    stp     x24, x25, [sp, #192]
    stp     x26, x27, [sp, #208]
    stp     x28, x29, [sp, #224]
    str     x30, [sp, #240]
    mov     x1, sp
    bl      exception_handler
    ldp     x2, x3, [sp, #16]
    ldp     x4, x5, [sp, #32]
    ldp     x6, x7, [sp, #48]
    ldp     x8, x9, [sp, #64]
    ldp     x10, x11, [sp, #80]
    ldp     x12, x13, [sp, #96]
    ldp     x14, x15, [sp, #112]
    ldp     x16, x17, [sp, #128]
    ldp     x18, x19, [sp, #144]
    ldp     x20, x21, [sp, #160]
    ldp     x22, x23, [sp, #176]
    ldp     x24, x25, [sp, #192]
    ldp     x26, x27, [sp, #208]
    ldp     x28, x29, [sp, #224]
    ldr     x30, [sp, #240]
    ldp     x0, x1, [sp, #0]
    add     sp, sp, #272
    eret

    .global psci_system_off
psci_system_off:
    movz    x0, #0x0008
    movk    x0, #0x8400, lsl #16
    hvc     #0
4:  wfe
    b       4b

    .bss
    .balign 16
    .space  16384
primary_stack_top:
    .space  4096
secondary_stack_top:

/*
 * guest.S - the first guest program (chapter 3).
 *
 * It runs at EL1 with the MMU off, straight after the VMM sets PC to the
 * start of guest RAM. The VMM passes two arguments in registers, as a
 * function call would:
 *
 *   x0 = n                      which Fibonacci number to compute
 *   x1 = a guest physical address where the result must be stored
 *
 * The guest computes fib(n), stores it, and asks to be powered off. There
 * is no "exit" instruction for a virtual machine: the guest calls the
 * firmware's power-off service, PSCI SYSTEM_OFF, with HVC. KVM implements
 * PSCI and turns SYSTEM_OFF into KVM_EXIT_SYSTEM_EVENT for the VMM.
 */
    .text
    .global _start
_start:
    mov     x2, #0                  // x2 = fib(i),   i = 0
    mov     x3, #1                  // x3 = fib(i+1)
    cbz     x0, store               // fib(0) = 0: nothing to iterate
next:
    add     x4, x2, x3              // fib(i+2) = fib(i) + fib(i+1)
    mov     x2, x3                  // slide the window forward by one
    mov     x3, x4
    subs    x0, x0, #1              // one step fewer to go; sets the Z flag at 0
    b.ne    next
store:
    str     x2, [x1]                // the result, where the VMM will look for it

    /* PSCI SYSTEM_OFF: function id 0x84000008 in x0, then a hypervisor call. */
    movz    x0, #0x0008
    movk    x0, #0x8400, lsl #16
    hvc     #0

    /* SYSTEM_OFF does not return. If it ever did, spin rather than run off into RAM. */
hang:
    b       hang

/*
 * runaway.S - a guest that never stops (chapter 3).
 *
 * A branch to itself: the vCPU runs at full speed inside KVM_RUN and never
 * exits to the VMM. `god run --timeout` must still get control back and
 * report where the guest was. Try: make -C ch03-vcpu run-runaway
 */
    .text
    .global _start
_start:
    b       _start

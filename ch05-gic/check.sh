#!/bin/sh
# Chapter 5 milestone, run on the ARM64 host. The guest only reads the UART
# from its interrupt handler, so the only way for it to print the bytes we
# send is for the whole path to work: PL011 line -> KVM_IRQ_LINE -> vGIC
# distributor -> redistributor -> CPU interface -> vector table -> handler.
# We check that it:
#   - found the GIC god created (god says "in-kernel GICv3" or "GICv2" on
#     stderr; the guest works it out for itself and prints it first),
#   - took INTID 33 and got exactly our bytes (chosen here, per run),
#   - completed the interrupt: INTID 33 active before the EOI and not after,
#     and IAR then says 1023 (nothing pending: draining the FIFO lowered the
#     line; a guest that did not would see 33 again),
#   - powered off (god exits 0 only on PSCI SYSTEM_OFF).
# Then the same guest with the wire cut (--no-irq) must be stopped by
# --timeout (exit 3) with a register dump, not hang.
# Then --gic: the version god chose by itself again, explicitly; the other
# one either works the same way (a host offering both) or is refused with
# one line and exit status 1; a version that does not exist is a usage
# error (exit 2).
fail() { echo "FAIL: $*"; exit 1; }

# What the guest must print first for each GIC.
found() {
    case $1 in
    GICv3) echo "GICv3: CPU interface in system registers" ;;
    GICv2) echo "GICv2: CPU interface at 0x8010000" ;;
    *) fail "god created '$1'" ;;
    esac
}

# run_irq DATA [OPTION...]: one run, its output checked against DATA.
run_irq() {
    data=$1
    shift
    out=$(./god run --send "$data" "$@" irq.bin 2>err.txt) || { cat err.txt; fail "god run --send '$data' $* exited $?"; }
    echo "$out"
    gic=$(sed -n 's/^god: in-kernel \(GICv[23]\)$/\1/p' err.txt)
    [ -n "$gic" ] || fail "god did not say which GIC it created"
    want=$(printf "%s\nirq 33: got '%s'\nEOI: active 1 -> 0, next IAR 1023" "$(found "$gic")" "$data")
    [ "$out" = "$want" ] || fail "--send '$data' $*: expected:
$want"
}

for data in ping "k$$" '0123456789abcdefghijklmnopqrstuv'; do
    run_irq "$data"
done
auto=$gic
echo "god chose $auto"

if [ "$auto" = GICv3 ]; then mine=v3 other=v2; else mine=v2 other=v3; fi
run_irq forced --gic "$mine"
[ "$gic" = "$auto" ] || fail "--gic $mine created $gic"
if ./god run --gic "$other" irq.bin >out.txt 2>err.txt; then
    echo "this host offers both GICs: --gic $other works too"
    run_irq other --gic "$other"
else
    rc=$?
    cat err.txt
    [ "$rc" -eq 1 ] || fail "--gic $other on a host without it: exit status $rc, want 1"
    [ "$(wc -l <err.txt)" -eq 1 ] || fail "--gic $other: want a one-line error"
    grep -q "^god: --gic $other: this host's KVM offers only a $auto" err.txt ||
        fail "--gic $other: the error does not say what the host offers"
fi
./god run --gic v4 irq.bin 2>err.txt
rc=$?
cat err.txt
[ "$rc" -eq 2 ] || fail "--gic v4: exit status $rc, want 2"

./god run --trace irq.bin >out.txt 2>trace.txt || fail "god run --trace exited $?"
grep -q "PL011 UARTIMSC write" trace.txt || fail "--trace did not show the UARTIMSC write"
grep -v "^god: in-kernel GIC" trace.txt | grep -q "GIC" && fail "GIC accesses reached the VMM: they should stay in KVM"

./god run --no-irq --timeout 2 irq.bin >out.txt 2>err.txt
rc=$?
cat err.txt
[ "$rc" -eq 3 ] || fail "--no-irq: exit status $rc, want 3 (timeout)"
grep -q "^irq" out.txt && fail "--no-irq: the guest printed '$(cat out.txt)' without an interrupt"
grep -q "PC " err.txt || fail "--no-irq: no register dump"
echo "PASS: ch05 milestone"

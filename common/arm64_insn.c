/*
 * arm64_insn.c - naming the memory accesses KVM cannot emulate (introduced in chapter 4).
 *
 * Field positions from the Arm ARM's A64 encoding index, "Loads and Stores":
 * bit 27 = 1 and bit 25 = 0 make an instruction a load or store; bits 29:28,
 * 24 and 21 and 11:10 pick the class; bit 26 (V) says SIMD&FP registers.
 */
#include "arm64_insn.h"

#include <stdbool.h>
#include <stddef.h>

#define BIT(insn, n) (((insn) >> (n)) & 1u)

/* Load/store exclusive, load-acquire/store-release, compare-and-swap: bits 29:24 = 001000. */
static const char *exclusive_class(uint32_t insn)
{
    bool o2 = BIT(insn, 23), o1 = BIT(insn, 21);
    if (o2 && o1)
        return "an atomic compare-and-swap (CAS)";
    if (o2)
        return "a load-acquire/store-release (LDAR/STLR)";
    if (o1 && !BIT(insn, 31))
        return "an atomic compare-and-swap pair (CASP)";
    return "an exclusive load/store (LDXR/STXR family)";
}

/* Single-register loads and stores: bits 29:28 = 11, bit 24 = 0 (not unsigned offset). */
static const char *register_class(uint32_t insn)
{
    unsigned op4 = (insn >> 10) & 3;
    if (BIT(insn, 21)) {
        if (op4 == 0)
            return "an atomic memory operation (LDADD, SWP, ...)";
        if (op4 & 1)
            return "a pointer-authenticated load (LDRAA/LDRAB)";
        return BIT(insn, 26) ? "a SIMD&FP load/store (register offset)"
                             : "a load/store (register offset)";
    }
    if (op4 == 1)
        return BIT(insn, 26) ? "a SIMD&FP load/store with writeback (post-index)"
                             : "a load/store with writeback (post-index)";
    if (op4 == 3)
        return BIT(insn, 26) ? "a SIMD&FP load/store with writeback (pre-index)"
                             : "a load/store with writeback (pre-index)";
    return BIT(insn, 26) ? "a SIMD&FP load/store" : "a load/store";
}

const char *arm64_insn_access_class(uint32_t insn)
{
    if ((insn & 0xffffffe0u) == 0xd50b7420u)
        return "DC ZVA (zero a cache block)";
    if (!BIT(insn, 27) || BIT(insn, 25))
        return NULL; /* not in the loads and stores space */
    if ((insn & 0xbe000000u) == 0x0c000000u)
        return "a SIMD structure load/store (LD1/ST1 family)";
    if ((insn & 0x3f000000u) == 0x08000000u)
        return exclusive_class(insn);
    if ((insn & 0x3a000000u) == 0x28000000u)
        return BIT(insn, 26) ? "a SIMD&FP load/store pair (LDP/STP)"
                             : "a load/store pair (LDP/STP)";
    if ((insn & 0x3b000000u) == 0x38000000u)
        return register_class(insn);
    if ((insn & 0x3b000000u) == 0x39000000u)
        return BIT(insn, 26) ? "a SIMD&FP load/store" : "a load/store";
    return "a load/store";
}

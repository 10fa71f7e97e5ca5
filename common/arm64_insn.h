/*
 * arm64_insn.h - naming the memory accesses KVM cannot emulate (introduced in chapter 4).
 *
 * When a guest load or store to a device traps, the CPU usually describes it
 * in the exception syndrome (ESR_EL2.ISV = 1: size, register, direction), and
 * KVM turns that into KVM_EXIT_MMIO. The architecture gives that description
 * only for a load or store of one general-purpose register without
 * writeback (Arm ARM, ESR_ELx ISS encoding for a Data Abort, ISV). For
 * anything else - a pair (LDP/STP), an exclusive, an atomic, a
 * post/pre-index writeback, a SIMD&FP register, DC ZVA - ISV is 0 and KVM
 * would have to decode the instruction itself, which it does not: it
 * reports KVM_EXIT_ARM_NISV. To tell the learner which instruction it was,
 * we decode just enough of the load/store encoding space (Arm ARM, "Loads
 * and Stores" in the A64 instruction set encoding).
 */
#ifndef GOD_ARM64_INSN_H
#define GOD_ARM64_INSN_H

#include <stdint.h>

/*
 * What kind of memory access the A64 instruction `insn` is, in a few words
 * ("a load/store pair (LDP/STP)"), or NULL when it is not a load, a store or
 * DC ZVA.
 */
const char *arm64_insn_access_class(uint32_t insn);

#endif

/*
 * test_arm64_insn.c - naming the accesses KVM cannot emulate (common/arm64_insn.c).
 *
 * The encodings are what GNU as (-march=armv8.1-a) emits for the
 * instruction in the comment, checked with objdump.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "arm64_insn.h"

static void expect(uint32_t insn, const char *words)
{
    const char *got = arm64_insn_access_class(insn);
    if (!words) {
        assert_null(got);
        return;
    }
    assert_non_null(got);
    if (!strstr(got, words))
        fail_msg("%#010x: \"%s\" does not say \"%s\"", insn, got, words);
}

static void accesses_without_a_syndrome(void **state)
{
    (void)state;
    expect(0xa9400440, "pair (LDP/STP)");          /* ldp x0, x1, [x2] */
    expect(0x298110a3, "pair (LDP/STP)");          /* stp w3, w4, [x5, #8]! */
    expect(0xad400440, "SIMD&FP load/store pair"); /* ldp q0, q1, [x2] */
    expect(0xc85f7c20, "exclusive");               /* ldxr x0, [x1] */
    expect(0xc8027c20, "exclusive");               /* stxr w2, x0, [x1] */
    expect(0xc8a07c41, "(CAS)");                   /* cas x0, x1, [x2] */
    expect(0x48207c82, "(CASP)");                  /* casp x0, x1, x2, x3, [x4] */
    expect(0xb8200041, "atomic memory operation"); /* ldadd w0, w1, [x2] */
    expect(0xf8208041, "atomic memory operation"); /* swp x0, x1, [x2] */
    expect(0xf8408420, "writeback (post-index)");  /* ldr x0, [x1], #8 */
    expect(0x38401443, "writeback (post-index)");  /* ldrb w3, [x2], #1 */
    expect(0xb8004c20, "writeback (pre-index)");   /* str w0, [x1, #4]! */
    expect(0x3dc00020, "SIMD&FP load/store");      /* ldr q0, [x1] */
    expect(0x4c407000, "SIMD structure");          /* ld1 {v0.16b}, [x0] */
    expect(0xd50b7423, "DC ZVA");                  /* dc zva, x3 */
}

static void plain_accesses_and_others(void **state)
{
    (void)state;
    expect(0x88dffc20, "load-acquire/store-release"); /* ldar w0, [x1] */
    expect(0xf9400420, "a load/store");               /* ldr x0, [x1, #8] */
    expect(0xb8626820, "register offset");            /* ldr w0, [x1, x2] */
    expect(0xf85f8020, "a load/store");               /* ldur x0, [x1, #-8] */
    expect(0x8b020020, NULL);                         /* add x0, x1, x2 */
    expect(0xd503201f, NULL);                         /* nop */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(accesses_without_a_syndrome),
        cmocka_unit_test(plain_accesses_and_others),
    };
    return cmocka_run_group_tests_name("arm64_insn", tests, NULL, NULL);
}

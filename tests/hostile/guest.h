/*
 * guest.h - the small runtime the hostile guests share: MMIO accessors that
 * compile to exactly one load or store of the width asked for, the PL011,
 * printing, a clock, PSCI calls, the device tree, the MMU, and the case runner.
 *
 * Freestanding C: no libc, so the few helpers a compiler expects (memset,
 * memcpy) are here too.
 */
#ifndef HOSTILE_GUEST_H
#define HOSTILE_GUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PL011_BASE       0x09000000UL
#define VIRTIO_MMIO_BASE 0x0a000000UL
#define VIRTIO_MMIO_SIZE 0x200UL
#define RAM_BASE         0x40000000UL

/*
 * One access, of exactly this width, with a plain register address: KVM can
 * only decode (and hand to god) loads and stores without writeback.
 */
static inline uint8_t mmio_r8(uintptr_t a)
{
    uint8_t v;
    __asm__ volatile("ldrb %w0, [%1]" : "=r"(v) : "r"(a) : "memory");
    return v;
}
static inline uint16_t mmio_r16(uintptr_t a)
{
    uint16_t v;
    __asm__ volatile("ldrh %w0, [%1]" : "=r"(v) : "r"(a) : "memory");
    return v;
}
static inline uint32_t mmio_r32(uintptr_t a)
{
    uint32_t v;
    __asm__ volatile("ldr %w0, [%1]" : "=r"(v) : "r"(a) : "memory");
    return v;
}
static inline uint64_t mmio_r64(uintptr_t a)
{
    uint64_t v;
    __asm__ volatile("ldr %0, [%1]" : "=r"(v) : "r"(a) : "memory");
    return v;
}
static inline void mmio_w8(uintptr_t a, uint8_t v)
{
    __asm__ volatile("strb %w0, [%1]" : : "r"(v), "r"(a) : "memory");
}
static inline void mmio_w16(uintptr_t a, uint16_t v)
{
    __asm__ volatile("strh %w0, [%1]" : : "r"(v), "r"(a) : "memory");
}
static inline void mmio_w32(uintptr_t a, uint32_t v)
{
    __asm__ volatile("str %w0, [%1]" : : "r"(v), "r"(a) : "memory");
}
static inline void mmio_w64(uintptr_t a, uint64_t v)
{
    __asm__ volatile("str %0, [%1]" : : "r"(v), "r"(a) : "memory");
}

/* Barriers: the rings are shared with the device's thread on another host CPU. */
static inline void mb(void)
{
    __asm__ volatile("dmb ish" : : : "memory");
}

void *memset(void *s, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);

/* The PL011: output only. */
void putc_uart(char c);
void puts_uart(const char *s);
void print_u64(uint64_t v);
void print_hex(uint64_t v);

/* Time, from the architected counter (CNTVCT_EL0 / CNTFRQ_EL0). */
uint64_t now_us(void);
void delay_us(uint64_t us);

/* PSCI over HVC, the conduit KVM offers (the DTB's /psci node says "hvc"). */
int64_t psci_call(uint64_t fn, uint64_t a1, uint64_t a2, uint64_t a3);
void psci_system_off(void) __attribute__((noreturn));

/* From the DTB: RAM and the command line. */
extern uint64_t ram_start, ram_end;
extern const char *bootargs;
bool dtb_parse(const void *dtb);
bool cmdline_has(const char *word);

/* Identity-mapped, cacheable RAM, so guest and host see memory the same way. */
void mmu_enable(void);

/*
 * Exceptions a case provokes on purpose: the handler records the syndrome
 * (ESR_EL1) and steps over the instruction. Any other exception fails the run.
 */
extern volatile int exception_expected;
extern volatile uint64_t exception_esr;

/* A case: returns NULL when god answered as it should, else why not. */
struct hostile_case {
    const char *name;
    const char *(*run)(void);
};

/*
 * Run a table of cases, one "ok N name" / "not ok N name: why" line each.
 * After every case, `recover` (may be NULL) checks the devices still serve
 * well-formed requests, resetting any that reports DEVICE_NEEDS_RESET.
 */
void run_cases(const struct hostile_case *cases, unsigned count, const char *(*recover)(void));
extern unsigned cases_passed, cases_failed, case_number;

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif

/*
 * guest.c - the hostile guests' runtime: see guest.h.
 */
#include "guest.h"

/* ---- what a compiler may call even in freestanding code ------------------ */

void *memset(void *s, int c, size_t n)
{
    volatile uint8_t *p = s; /* volatile: or gcc turns this loop into a call to memset */
    while (n--)
        *p++ = (uint8_t)c;
    return s;
}

void *memcpy(void *d, const void *s, size_t n)
{
    volatile uint8_t *dp = d;
    const uint8_t *sp = s;
    while (n--)
        *dp++ = *sp++;
    return d;
}

int memcmp(const void *a, const void *b, size_t n)
{
    const uint8_t *x = a, *y = b;
    for (; n; n--, x++, y++)
        if (*x != *y)
            return *x < *y ? -1 : 1;
    return 0;
}

size_t strlen(const char *s)
{
    size_t n = 0;
    while (s[n])
        n++;
    return n;
}

/* ---- the PL011 ------------------------------------------------------------ */

#define UARTDR  0x000
#define UARTFR  0x018
#define FR_TXFF (1u << 5)

void putc_uart(char c)
{
    while (mmio_r32(PL011_BASE + UARTFR) & FR_TXFF)
        ;
    mmio_w32(PL011_BASE + UARTDR, (uint8_t)c);
}

void puts_uart(const char *s)
{
    while (*s)
        putc_uart(*s++);
}

void print_u64(uint64_t v)
{
    char buf[21];
    int i = 20;
    buf[i] = 0;
    do {
        buf[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    puts_uart(&buf[i]);
}

void print_hex(uint64_t v)
{
    char buf[19];
    int i = 18;
    buf[i] = 0;
    do {
        buf[--i] = "0123456789abcdef"[v & 15];
        v >>= 4;
    } while (v);
    buf[--i] = 'x';
    buf[--i] = '0';
    puts_uart(&buf[i]);
}

/* ---- time ----------------------------------------------------------------- */

uint64_t now_us(void)
{
    uint64_t cnt, frq;
    __asm__ volatile("isb; mrs %0, cntvct_el0" : "=r"(cnt));
    __asm__ volatile("mrs %0, cntfrq_el0" : "=r"(frq));
    return cnt / frq * 1000000 + cnt % frq * 1000000 / frq;
}

void delay_us(uint64_t us)
{
    uint64_t end = now_us() + us;
    while (now_us() < end)
        ;
}

/* ---- PSCI ----------------------------------------------------------------- */

int64_t psci_call(uint64_t fn, uint64_t a1, uint64_t a2, uint64_t a3)
{
    register uint64_t x0 __asm__("x0") = fn;
    register uint64_t x1 __asm__("x1") = a1;
    register uint64_t x2 __asm__("x2") = a2;
    register uint64_t x3 __asm__("x3") = a3;
    __asm__ volatile("hvc #0" : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3) : : "memory");
    return (int64_t)x0;
}

/* ---- the device tree (only what we need: /memory's reg, /chosen's bootargs) */

uint64_t ram_start, ram_end;
const char *bootargs = "";

static uint32_t be32(const void *p)
{
    const uint8_t *b = p;
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static uint64_t be64(const void *p)
{
    return (uint64_t)be32(p) << 32 | be32((const uint8_t *)p + 4);
}

static bool starts_with(const char *s, const char *prefix)
{
    while (*prefix)
        if (*s++ != *prefix++)
            return false;
    return true;
}

bool dtb_parse(const void *dtb)
{
    const uint8_t *base = dtb;
    if (be32(base) != 0xd00dfeed)
        return false;
    const uint8_t *p = base + be32(base + 8);
    const char *strings = (const char *)base + be32(base + 12);
    const char *node = "";
    int depth = 0;

    for (;;) {
        uint32_t token = be32(p);
        p += 4;
        if (token == 1) { /* FDT_BEGIN_NODE */
            depth++;
            if (depth == 2)
                node = (const char *)p;
            p += (strlen((const char *)p) + 4) & ~3UL;
        } else if (token == 2) { /* FDT_END_NODE */
            depth--;
        } else if (token == 3) { /* FDT_PROP */
            uint32_t len = be32(p), nameoff = be32(p + 4);
            const uint8_t *val = p + 8;
            const char *name = strings + nameoff;
            if (depth == 2 && starts_with(node, "memory") && starts_with(name, "reg") &&
                len >= 16) {
                ram_start = be64(val);
                ram_end = ram_start + be64(val + 8);
            }
            if (depth == 2 && starts_with(node, "chosen") && starts_with(name, "bootargs") &&
                !name[8])
                bootargs = (const char *)val;
            p = val + ((len + 3) & ~3UL);
        } else if (token == 4) { /* FDT_NOP */
            continue;
        } else {
            break; /* FDT_END */
        }
    }
    return ram_end > ram_start;
}

bool cmdline_has(const char *word)
{
    size_t n = strlen(word);
    for (const char *s = bootargs; *s;) {
        if (starts_with(s, word) && (s[n] == ' ' || s[n] == 0))
            return true;
        while (*s && *s != ' ')
            s++;
        while (*s == ' ')
            s++;
    }
    return false;
}

/* ---- the MMU -------------------------------------------------------------- */

/*
 * With the MMU off every data access is Device or Non-cacheable, while god
 * reads and writes the same RAM through its cacheable mapping: on real
 * hardware the two views would disagree. One level-1 table of 1 GiB blocks
 * fixes that: the first GiB (devices) as Device-nGnRnE, the rest as normal
 * write-back memory, all identity mapped.
 */
static uint64_t l1_table[512] __attribute__((aligned(4096)));

void mmu_enable(void)
{
    const uint64_t af = 1ULL << 10, inner_share = 3ULL << 8, block = 1, never_exec = 3ULL << 53;
    for (uint64_t i = 0; i < 4; i++) {
        uint64_t attr = i == 0 ? (0ULL << 2) | never_exec : (1ULL << 2) | inner_share;
        l1_table[i] = (i << 30) | attr | af | block;
    }
    uint64_t mair = 0x00 | (0xffULL << 8); /* attr0 Device-nGnRnE, attr1 normal WB */
    uint64_t tcr = 32 |                    /* T0SZ: 4 GiB of VA, walks start at level 1 */
                   (1ULL << 8) | (1ULL << 10) | (3ULL << 12) | /* WB, inner shareable walks */
                   (1ULL << 23);                               /* EPD1: no TTBR1 walks */
    uint64_t sctlr;
    __asm__ volatile("msr mair_el1, %0; msr tcr_el1, %1; msr ttbr0_el1, %2; isb;"
                     "tlbi vmalle1; dsb ish; isb"
                     :
                     : "r"(mair), "r"(tcr), "r"((uint64_t)l1_table)
                     : "memory");
    __asm__ volatile("mrs %0, sctlr_el1" : "=r"(sctlr));
    sctlr |= 1 | (1 << 2) | (1 << 12); /* M, C, I */
    __asm__ volatile("msr sctlr_el1, %0; isb" : : "r"(sctlr) : "memory");
}

/* ---- exceptions ----------------------------------------------------------- */

volatile int exception_expected;
volatile uint64_t exception_esr;

void exception_handler(uint64_t kind, uint64_t *frame);
void exception_handler(uint64_t kind, uint64_t *frame)
{
    uint64_t esr, elr, far;
    (void)frame;
    __asm__ volatile("mrs %0, esr_el1; mrs %1, elr_el1; mrs %2, far_el1"
                     : "=r"(esr), "=r"(elr), "=r"(far));
    if (exception_expected && (kind == 4 || kind == 0)) {
        exception_expected = 0;
        exception_esr = esr;
        elr += 4;
        __asm__ volatile("msr elr_el1, %0" : : "r"(elr));
        return;
    }
    puts_uart("\nnot ok ");
    print_u64(case_number);
    puts_uart(" unexpected exception: vector ");
    print_u64(kind);
    puts_uart(" ESR ");
    print_hex(esr);
    puts_uart(" ELR ");
    print_hex(elr);
    puts_uart(" FAR ");
    print_hex(far);
    puts_uart("\nhostile-aborted\n");
    psci_system_off();
}

/* ---- the case runner ------------------------------------------------------ */

unsigned cases_passed, cases_failed, case_number;

void run_cases(const struct hostile_case *cases, unsigned count, const char *(*recover)(void))
{
    for (unsigned i = 0; i < count; i++) {
        case_number++;
        const char *why = cases[i].run();
        /* Always recover, so one failure does not cascade into the next case. */
        const char *after = recover ? recover() : NULL;
        if (!why)
            why = after;
        puts_uart(why ? "not ok " : "ok ");
        print_u64(case_number);
        puts_uart(" ");
        puts_uart(cases[i].name);
        if (why) {
            puts_uart(": ");
            puts_uart(why);
            cases_failed++;
        } else {
            cases_passed++;
        }
        puts_uart("\n");
    }
}

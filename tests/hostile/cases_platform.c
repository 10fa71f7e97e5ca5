/*
 * cases_platform.c - the rest of the machine a guest can poke: PSCI calls
 * done wrong (KVM answers them; god must survive what follows), accesses to
 * addresses where nothing is mapped (god: reads give 0, writes vanish), and
 * the PL011's registers at the wrong places and widths.
 */
#include "cases.h"

#define PSCI_VERSION        0x84000000
#define PSCI_CPU_OFF        0x84000002
#define PSCI_CPU_ON         0xc4000003
#define PSCI_AFFINITY_INFO  0xc4000004
#define PSCI_FEATURES       0x8400000a
#define PSCI_NOT_SUPPORTED  -1
#define PSCI_INVALID_PARAMS -2
#define PSCI_ALREADY_ON     -4
#define PSCI_ON_PENDING     -5

/*
 * The flag a secondary vCPU writes. It runs with its MMU off (non-cacheable
 * accesses), we with ours on: clean and invalidate our cached copy around
 * every access so both look at memory.
 */
static volatile uint64_t cpu_flag __attribute__((aligned(64)));

static void flag_sync(void)
{
    __asm__ volatile("dc civac, %0; dsb sy" : : "r"(&cpu_flag) : "memory");
}

static uint64_t flag_read(void)
{
    flag_sync();
    return cpu_flag;
}

static void flag_write(uint64_t v)
{
    cpu_flag = v;
    flag_sync();
}

extern char secondary_entry[];

/* Runs on vCPU 1 with the MMU off: say hello, wait to be told to go, power off. */
void secondary_main(volatile uint64_t *flag);
void secondary_main(volatile uint64_t *flag)
{
    *flag = 1;
    while (*flag != 2)
        ;
    *flag = 3;
    psci_call(PSCI_CPU_OFF, 0, 0, 0);
}

static bool wait_flag(uint64_t want)
{
    uint64_t end = now_us() + WAIT_LONG;
    while (now_us() < end)
        if (flag_read() == want)
            return true;
    return false;
}

static bool wait_cpu1_off(void)
{
    uint64_t end = now_us() + WAIT_LONG;
    while (now_us() < end)
        if (psci_call(PSCI_AFFINITY_INFO, 1, 0, 0) == 1)
            return true;
    return false;
}

static const char *psci_version(void)
{
    int64_t v = psci_call(PSCI_VERSION, 0, 0, 0);
    CHECK(v >= 0x10000, "PSCI older than 1.0");
    CHECK(psci_call(PSCI_FEATURES, PSCI_CPU_ON, 0, 0) == 0, "PSCI_FEATURES(CPU_ON) is not 0");
    return NULL;
}

static const char *psci_unknown(void)
{
    CHECK(psci_call(0x8400ffff, 0, 0, 0) == PSCI_NOT_SUPPORTED, "unknown function supported");
    CHECK(psci_call(0xc400ffff, 1, 2, 3) == PSCI_NOT_SUPPORTED, "unknown function supported");
    return NULL;
}

static const char *cpu_on_bad_mpidr(void)
{
    CHECK(psci_call(PSCI_CPU_ON, 0xff, (uintptr_t)secondary_entry, 0) == PSCI_INVALID_PARAMS,
          "CPU_ON of a missing CPU not INVALID_PARAMETERS");
    CHECK(psci_call(PSCI_CPU_ON, 0xffffffffffULL, (uintptr_t)secondary_entry, 0) ==
              PSCI_INVALID_PARAMS,
          "CPU_ON of MPIDR 0xffffffffff not INVALID_PARAMETERS");
    CHECK(psci_call(PSCI_AFFINITY_INFO, 0xff, 0, 0) == PSCI_INVALID_PARAMS,
          "AFFINITY_INFO of a missing CPU not INVALID_PARAMETERS");
    return NULL;
}

static const char *cpu_on_self(void)
{
    CHECK(psci_call(PSCI_CPU_ON, 0, (uintptr_t)secondary_entry, 0) == PSCI_ALREADY_ON,
          "CPU_ON of the running CPU is not ALREADY_ON");
    return NULL;
}

static const char *cpu_on_twice(void)
{
    flag_write(0);
    CHECK(psci_call(PSCI_CPU_ON, 1, (uintptr_t)secondary_entry, (uintptr_t)&cpu_flag) == 0,
          "CPU_ON failed");
    int64_t again = psci_call(PSCI_CPU_ON, 1, (uintptr_t)secondary_entry, (uintptr_t)&cpu_flag);
    CHECK(again == PSCI_ALREADY_ON || again == PSCI_ON_PENDING,
          "a second CPU_ON is not ALREADY_ON/ON_PENDING");
    CHECK(wait_flag(1), "vCPU 1 did not run");
    flag_write(2);
    CHECK(wait_flag(3), "vCPU 1 did not finish");
    CHECK(wait_cpu1_off(), "vCPU 1 did not power off");
    return NULL;
}

static const char *cpu_on_after_off(void)
{
    flag_write(0);
    CHECK(psci_call(PSCI_CPU_ON, 1, (uintptr_t)secondary_entry, (uintptr_t)&cpu_flag) == 0,
          "CPU_ON after CPU_OFF failed");
    CHECK(wait_flag(1), "vCPU 1 did not run again");
    flag_write(2);
    CHECK(wait_cpu1_off(), "vCPU 1 did not power off");
    return NULL;
}

static const char *smc_call(void)
{
    /* SMC: KVM may answer it as PSCI or make it undefined; either way god runs on. */
    exception_expected = 1;
    register uint64_t x0 __asm__("x0") = PSCI_VERSION;
    __asm__ volatile("smc #0" : "+r"(x0) : : "x1", "x2", "x3", "memory");
    exception_expected = 0;
    CHECK(psci_call(PSCI_VERSION, 0, 0, 0) >= 0x10000, "PSCI broken after an SMC");
    return NULL;
}

/* ---- nothing mapped --------------------------------------------------------- */

static const char *unmapped(uintptr_t a)
{
    mmio_w32(a, 0xdeadbeef);
    mmio_w8(a, 0xff);
    mmio_w64(a, ~0ULL);
    CHECK(mmio_r32(a) == 0 && mmio_r8(a) == 0 && mmio_r16(a) == 0 && mmio_r64(a) == 0,
          "a read where nothing is mapped returned data");
    return NULL;
}

static const char *unmapped_zero(void)
{
    return unmapped(0);
}
static const char *unmapped_gic_gap(void)
{
    /*
     * Past the GICv2 CPU interface (0x08010000, 8 KiB) and below the GICv3
     * redistributors (0x080A0000): nothing on either GIC. (0x08010000 itself
     * is a gap only on a GICv3 host: on a GICv2 one it is the GICC.)
     */
    return unmapped(0x08020000);
}
static const char *unmapped_after_uart(void)
{
    return unmapped(PL011_BASE + 0x1000);
}
static const char *unmapped_past_virtio(void)
{
    return unmapped(VIRTIO_MMIO_BASE + 32 * VIRTIO_MMIO_SIZE);
}
static const char *unmapped_virtio_window(void)
{
    /* Window 5: no device there (console, two disks). MagicValue 0 tells a driver so. */
    return unmapped(VIRTIO_MMIO_BASE + 5 * VIRTIO_MMIO_SIZE);
}
static const char *unmapped_above_ram(void)
{
    return unmapped(ram_end + 0x100000);
}
static const char *unmapped_high_device(void)
{
    return unmapped(0x3ffff000);
}

/* ---- the PL011 ------------------------------------------------------------- */

static const char *pl011_ids(void)
{
    static const uint8_t want[] = {0x11, 0x10, 0x34, 0x00, 0x0d, 0xf0, 0x05, 0xb1};
    for (unsigned i = 0; i < 8; i++)
        CHECK(mmio_r32(PL011_BASE + 0xfe0 + 4 * i) == want[i], "wrong PrimeCell ID");
    return NULL;
}

static const char *pl011_holes(void)
{
    for (uintptr_t off = 0x100; off < 0xfe0; off += 0x40) {
        CHECK(mmio_r32(PL011_BASE + off) == 0, "a hole in the PL011 read as non-zero");
        mmio_w32(PL011_BASE + off, 0xffffffff);
    }
    mmio_w32(PL011_BASE + 0xfe0, 0xffffffff); /* read-only ID */
    CHECK(mmio_r32(PL011_BASE + 0xfe0) == 0x11, "a write changed an ID register");
    return NULL;
}

static const char *pl011_widths(void)
{
    CHECK(mmio_r64(PL011_BASE + 0x18) == 0, "a 64-bit read of UARTFR returned data");
    mmio_w64(PL011_BASE + 0x30, 0); /* UARTCR off: ignored at this width */
    putc_uart('#');
    putc_uart('\n');
    return NULL; /* that line made it out: the UART still works */
}

const struct hostile_case platform_cases[] = {
    {"PSCI version and features", psci_version},
    {"PSCI unknown functions", psci_unknown},
    {"PSCI CPU_ON of a missing CPU", cpu_on_bad_mpidr},
    {"PSCI CPU_ON of the running CPU", cpu_on_self},
    {"PSCI CPU_ON twice", cpu_on_twice},
    {"PSCI CPU_ON after CPU_OFF", cpu_on_after_off},
    {"SMC instead of HVC", smc_call},
    {"unmapped: address 0", unmapped_zero},
    {"unmapped: between GIC frames", unmapped_gic_gap},
    {"unmapped: after the PL011", unmapped_after_uart},
    {"unmapped: past the virtio windows", unmapped_past_virtio},
    {"unmapped: an empty virtio window", unmapped_virtio_window},
    {"unmapped: just below RAM", unmapped_high_device},
    {"unmapped: above RAM", unmapped_above_ram},
    {"PL011 PrimeCell IDs", pl011_ids},
    {"PL011 holes and read-only registers", pl011_holes},
    {"PL011 64-bit accesses", pl011_widths},
};
const unsigned platform_count = ARRAY_SIZE(platform_cases);

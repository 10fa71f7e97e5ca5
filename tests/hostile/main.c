/*
 * main.c - the hostile guest: a bare-metal arm64 program god boots like a
 * kernel (`god boot --kernel hostile.bin`) that plays a malicious virtio
 * driver and checks god's answers. One line per case on the PL011:
 *
 *   hostile-plan N
 *   ok 1 ids
 *   not ok 2 <case>: <what god did wrong>
 *   ...
 *   hostile-done
 *
 * then PSCI SYSTEM_OFF. check.sh counts the lines. The command line picks a
 * mode: "suite" (everything), "ldp" and "reset" (one thing that ends the
 * run: check.sh checks god's exit status), "off" (power off at once).
 */
#include "cases.h"

void canary_fill(void *p, uint64_t len)
{
    memset(p, 0xa5, len);
}

bool canary_intact(const void *p, uint64_t len)
{
    const volatile uint8_t *b = p;
    for (uint64_t i = 0; i < len; i++)
        if (b[i] != 0xa5)
            return false;
    return true;
}

const char *std_init(struct vdev *d)
{
    return vdev_init(d, STD_FEATURES, STD_QSIZE);
}

static const char *console_alive(void)
{
    if (vr(&con, R_STATUS) != (S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK) ||
        con.qsize != STD_QSIZE) {
        const char *why = std_init(&con);
        if (why)
            return why;
    }
    struct vq *q = &con.q[1];
    uint8_t *buf = vbuf(&con, 7);
    buf[0] = '\n';
    desc_set(q, 0, (uintptr_t)buf, 1, 0, 0);
    vq_post(q, 0);
    vq_kick(&con, 1);
    return vq_wait(&con, 1, WAIT_LONG) == WAIT_USED ? NULL : "the console stopped transmitting";
}

/* After every case: each device serves a well-formed request (after a reset if it asked). */
static const char *recover(void)
{
    struct vdev *disks[] = {&blk, &ro};
    const char *why = console_alive();
    for (unsigned i = 0; i < 2; i++) {
        const char *w = blk_alive(disks[i], case_number % 64);
        if (!w && (disks[i]->features != STD_FEATURES || disks[i]->qsize != STD_QSIZE))
            w = std_init(disks[i]);
        if (!why && w)
            why = w;
    }
    return why;
}

/* The scratch sectors back to what the host wrote, so check.sh can compare whole images. */
static void restore_scratch(void)
{
    uint8_t *buf = vbuf(&blk, 5);
    for (uint64_t i = 0; i < SCRATCH_COUNT * 512ULL; i++)
        buf[i] = pattern_byte(SCRATCH_FIRST * 512ULL + i);
    if (blk_rw(&blk, T_OUT, SCRATCH_FIRST, buf, SCRATCH_COUNT * 512, 0) != BLK_OK)
        puts_uart("hostile: could not restore the scratch sectors\n");
    blk_rw(&blk, T_FLUSH, 0, 0, 0, 0);
}

void hostile_main(const void *dtb);
void hostile_main(const void *dtb)
{
    if (!dtb_parse(dtb)) {
        puts_uart("hostile: no usable device tree in x0\n");
        return;
    }
    mmu_enable();

    if (cmdline_has("ldp")) {
        /*
         * A load pair from MMIO: no syndrome KVM can decode (KVM_EXIT_ARM_NISV).
         * god must name it and give us a synchronous external abort.
         */
        uint64_t a, b;
        puts_uart("hostile: ldp from the virtio window\n");
        exception_expected = 1;
        __asm__ volatile("ldp %0, %1, [%2]" : "=r"(a), "=r"(b) : "r"(VIRTIO_MMIO_BASE));
        if (exception_expected) {
            exception_expected = 0;
            puts_uart("hostile: ldp returned without an exception\n");
        } else {
            puts_uart("hostile: ldp took an exception, ESR ");
            print_hex(exception_esr);
            puts_uart("\n");
        }
        return;
    }
    if (cmdline_has("off"))
        return; /* inputs.sh's well-formed runs: power off at once */
    if (cmdline_has("reset")) {
        puts_uart("hostile: SYSTEM_RESET\n");
        psci_call(0x84000009, 0, 0, 0);
        return;
    }

    struct {
        const struct hostile_case *cases;
        unsigned count;
    } groups[] = {
        {transport_cases, transport_count},
        {queue_cases, queue_count},
        {blk_cases, blk_count},
        {console_cases, console_count},
        {platform_cases, platform_count},
    };
    unsigned total = 0;
    for (unsigned g = 0; g < ARRAY_SIZE(groups); g++)
        total += groups[g].count;
    puts_uart("hostile-plan ");
    print_u64(total);
    puts_uart("\n");

    const char *why = recover(); /* the first initialisation, with its checks */
    if (why) {
        puts_uart("hostile: the devices do not work at all: ");
        puts_uart(why);
        puts_uart("\n");
        return;
    }
    for (unsigned g = 0; g < ARRAY_SIZE(groups); g++)
        run_cases(groups[g].cases, groups[g].count, recover);
    restore_scratch();
    puts_uart("hostile-done\n");
}

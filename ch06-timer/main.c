/*
 * Chapter 6 - god run: the guest counts ticks of its virtual timer.
 *
 * New since chapter 5: time. Every arm64 CPU has a generic timer, and KVM
 * gives each vCPU a virtual one whose interrupt (PPI 27) it delivers through
 * the in-kernel GIC without ever involving us. The machine is chapter 5's;
 * what changes is the experiment. We pass the guest a number of ticks and an
 * interval (x0, x1) and a place for its results (x2); it programs the timer,
 * counts the interrupts, and measures the elapsed time with the virtual
 * counter. We measure the same run with our own clock, print both, and
 * check the guest's measurement against what was programmed.
 *
 * Exit status: 0 the guest powered off and its measurement passed the
 * check; 1 it failed, or the guest stopped any other way; 2 bad usage;
 * 3 --timeout ran out.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gic.h"
#include "file.h"
#include "guest_mem.h"
#include "kvm.h"
#include "memmap.h"
#include "mmio_bus.h"
#include "pl011.h"
#include "run_loop.h"
#include "size.h"
#include "vcpu.h"
#include "vm_control.h"

#define DEFAULT_RAM   (16ULL << 20)
/* Where the guest stores its results (struct timer_report): well past the program. */
#define RESULT_OFFSET 0x100000ULL

#define DEFAULT_TICKS       10
#define DEFAULT_INTERVAL_MS 10
#define MAX_TICKS           1000
/* CNTV_TVAL_EL0 is a signed 32-bit count: 2 s fits even a 1 GHz counter. */
#define MAX_INTERVAL_MS     2000

enum {
    EXIT_OK = 0,
    EXIT_FAIL = 1,
    EXIT_USAGE = 2,
    EXIT_TIMEOUT = 3
};

struct options {
    uint64_t ram_size;
    unsigned timeout;
    bool trace;
    enum gic_version gic;
    unsigned ticks;
    unsigned interval_ms;
    const char *guest;
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: god run [options] GUEST.bin\n"
            "  Load a flat ARM64 program at 0x%llx and run it with a GIC and a PL011 UART,\n"
            "  x0 = ticks, x1 = interval in ms, x2 = 0x%llx for its results; then check\n"
            "  the time it measured for those ticks.\n"
            "options:\n"
            "  -g, --gic VERSION      v2, v3 or auto: v3 if the host offers it, else v2\n"
            "                         (default auto)\n"
            "  -m, --ram SIZE         guest RAM (default 16M)\n"
            "  -n, --ticks N          timer interrupts to take, 1 to %d (default %d)\n"
            "  -i, --interval-ms MS   time between them, 1 to %d (default %d)\n"
            "  -t, --timeout SEC      stop a guest that runs longer (default 10, 0 = never)\n"
            "  -T, --trace            print every exit, decoded, and a summary at the end\n",
            RAM_BASE, RAM_BASE + RESULT_OFFSET, MAX_TICKS, DEFAULT_TICKS, MAX_INTERVAL_MS,
            DEFAULT_INTERVAL_MS);
}

static void die(const char *what, int err)
{
    fprintf(stderr, "god: %s: %s\n", what, strerror(-err));
    exit(EXIT_FAIL);
}

static void parse_options(int argc, char **argv, struct options *opt)
{
    static const struct option longopts[] = {
        {"gic", required_argument, NULL, 'g'},     {"ram", required_argument, NULL, 'm'},
        {"ticks", required_argument, NULL, 'n'},   {"interval-ms", required_argument, NULL, 'i'},
        {"timeout", required_argument, NULL, 't'}, {"trace", no_argument, NULL, 'T'},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0},
    };
    *opt = (struct options){.ram_size = DEFAULT_RAM,
                            .timeout = 10,
                            .ticks = DEFAULT_TICKS,
                            .interval_ms = DEFAULT_INTERVAL_MS};
    char *end;
    int c;

    if (argc < 2 || strcmp(argv[1], "run") != 0) {
        usage(stderr);
        exit(EXIT_USAGE);
    }
    optind = 2;
    while ((c = getopt_long(argc, argv, "g:m:n:i:t:Th", longopts, NULL)) != -1) {
        switch (c) {
        case 'g':
            if (gic_version_parse(optarg, &opt->gic) < 0) {
                fprintf(stderr, "god: --gic %s: need v2, v3 or auto\n", optarg);
                exit(EXIT_USAGE);
            }
            break;
        case 'm':
            if (size_parse(optarg, &opt->ram_size) < 0 || opt->ram_size <= RESULT_OFFSET) {
                fprintf(stderr, "god: --ram %s: need a size above 1M, like 16M\n", optarg);
                exit(EXIT_USAGE);
            }
            break;
        case 'n':
            opt->ticks = (unsigned)strtoul(optarg, &end, 0);
            if (*end || !*optarg || opt->ticks < 1 || opt->ticks > MAX_TICKS) {
                fprintf(stderr, "god: --ticks %s: need 1 to %d\n", optarg, MAX_TICKS);
                exit(EXIT_USAGE);
            }
            break;
        case 'i':
            opt->interval_ms = (unsigned)strtoul(optarg, &end, 0);
            if (*end || !*optarg || opt->interval_ms < 1 || opt->interval_ms > MAX_INTERVAL_MS) {
                fprintf(stderr, "god: --interval-ms %s: need 1 to %d\n", optarg, MAX_INTERVAL_MS);
                exit(EXIT_USAGE);
            }
            break;
        case 't':
            opt->timeout = (unsigned)strtoul(optarg, &end, 0);
            if (*end || !*optarg) {
                fprintf(stderr, "god: --timeout %s: need a number of seconds\n", optarg);
                exit(EXIT_USAGE);
            }
            break;
        case 'T':
            opt->trace = true;
            break;
        case 'h':
            usage(stdout);
            exit(EXIT_OK);
        default:
            usage(stderr);
            exit(EXIT_USAGE);
        }
    }
    if (optind != argc - 1) {
        usage(stderr);
        exit(EXIT_USAGE);
    }
    opt->guest = argv[optind];
}

/* The PL011's transmit line: the guest's bytes appear on our stdout. */
static void uart_tx(void *ctx, const uint8_t *buf, size_t len)
{
    (void)ctx;
    fwrite(buf, 1, len, stdout);
    if (memchr(buf, '\n', len))
        fflush(stdout);
}

/* What the guest stores at x2 (see timer.S): five 64-bit words. */
struct timer_report {
    uint64_t ticks;    /* timer interrupts it took */
    uint64_t freq;     /* CNTFRQ_EL0: counts per second */
    uint64_t start;    /* CNTVCT_EL0 just before arming the timer */
    uint64_t end;      /* CNTVCT_EL0 in the handler of the last tick */
    uint64_t others;   /* IAR values other than INTID 27 (1023: spurious) */
    uint64_t interval; /* counts per interval, as the guest computed it */
};

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/*
 * Print the guest's measurement and check it. Every criterion is a fact that
 * holds however busy the host is:
 *  - exactly N ticks;
 *  - the guest's interval in counts is CNTFRQ x ms / 1000, exactly: a wrong
 *    unit or wrong arithmetic fails here, not in a stopwatch;
 *  - at least N intervals: each tick is armed only after the previous one
 *    fired, with that interval, so a shorter time means the timer fired early;
 *  - no more than our own wall time: the guest's two counter reads happen
 *    while we wait for it, and both clocks count real time.
 * How late the ticks came is printed, not judged: on a loaded host a vCPU
 * thread waits for a CPU, and every delay adds up (README.md, "Testing").
 */
static bool check_report(const struct options *opt, const struct timer_report *r, double wall_ms)
{
    if (r->freq == 0) {
        printf("god: the guest reported no counter frequency: it did not finish\n");
        return false;
    }
    uint64_t interval = r->freq * opt->interval_ms / 1000;
    uint64_t elapsed = r->end - r->start;
    double elapsed_ms = (double)elapsed * 1e3 / (double)r->freq;
    double programmed_ms = (double)opt->ticks * opt->interval_ms;
    double lower_ms = (double)(opt->ticks * interval) * 1e3 / (double)r->freq;

    printf("god: guest: %" PRIu64 " ticks, %" PRIu64 " counts at %" PRIu64
           " Hz = %.3f ms (programmed %u x %u ms = %.0f ms)\n",
           r->ticks, elapsed, r->freq, elapsed_ms, opt->ticks, opt->interval_ms, programmed_ms);
    if (r->others)
        printf("god: guest: it also read %" PRIu64 " other IAR values\n", r->others);
    if (r->ticks != opt->ticks) {
        printf("god: check: %" PRIu64 " ticks, want %u: FAILED\n", r->ticks, opt->ticks);
        return false;
    }
    if (r->interval != interval) {
        printf("god: check: the guest armed %" PRIu64 " counts per tick, want %" PRIu64 " (%" PRIu64
               " Hz x %u ms): FAILED\n",
               r->interval, interval, r->freq, opt->interval_ms);
        return false;
    }
    printf("god: guest: the ticks came %.3f ms late on average (the host's load decides this: "
           "not judged)\n",
           (elapsed_ms - lower_ms) / opt->ticks);
    bool ok = elapsed >= opt->ticks * interval && elapsed_ms <= wall_ms;
    printf("god: check: %" PRIu64 " counts per tick, and %.3f <= %.3f <= %.3f ms wall time: %s\n",
           interval, lower_ms, elapsed_ms, wall_ms, ok ? "ok" : "FAILED");
    return ok;
}

int main(int argc, char **argv)
{
    struct options opt;
    parse_options(argc, argv, &opt);
    /* With --trace, exit lines (stderr) and guest output (stdout) interleave: keep stdout
     * unbuffered. */
    if (opt.trace)
        setvbuf(stdout, NULL, _IONBF, 0);

    /* 1. A VM with RAM and the guest program in it (chapters 2 and 3). */
    int kvm = kvm_open();
    if (kvm < 0)
        die("cannot open /dev/kvm", kvm);
    int vm = kvm_create_vm(kvm, 0);
    if (vm < 0)
        die("KVM_CREATE_VM", vm);
    struct guest_mem mem;
    int ret = guest_mem_alloc(&mem, RAM_BASE, opt.ram_size);
    if (ret < 0)
        die("allocating guest RAM", ret);
    if ((ret = kvm_set_memory(vm, 0, &mem)) < 0)
        die("KVM_SET_USER_MEMORY_REGION", ret);
    /* Device accesses KVM cannot decode come to the run loop (chapter 4). */
    if ((ret = kvm_enable_cap(vm, KVM_CAP_ARM_NISV_TO_USER)) < 0)
        die("KVM_ENABLE_CAP(ARM_NISV_TO_USER)", ret);
    uint64_t len;
    if ((ret = guest_mem_load_file(&mem, RAM_BASE, opt.guest, &len)) < 0 || len > RESULT_OFFSET) {
        fprintf(stderr, "god: loading %s: %s\n", opt.guest,
                ret == 0 || ret == -EFBIG ? "too big for this guest's layout" : file_strerror(ret));
        return EXIT_FAIL;
    }

    /*
     * 2. The interrupt controller, as in chapter 5: v3 or v2 (--gic). KVM
     * requires this order:
     *      gic_setup()     after the VM exists         (here)
     *      vcpu_create()   every vCPU                  (step 4)
     *      gic_finalize()  before the first KVM_RUN    (step 5)
     */
    struct gic gic;
    char gic_why[160];
    if ((ret = gic_setup(&gic, vm, opt.gic, 1, gic_why, sizeof(gic_why))) < 0 && gic_why[0]) {
        fprintf(stderr, "god: %s\n", gic_why);
        return EXIT_FAIL;
    }
    if (ret < 0)
        die("creating the in-kernel GIC", ret);
    fprintf(stderr, "god: in-kernel %s\n", gic_version_name(gic.version));

    /*
     * 3. The devices: the PL011, its interrupt on SPI 1 (this guest does not use it). The
     * timer needs nothing from us: it is part of every vCPU, and KVM wires its PPI.
     */
    struct mmio_bus bus = {0};
    struct pl011 uart;
    struct pl011_output uart_out = {.tx = uart_tx};
    struct irq_line uart_irq = {.set_level = gic_irq_line_set, .ctx = &gic, .spi = PL011_SPI};
    if ((ret = pl011_init(&uart, &uart_out, &uart_irq)) < 0)
        die("PL011", ret);
    struct mmio_region uart_region = pl011_region(&uart);
    if ((ret = mmio_bus_add(&bus, &uart_region)) < 0)
        die("placing the PL011 on the MMIO bus", ret);

    /* 4. One vCPU, starting at the program's first instruction with its arguments (chapter 3). */
    struct vcpu vcpu;
    if ((ret = vcpu_create(&vcpu, kvm, vm, 0)) < 0)
        die("KVM_CREATE_VCPU", ret);
    if ((ret = vcpu_init(&vcpu, vm, 0)) < 0)
        die("KVM_ARM_VCPU_INIT", ret);
    uint64_t result_gpa = RAM_BASE + RESULT_OFFSET;
    if ((ret = vcpu_set_entry(&vcpu, RAM_BASE, VCPU_PSTATE_EL1H_MASKED)) < 0 ||
        (ret = vcpu_set_reg(&vcpu, VCPU_XREG(0), opt.ticks)) < 0 ||
        (ret = vcpu_set_reg(&vcpu, VCPU_XREG(1), opt.interval_ms)) < 0 ||
        (ret = vcpu_set_reg(&vcpu, VCPU_XREG(2), result_gpa)) < 0)
        die("KVM_SET_ONE_REG", ret);

    /* 5. New: every vCPU exists, none has run: the GIC can be finalised. */
    if ((ret = gic_finalize(&gic)) < 0)
        die("finalising the GIC (KVM_DEV_ARM_VGIC_CTRL_INIT)", ret);

    /* 6. Run it, and time the run with our own clock: from start to power-off. */
    struct vm_control control;
    if ((ret = vm_control_init(&control)) < 0 || (ret = vm_control_add_vcpu(&control, &vcpu)) < 0)
        die("setting up the vCPU thread", ret);
    struct run_loop loop = {.vcpu = &vcpu, .bus = &bus, .vm = &control, .mem = &mem};
    if (opt.trace)
        loop.trace = stderr;
    double started_ms = now_ms();
    if ((ret = vm_control_start(&control, 0, run_loop_thread, &loop)) < 0)
        die("starting the vCPU thread", ret);
    enum vm_stop_reason why = vm_wait(&control, opt.timeout);
    pl011_flush(&uart); /* the guest's last bytes may still be in the FIFO */
    double wall_ms = now_ms() - started_ms;

    fflush(stdout);
    fprintf(stderr, "god: stopped: %s\n", vm_stop_reason_name(why));
    if (opt.trace)
        run_loop_print_summary(&loop, 1, stderr);
    if (why == VM_STOP_TIMEOUT)
        vcpu_dump_regs(&vcpu, stderr);

    /* 7. New: what each side measured. The guest's numbers are in its RAM, where it put them. */
    bool passed = false;
    if (why == VM_STOP_POWEROFF) {
        struct timer_report report = {0};
        if ((ret = guest_mem_read(&mem, result_gpa, &report, sizeof(report))) < 0)
            die("reading the guest's results", ret);
        unsigned long exits = 0;
        for (unsigned kind = 0; kind < RUN_LOOP_EXIT_KINDS; kind++)
            exits += loop.exits[kind];
        printf("god: VMM: %.3f ms wall time, %lu exits to us (MMIO %lu, SYSTEM_EVENT %lu)\n",
               wall_ms, exits, loop.exits[KVM_EXIT_MMIO], loop.exits[KVM_EXIT_SYSTEM_EVENT]);
        passed = check_report(&opt, &report, wall_ms);
    }

    vcpu_destroy(&vcpu);
    pl011_destroy(&uart);
    close(gic.fd);
    guest_mem_free(&mem);
    close(vm);
    close(kvm);
    if (why == VM_STOP_TIMEOUT)
        return EXIT_TIMEOUT;
    return passed ? EXIT_OK : EXIT_FAIL;
}

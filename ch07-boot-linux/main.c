/*
 * Chapter 7 - god boot: a real Linux kernel, to a shell you can type into.
 *
 * Everything the earlier chapters built comes together, plus what a kernel
 * needs that a 20-line guest did not:
 *
 *   - the kernel Image placed where the arm64 boot protocol says
 *     (common/arm64_image.c), an initrd next to it
 *   - a device tree describing the machine (common/devicetree.c): RAM,
 *     CPUs, PSCI, the GIC, the timer, the UART, the command line
 *   - boot registers: x0 = the DTB's address, MMU off, EL1h, DAIF masked
 *   - several vCPUs, one thread each; the secondaries start powered off and
 *     the kernel wakes them with PSCI CPU_ON (which KVM handles)
 *   - an interactive console (common/console.c): raw terminal, keystrokes
 *     into the PL011's receive FIFO and its interrupt, Ctrl-A x to quit
 *
 * Exit status: 0 the guest powered off; 1 an error or a vCPU failure;
 * 2 bad usage; 3 --timeout ran out; 4 the guest asked for a reset (we do
 * not reboot: run again); 5 you quit with Ctrl-A x; 128+N signal N.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arm64_image.h"
#include "coalesced_mmio.h"
#include "console.h"
#include "devicetree.h"
#include "fdt_helpers.h"
#include "file.h"
#include "gic.h"
#include "guest_mem.h"
#include "kvm.h"
#include "memmap.h"
#include "mmio_bus.h"
#include "pl011.h"
#include "run_loop.h"
#include "size.h"
#include "stop_signals.h"
#include "timeline.h"
#include "vcpu.h"
#include "vm_control.h"
#include "vm_stats.h"

#define DEFAULT_CMDLINE "console=ttyAMA0 earlycon=pl011,0x09000000"

enum {
    EXIT_OK = 0,
    EXIT_FAIL = 1,
    EXIT_USAGE = 2,
    EXIT_TIMEOUT = 3,
    EXIT_RESET = 4,
    EXIT_QUIT = 5
};

struct options {
    const char *kernel, *initrd, *cmdline, *dump_dtb;
    uint64_t ram_size;
    unsigned cpus, timeout;
    bool trace, stats, timeline, no_coalesce;
    enum gic_version gic;
};

/* Long-only options: values no short option can have. */
enum {
    OPT_STATS = 0x100,
    OPT_TIMELINE,
    OPT_NO_COALESCE
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: god boot -k KERNEL [options]\n"
            "  Boot an arm64 Linux kernel with a PL011 console on this terminal.\n"
            "options:\n"
            "  -k, --kernel FILE     the kernel: an arm64 Image (gzip'd is fine)\n"
            "  -i, --initrd FILE     an initramfs to pass to it\n"
            "  -p, --cmdline TEXT    the kernel command line (default \"%s\")\n"
            "  -m, --ram SIZE        guest RAM (default 256M)\n"
            "  -c, --cpus N          vCPUs (default 1; at most %u with a GICv2)\n"
            "  -g, --gic VERSION     v2, v3 or auto: v3 if the host offers it, else v2\n"
            "                        (default auto)\n"
            "      --dump-dtb FILE   also write the generated device tree to FILE\n"
            "  -t, --timeout SEC     stop the guest after SEC seconds (default 0 = never)\n"
            "  -T, --trace           print every exit, decoded, and a summary at the end\n"
            "      --stats           count exits, console bytes and interrupts; print them\n"
            "                        at the end, and whenever god gets SIGUSR2\n"
            "      --timeline        print when the boot reached each step, with its exits\n"
            "      --no-coalesce     every write to the PL011's UARTDR exits to god, as in\n"
            "                        chapters 4 to 6 (default: KVM queues them)\n"
            "console: Ctrl-A x quits, Ctrl-A h helps, Ctrl-A Ctrl-A sends Ctrl-A\n",
            DEFAULT_CMDLINE, GIC_V2_MAX_VCPUS);
}

static void die(const char *what, int err)
{
    console_restore_terminal();
    fprintf(stderr, "god: %s: %s\n", what, strerror(-err));
    exit(EXIT_FAIL);
}

static unsigned parse_number(const char *opt, const char *text, unsigned max)
{
    char *end;
    unsigned long v = strtoul(text, &end, 10);
    if (!*text || *end || v > max) {
        fprintf(stderr, "god: %s %s: need a number up to %u\n", opt, text, max);
        exit(EXIT_USAGE);
    }
    return (unsigned)v;
}

static void parse_options(int argc, char **argv, struct options *opt)
{
    static const struct option longopts[] = {
        {"kernel", required_argument, NULL, 'k'},
        {"initrd", required_argument, NULL, 'i'},
        {"cmdline", required_argument, NULL, 'p'},
        {"ram", required_argument, NULL, 'm'},
        {"cpus", required_argument, NULL, 'c'},
        {"dump-dtb", required_argument, NULL, 'D'},
        {"gic", required_argument, NULL, 'g'},
        {"timeout", required_argument, NULL, 't'},
        {"trace", no_argument, NULL, 'T'},
        {"stats", no_argument, NULL, OPT_STATS},
        {"timeline", no_argument, NULL, OPT_TIMELINE},
        {"no-coalesce", no_argument, NULL, OPT_NO_COALESCE},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    *opt = (struct options){.cmdline = DEFAULT_CMDLINE, .ram_size = RAM_DEFAULT_SIZE, .cpus = 1};
    int c;

    if (argc < 2 || strcmp(argv[1], "boot") != 0) {
        usage(stderr);
        exit(EXIT_USAGE);
    }
    optind = 2;
    while ((c = getopt_long(argc, argv, "k:i:p:m:c:g:t:Th", longopts, NULL)) != -1) {
        switch (c) {
        case 'k':
            opt->kernel = optarg;
            break;
        case 'i':
            opt->initrd = optarg;
            break;
        case 'p':
            opt->cmdline = optarg;
            break;
        case 'D':
            opt->dump_dtb = optarg;
            break;
        case 'T':
            opt->trace = true;
            break;
        case OPT_STATS:
            opt->stats = true;
            break;
        case OPT_TIMELINE:
            opt->timeline = true;
            break;
        case OPT_NO_COALESCE:
            opt->no_coalesce = true;
            break;
        case 'c':
            opt->cpus = parse_number("--cpus", optarg, VM_MAX_VCPUS);
            break;
        case 'g':
            if (gic_version_parse(optarg, &opt->gic) < 0) {
                fprintf(stderr, "god: --gic %s: need v2, v3 or auto\n", optarg);
                exit(EXIT_USAGE);
            }
            break;
        case 't':
            opt->timeout = parse_number("--timeout", optarg, 1u << 30);
            break;
        case 'm':
            if (size_parse(optarg, &opt->ram_size) < 0 || opt->ram_size < (16ULL << 20) ||
                opt->ram_size % (2ULL << 20)) {
                fprintf(stderr, "god: --ram %s: need a multiple of 2M, at least 16M\n", optarg);
                exit(EXIT_USAGE);
            }
            break;
        case 'h':
            usage(stdout);
            exit(EXIT_OK);
        default:
            usage(stderr);
            exit(EXIT_USAGE);
        }
    }
    if (optind != argc || !opt->kernel) {
        usage(stderr);
        exit(EXIT_USAGE);
    }
    if (opt->cpus == 0) {
        fprintf(stderr, "god: --cpus must be at least 1\n");
        exit(EXIT_USAGE);
    }
    /* The kernel would cut it off without a word (devicetree.h): refuse it. */
    if (strlen(opt->cmdline) > DEVICETREE_BOOTARGS_MAX) {
        fprintf(stderr, "god: --cmdline: %zu bytes, but the kernel keeps only the first %d\n",
                strlen(opt->cmdline), DEVICETREE_BOOTARGS_MAX);
        exit(EXIT_USAGE);
    }
}

/*
 * --stats and --timeline: the run loops count exits; we count console bytes
 * (vm_stats counts interrupts), and watch the console for the timeline's
 * markers. Set up in main() before any vCPU runs.
 */
static struct vm_stats stats;
static unsigned long *uart_bytes;
static struct timeline *timeline; /* NULL without --timeline */

/* The PL011 transmit line and receive side, wired to the console. */
static void uart_tx(void *ctx, const uint8_t *buf, size_t len)
{
    (void)ctx;
    vm_stats_add(uart_bytes, len);
    if (timeline)
        timeline_console(timeline, buf, len);
    console_write(buf, len);
}

static size_t uart_receive(void *uart, const uint8_t *buf, size_t len)
{
    return pl011_receive(uart, buf, len);
}

static void quit_from_console(void *vm)
{
    vm_stop(vm, VM_STOP_USER);
}

/* Load the kernel Image at the place the boot protocol asks for. */
static void load_kernel(struct guest_mem *mem, const char *path, struct arm64_boot_layout *layout)
{
    int ret = arm64_image_load_file(mem, path, NULL, layout);
    if (ret < 0) {
        fprintf(stderr, "god: kernel %s: %s\n", path, arm64_image_strerror(ret));
        exit(EXIT_FAIL);
    }
}

/* The initrd goes high in RAM, below where the DTB will be. */
static void load_initrd(struct guest_mem *mem, const char *path, struct arm64_boot_layout *layout)
{
    uint64_t size, len;
    int ret = file_size(path, &size);
    if (ret == 0 && size == 0)
        ret = -EINVAL;
    if (ret == 0)
        ret = arm64_layout_initrd(layout, size);
    if (ret == 0)
        ret = guest_mem_load_file(mem, layout->initrd_start, path, &len);
    if (ret < 0) {
        fprintf(stderr, "god: initrd %s: %s\n", path,
                ret == -E2BIG || ret == -EFBIG ? "does not fit in guest RAM next to the kernel"
                : ret == -EINVAL || ret == -EISDIR || ret == -ENODEV
                    ? "not a non-empty regular file"
                    : strerror(-ret));
        exit(EXIT_FAIL);
    }
    layout->initrd_end = layout->initrd_start + len;
}

/* Describe the machine to the kernel, and put the description at the top of RAM. */
static void load_device_tree(struct guest_mem *mem, const struct options *opt,
                             const uint64_t *mpidrs, enum gic_version gic,
                             struct arm64_boot_layout *layout)
{
    const struct devicetree_device devices[] = {devicetree_pl011()};
    uint8_t seed[DEVICETREE_RNG_SEED_SIZE];
    const struct devicetree_config cfg = {
        .ram_base = mem->gpa_base,
        .ram_size = mem->size,
        .ncpus = opt->cpus,
        .mpidrs = mpidrs,
        .gic_version = gic == GIC_V2 ? 2 : 3,
        .bootargs = opt->cmdline,
        .rng_seed = seed,
        .rng_seed_len = devicetree_rng_seed(seed), /* the kernel's first entropy */
        .initrd_start = layout->initrd_start,
        .initrd_end = layout->initrd_end,
        .devices = devices,
        .ndevices = sizeof(devices) / sizeof(devices[0]),
    };
    void *dtb;
    size_t size;
    int ret = devicetree_build(&cfg, &dtb, &size);
    if (ret < 0) {
        fprintf(stderr, "god: building the device tree: %s%s%s\n", strerror(-ret),
                *fdt_helpers_last_error() ? ": " : "", fdt_helpers_last_error());
        exit(EXIT_FAIL);
    }
    if ((ret = arm64_layout_dtb(layout, size)) < 0 ||
        (ret = guest_mem_write(mem, layout->dtb_start, dtb, size)) < 0)
        die("placing the device tree", ret);
    if (opt->dump_dtb && (ret = devicetree_write_file(dtb, size, opt->dump_dtb)) < 0) {
        fprintf(stderr, "god: --dump-dtb %s: %s\n", opt->dump_dtb, strerror(-ret));
        exit(EXIT_FAIL);
    }
    free(dtb);
}

/*
 * A VM whose address space holds RAM_BASE + ram_size (chapter 2), or a
 * message that names the limit: KVM's (KVM_CAP_ARM_VM_IPA_SIZE), or the
 * host's RAM. Either beats "KVM_SET_USER_MEMORY_REGION: Bad address", or the
 * OOM killer halfway through boot.
 */
static int create_vm(int kvm, uint64_t ram_size)
{
    unsigned max_bits;
    uint64_t end = ram_size > UINT64_MAX - RAM_BASE ? UINT64_MAX : RAM_BASE + ram_size;
    int vm = kvm_create_vm_for_ram(kvm, end, &max_bits);
    if (vm == -E2BIG) {
        fprintf(stderr,
                "god: --ram %" PRIu64 " MiB: guest RAM would end at 0x%" PRIx64 ", beyond the "
                "%u-bit guest physical address space this host's KVM "
                "supports (KVM_CAP_ARM_VM_IPA_SIZE)\n",
                ram_size >> 20, end, max_bits);
        exit(EXIT_FAIL);
    }
    if (vm < 0)
        die("KVM_CREATE_VM", vm);
    uint64_t host = guest_mem_host_ram();
    if (host && ram_size > host) {
        fprintf(stderr,
                "god: --ram %" PRIu64 " MiB is more than this host's %" PRIu64 " MiB of RAM\n",
                ram_size >> 20, host >> 20);
        exit(EXIT_FAIL);
    }
    return vm;
}

int main(int argc, char **argv)
{
    struct options opt;
    parse_options(argc, argv, &opt);
    static struct run_loop loops[VM_MAX_VCPUS];
    stats.loops = (struct run_loop_set){.loops = loops, .count = opt.cpus};
    uart_bytes = vm_stats_counter(&stats, "console bytes out", "PL011");
    struct mmio_bus bus = {0};
    static struct timeline tl;
    if (opt.timeline) {
        int err = timeline_init(&tl, &bus, run_loop_count, &stats.loops);
        if (err < 0)
            die("--timeline", err);
        timeline = &tl;
    }

    /* 1. A VM with RAM (chapter 2) and the guest program in it: the kernel and its initrd. */
    int kvm = kvm_open();
    if (kvm < 0)
        die("cannot open /dev/kvm", kvm);
    int vm = create_vm(kvm, opt.ram_size);
    struct guest_mem mem;
    int ret = guest_mem_alloc(&mem, RAM_BASE, opt.ram_size);
    if (ret < 0)
        die("allocating guest RAM", ret);
    if ((ret = kvm_set_memory(vm, 0, &mem)) < 0)
        die("KVM_SET_USER_MEMORY_REGION", ret);
    /* Device accesses KVM cannot decode come to the run loop (chapter 4). */
    if ((ret = kvm_enable_cap(vm, KVM_CAP_ARM_NISV_TO_USER)) < 0)
        die("KVM_ENABLE_CAP(ARM_NISV_TO_USER)", ret);
    struct arm64_boot_layout layout;
    load_kernel(&mem, opt.kernel, &layout);
    if (opt.initrd)
        load_initrd(&mem, opt.initrd, &layout);

    /*
     * 2. The interrupt controller (chapter 5), v3 or v2 (--gic): created now,
     * finalised in step 5; the device tree will describe the one we got.
     */
    struct gic gic;
    char gic_why[160];
    if ((ret = gic_setup(&gic, vm, opt.gic, opt.cpus, gic_why, sizeof(gic_why))) < 0 &&
        gic_why[0]) {
        fprintf(stderr, "god: %s\n", gic_why);
        return EXIT_FAIL;
    }
    if (ret < 0)
        die("creating the vGIC", ret);

    /* 3. The devices (chapter 4): the PL011, its interrupt wired to the GIC. */
    struct pl011 uart;
    struct pl011_output uart_out = {.tx = uart_tx};
    struct irq_line uart_irq = {.set_level = gic_irq_line_set, .ctx = &gic, .spi = PL011_SPI};
    uart_irq = vm_stats_irq_line(&stats, "PL011", uart_irq);
    if ((ret = pl011_init(&uart, &uart_out, &uart_irq)) < 0)
        die("PL011", ret);
    struct mmio_region uart_region = pl011_region(&uart);
    if ((ret = mmio_bus_add(&bus, &uart_region)) < 0)
        die("placing the PL011 on the MMIO bus", ret);

    /*
     * 4. The vCPUs. Only vCPU 0 runs at first; the others start powered off
     * until the kernel brings them up with PSCI CPU_ON. Each has an MPIDR
     * (its affinity, its "CPU number") that the device tree must repeat.
     */
    static struct vcpu vcpus[VM_MAX_VCPUS];
    uint64_t mpidrs[VM_MAX_VCPUS];
    for (unsigned i = 0; i < opt.cpus; i++) {
        if ((ret = vcpu_create(&vcpus[i], kvm, vm, i)) < 0)
            die("KVM_CREATE_VCPU", ret);
        if ((ret = vcpu_init(&vcpus[i], vm, i ? 1u << KVM_ARM_VCPU_POWER_OFF : 0)) < 0)
            die("KVM_ARM_VCPU_INIT", ret);
        if ((ret = vcpu_get_reg(&vcpus[i], ARM64_SYS_REG(3, 0, 0, 0, 5), &mpidrs[i])) < 0)
            die("reading MPIDR_EL1", ret);
        mpidrs[i] &= 0xff00ffffffULL; /* the affinity fields only */
    }
    /*
     * The PL011's transmit register, coalesced: KVM queues the guest's writes
     * to UARTDR in a ring instead of exiting for each, and the run loops
     * apply them before handling the next exit. The FIFO model makes that
     * invisible to the guest (pl011.c, "The transmitter"): a byte it wrote
     * changes nothing it can see before its next UART access, and that one
     * exits. Where KVM cannot coalesce, every write exits, as before.
     */
    static struct coalesced_mmio coalesced;
    if ((ret = coalesced_mmio_init(&coalesced, vm, &vcpus[0], &bus, PL011_BASE + PL011_DR,
                                   opt.no_coalesce ? 0 : 4)) < 0)
        die("KVM_REGISTER_COALESCED_MMIO", ret);
    if (ret > 0)
        vm_stats_watch(&stats, "MMIO writes coalesced", "PL011",
                       coalesced_mmio_counter(&coalesced, mmio_bus_find(&bus, PL011_BASE)));
    coalesced.trace = opt.trace ? stderr : NULL;
    /* The device tree comes last: it names where everything else is, CPUs included. */
    load_device_tree(&mem, &opt, mpidrs, gic.version, &layout);
    /* vCPU 0's boot protocol state: x0 = DTB, x1..x3 = 0, MMU off, EL1h, DAIF masked. */
    if ((ret = vcpu_set_entry(&vcpus[0], layout.kernel_start, VCPU_PSTATE_EL1H_MASKED)) < 0 ||
        (ret = vcpu_set_reg(&vcpus[0], VCPU_XREG(0), layout.dtb_start)) < 0)
        die("setting the boot registers", ret);

    /* 5. Every vCPU exists, none has run: the GIC can be finalised. */
    if ((ret = gic_finalize(&gic)) < 0)
        die("initialising the vGIC", ret);
    if (timeline)
        timeline_mark(timeline, TIMELINE_READY);

    /* 6. Go. Signals stop the VM cleanly; the console makes this terminal the guest's. */
    static struct vm_control control; /* static: the signal thread outlives main() */
    /* Every thread below gets a 512 KiB stack, not 8 MiB: see vm_control.h. */
    if ((ret = vm_control_small_stacks()) < 0)
        die("setting the threads' stack size", ret);
    if ((ret = vm_control_init(&control)) < 0)
        die("setting up vCPU threads", ret);
    if (opt.stats)
        stop_signals_on_usr2(vm_stats_print, &stats);
    if ((ret = stop_signals_start(&control)) < 0)
        die("setting up signal handling", ret);
    struct console console;
    struct console_sink sink = {.receive = uart_receive, .ctx = &uart};
    if ((ret = console_init(&console, STDIN_FILENO, &sink, quit_from_console, &control)) < 0)
        die("setting up the console", ret);
    /* Input the guest has not read yet waits in the console; the UART says when it has room. */
    pl011_set_rx_room_notify(&uart, console_input_room, &console);

    /* One thread per vCPU, the console's input thread, and we wait. */
    /* Which GIC the device tree describes (the guest's GIC driver must match). */
    fprintf(stderr, "god: in-kernel %s\r\n", gic_version_name(gic.version));
    for (unsigned i = 0; i < opt.cpus; i++) {
        loops[i] = (struct run_loop){
            .vcpu = &vcpus[i],
            .bus = &bus,
            .vm = &control,
            .mem = &mem,
            .timeline = timeline,
            .flush_writes = coalesced_mmio_flush,
            .flush_ctx = &coalesced,
        };
        if (opt.trace)
            loops[i].trace = stderr;
        if ((ret = vm_control_add_vcpu(&control, &vcpus[i])) < 0)
            die("registering a vCPU", ret);
    }
    /* All registered before any starts: a stop from now on finds every vCPU. */
    for (unsigned i = 0; i < opt.cpus; i++)
        if ((ret = vm_control_start(&control, i, run_loop_thread, &loops[i])) < 0)
            die("starting a vCPU thread", ret);
    if ((ret = console_start(&console)) < 0)
        die("starting the console", ret);
    enum vm_stop_reason why = vm_wait(&control, opt.timeout);
    coalesced_mmio_flush(&coalesced); /* the guest's last bytes may still be in KVM's ring, */
    pl011_flush(&uart);               /* or in the FIFO */
    console_stop(&console);
    if (timeline)
        timeline_mark(timeline, TIMELINE_STOP);

    fprintf(stderr, "\r\ngod: stopped: %s\r\n", vm_stop_reason_name(why));
    if (opt.stats)
        vm_stats_print(&stats);
    else if (opt.trace)
        run_loop_print_summary(loops, opt.cpus, stderr);
    if (timeline)
        timeline_print(timeline, stderr);

    for (unsigned i = 0; i < opt.cpus; i++)
        vcpu_destroy(&vcpus[i]);
    coalesced_mmio_destroy(&coalesced);
    pl011_destroy(&uart);
    guest_mem_free(&mem);
    close(vm);
    close(kvm);

    /* 7. Why the VM stopped is the exit status. */
    switch (why) {
    case VM_STOP_POWEROFF:
        return EXIT_OK;
    case VM_STOP_TIMEOUT:
        return EXIT_TIMEOUT;
    case VM_STOP_RESET:
        return EXIT_RESET;
    case VM_STOP_USER:
        return EXIT_QUIT;
    case VM_STOP_SIGNAL:
        return 128 + stop_signals_received();
    default:
        return EXIT_FAIL;
    }
}

/*
 * Chapter 8 - god boot, with virtio: a paravirtual console and disks.
 *
 * Chapter 7's machine emulated real hardware, a PL011, one register access
 * (one exit) per byte. Virtio devices are designed for virtual machines:
 * the guest puts whole buffers in shared memory (virtqueues) and rings a
 * doorbell once. New since chapter 7:
 *
 *   - virtio-mmio transport windows at 0x0a000000 (common/virtio_mmio.c),
 *     one per device, each with its node in the device tree
 *   - split virtqueues, every guest-supplied value checked (common/virtqueue.c)
 *   - a virtio console, the guest's hvc0 (common/virtio_console.c); the
 *     PL011 stays for early boot messages (earlycon)
 *   - virtio-blk disks backed by files, --disk FILE[,ro] (common/virtio_blk.c)
 *   - each device's doorbell is an ioeventfd and its work runs on a thread
 *     of its own, so the vCPU never waits for the disk (common/virtio_worker.c)
 *   - a network card, --net user (passt) or --net tap (common/virtio_net.c,
 *     common/net_backend.c): Ethernet frames through an fd
 *   - --sandbox: a seccomp filter, the last line of defence (common/sandbox.c)
 *   - typed input goes to the console the guest reads: hvc0 or the PL011
 *     (ttyAMA0), as the command line's console= says, or --console
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
#include "disk_image.h"
#include "fdt_helpers.h"
#include "file.h"
#include "gic.h"
#include "irqfd.h"
#include "guest_mem.h"
#include "kvm.h"
#include "memmap.h"
#include "mmio_bus.h"
#include "pl011.h"
#include "run_loop.h"
#include "sandbox.h"
#include "size.h"
#include "stop_signals.h"
#include "timeline.h"
#include "vcpu.h"
#include "virtio_blk.h"
#include "virtio_console.h"
#include "virtio_net.h"
#include "virtio_worker.h"
#include "vm_control.h"
#include "vm_stats.h"

#include <fcntl.h>
#include <net/if.h>
#include <pthread.h>

#define DEFAULT_CMDLINE "console=hvc0 earlycon=pl011,0x09000000"
#define MAX_DISKS       8
#define MAX_HOSTFWDS    8

enum {
    EXIT_OK = 0,
    EXIT_FAIL = 1,
    EXIT_USAGE = 2,
    EXIT_TIMEOUT = 3,
    EXIT_RESET = 4,
    EXIT_QUIT = 5
};

struct disk {
    struct disk_spec spec; /* the file name and ,ro */
    struct disk_image image;
    struct virtio_blk blk;
};

/* Which device the terminal's input goes to. */
enum input_console {
    INPUT_FROM_CMDLINE,
    INPUT_PL011,
    INPUT_VIRTIO
};

/* --net user[,...] or --net tap[=NAME][,...] */
struct net_options {
    enum {
        NET_NONE,
        NET_USER,
        NET_TAP
    } mode;
    const char *tap_name;
    uint8_t mac[6];
    /* passt's port forwarding options: "-t" "8080:80" pairs, NULL-terminated */
    const char *passt_args[2 * MAX_HOSTFWDS + 1];
    unsigned nr_passt_args;
};

struct options {
    const char *kernel, *initrd, *cmdline, *dump_dtb;
    enum input_console console;
    struct disk disks[MAX_DISKS];
    unsigned nr_disks;
    struct net_options net;
    uint64_t ram_size;
    unsigned cpus, timeout;
    bool trace, sandbox, stats, timeline, irq_line, no_coalesce;
    enum gic_version gic;
};

/* Long-only options: values no short option can have. */
enum {
    OPT_STATS = 0x100,
    OPT_TIMELINE,
    OPT_IRQ_LINE,
    OPT_NO_COALESCE
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: god boot -k KERNEL [options]\n"
            "  Boot an arm64 Linux kernel with a virtio console on this terminal.\n"
            "options:\n"
            "  -k, --kernel FILE     the kernel: an arm64 Image (gzip'd is fine)\n"
            "  -i, --initrd FILE     an initramfs to pass to it\n"
            "  -p, --cmdline TEXT    the kernel command line (default \"%s\")\n"
            "  -m, --ram SIZE        guest RAM (default 256M)\n"
            "  -c, --cpus N          vCPUs (default 1; at most %u with a GICv2)\n"
            "  -g, --gic VERSION     v2, v3 or auto: v3 if the host offers it, else v2\n"
            "                        (default auto)\n"
            "  -d, --disk FILE[,ro]  a virtio-blk disk backed by FILE (repeatable, up to 8;\n"
            "                        a comma in FILE is written ,,)\n"
            "  -n, --net user[,hostfwd=tcp:HOSTPORT:GUESTPORT...][,mac=MAC]\n"
            "                        a virtio-net card on a user-mode network (passt): no\n"
            "                        privileges; hostfwd forwards a host port (tcp or udp)\n"
            "      --net tap[=NAME][,mac=MAC]\n"
            "                        a virtio-net card on tap device NAME (default: a new one)\n"
            "      --console DEV     where typing goes: pl011 or virtio (default: the device\n"
            "                        of the command line's last console=, hvc0 = virtio)\n"
            "      --dump-dtb FILE   also write the generated device tree to FILE\n"
            "  -t, --timeout SEC     stop the guest after SEC seconds (default 0 = never)\n"
            "  -T, --trace           print every exit, decoded, and a summary at the end\n"
            "      --stats           count exits, console bytes and interrupts; print them\n"
            "                        at the end, and whenever god gets SIGUSR2\n"
            "      --timeline        print when the boot reached each step, with its exits\n"
            "      --no-coalesce     every write to the PL011's UARTDR exits to god\n"
            "                        (default: KVM queues them, see chapter 7)\n"
            "      --sandbox         allow only the system calls a running VMM needs (seccomp)\n"
            "      --irq-line        virtio interrupts through KVM_IRQ_LINE, not irqfds\n"
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

/* --disk FILE or --disk FILE,ro; a comma in FILE is written ",," (common/disk_image.h). */
static void add_disk(struct options *opt, const char *arg)
{
    if (opt->nr_disks == MAX_DISKS) {
        fprintf(stderr, "god: at most %d disks\n", MAX_DISKS);
        exit(EXIT_USAGE);
    }
    const char *err = disk_spec_parse(arg, &opt->disks[opt->nr_disks].spec);
    if (err) {
        fprintf(stderr, "god: --disk '%s': %s\n", arg, err);
        exit(EXIT_USAGE);
    }
    opt->nr_disks++;
}

/*
 * Open and lock every disk before anything else happens: a disk that cannot
 * be used must stop god before a guest that would miss it boots.
 */
static void open_disks(struct options *opt)
{
    for (unsigned i = 0; i < opt->nr_disks; i++) {
        struct disk *d = &opt->disks[i];
        const char *path = d->spec.path;
        int ret = disk_image_open(&d->image, path, d->spec.read_only);
        if (ret == -ENOSPC && d->image.size == 0) {
            fprintf(stderr, "god: --disk %s: empty: a disk needs at least one 512-byte sector\n",
                    path);
            exit(EXIT_FAIL);
        }
        if (ret == -ENOSPC) {
            fprintf(stderr, "god: --disk %s: %" PRIu64 " bytes, %s\n", path, d->image.size,
                    disk_image_strerror(ret));
            exit(EXIT_FAIL);
        }
        if (ret < 0) {
            fprintf(stderr, "god: --disk %s: %s\n", path, disk_image_strerror(ret));
            exit(EXIT_FAIL);
        }
        /* Checked before locking: our own first open would look like another process. */
        for (unsigned j = 0; j < i; j++) {
            if (disk_image_same_file(&d->image, &opt->disks[j].image)) {
                fprintf(stderr,
                        "god: --disk %s: given twice (the same file as --disk %s); a file "
                        "can back only one disk\n",
                        path, opt->disks[j].spec.path);
                exit(EXIT_FAIL);
            }
        }
        if ((ret = disk_image_lock(&d->image)) < 0) {
            fprintf(stderr, "god: --disk %s: %s\n", path, disk_image_strerror(ret));
            exit(EXIT_FAIL);
        }
    }
}

/* hostfwd=tcp:HOSTPORT:GUESTPORT becomes passt's -t HOSTPORT:GUESTPORT (udp: -u). */
static void add_hostfwd(struct net_options *net, const char *spec)
{
    static char args[MAX_HOSTFWDS][16];
    bool known = strncmp(spec, "tcp:", 4) == 0 || strncmp(spec, "udp:", 4) == 0;
    unsigned host, guest;
    char extra;

    if (!known || sscanf(spec + 4, "%5u:%5u%c", &host, &guest, &extra) != 2 || !host || !guest ||
        host > 65535 || guest > 65535) {
        fprintf(stderr, "god: --net hostfwd=%s: need tcp:HOSTPORT:GUESTPORT or udp:...\n", spec);
        exit(EXIT_USAGE);
    }
    unsigned n = net->nr_passt_args / 2;
    if (n == MAX_HOSTFWDS) {
        fprintf(stderr, "god: --net: at most %d hostfwd\n", MAX_HOSTFWDS);
        exit(EXIT_USAGE);
    }
    snprintf(args[n], sizeof(args[n]), "%u:%u", host, guest);
    net->passt_args[net->nr_passt_args++] = spec[0] == 't' ? "-t" : "-u";
    net->passt_args[net->nr_passt_args++] = args[n];
}

/*
 * --net user|tap[=NAME] followed by ,key=value options. The MAC address is
 * fixed (locally administered: bit 1 of the first byte; "god" in ASCII), so
 * the guest's DHCP lease and the host's ARP cache stay valid across runs.
 */
static void parse_net(struct net_options *net, char *arg)
{
    static const uint8_t default_mac[6] = {0x02, 'g', 'o', 'd', 0x00, 0x01};
    char *save, *kind = strtok_r(arg, ",", &save);

    memcpy(net->mac, default_mac, 6);
    if (kind && strcmp(kind, "user") == 0) {
        net->mode = NET_USER;
    } else if (kind && (strcmp(kind, "tap") == 0 || strncmp(kind, "tap=", 4) == 0)) {
        net->mode = NET_TAP;
        net->tap_name = kind[3] == '=' ? kind + 4 : NULL;
    } else {
        fprintf(stderr, "god: --net %s: need user or tap[=NAME]\n", kind ? kind : "");
        exit(EXIT_USAGE);
    }
    for (char *o; (o = strtok_r(NULL, ",", &save));) {
        if (strncmp(o, "mac=", 4) == 0 && virtio_net_parse_mac(o + 4, net->mac) == 0)
            continue;
        if (strncmp(o, "hostfwd=", 8) == 0 && net->mode == NET_USER) {
            add_hostfwd(net, o + 8);
            continue;
        }
        fprintf(stderr, "god: --net: bad option %s (mac=XX:XX:XX:XX:XX:XX%s)\n", o,
                net->mode == NET_USER ? ", hostfwd=tcp:HOSTPORT:GUESTPORT" : "");
        exit(EXIT_USAGE);
    }
}

static void parse_options(int argc, char **argv, struct options *opt)
{
    static const struct option longopts[] = {
        {"kernel", required_argument, NULL, 'k'},
        {"initrd", required_argument, NULL, 'i'},
        {"cmdline", required_argument, NULL, 'p'},
        {"ram", required_argument, NULL, 'm'},
        {"cpus", required_argument, NULL, 'c'},
        {"gic", required_argument, NULL, 'g'},
        {"dump-dtb", required_argument, NULL, 'D'},
        {"timeout", required_argument, NULL, 't'},
        {"trace", no_argument, NULL, 'T'},
        {"disk", required_argument, NULL, 'd'},
        {"stats", no_argument, NULL, OPT_STATS},
        {"timeline", no_argument, NULL, OPT_TIMELINE},
        {"irq-line", no_argument, NULL, OPT_IRQ_LINE},
        {"no-coalesce", no_argument, NULL, OPT_NO_COALESCE},
        {"sandbox", no_argument, NULL, 'S'},
        {"console", required_argument, NULL, 'C'},
        {"net", required_argument, NULL, 'n'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    /*
     * Field by field into the zeroed static (see main()): assigning a whole
     * struct options would write every byte of its eight disks' request
     * buffers, a megabyte god's RSS would carry for nothing.
     */
    opt->cmdline = DEFAULT_CMDLINE;
    opt->ram_size = RAM_DEFAULT_SIZE;
    opt->cpus = 1;
    int c;

    if (argc < 2 || strcmp(argv[1], "boot") != 0) {
        usage(stderr);
        exit(EXIT_USAGE);
    }
    optind = 2;
    while ((c = getopt_long(argc, argv, "k:i:p:m:c:g:d:n:t:Th", longopts, NULL)) != -1) {
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
        case OPT_IRQ_LINE:
            opt->irq_line = true;
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
        case 'd':
            add_disk(opt, optarg);
            break;
        case 'n':
            if (opt->net.mode != NET_NONE) {
                fprintf(stderr, "god: one --net at most\n");
                exit(EXIT_USAGE);
            }
            parse_net(&opt->net, optarg);
            break;
        case 'S':
            opt->sandbox = true;
            break;
        case 'C':
            if (strcmp(optarg, "pl011") == 0)
                opt->console = INPUT_PL011;
            else if (strcmp(optarg, "virtio") == 0)
                opt->console = INPUT_VIRTIO;
            else {
                fprintf(stderr, "god: --console %s: pl011 or virtio\n", optarg);
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
static unsigned long *uart_bytes, *hvc_bytes;
static struct timeline *timeline; /* NULL without --timeline */
/* Flushed before hvc0 prints: the two consoles share stdout. */
static struct pl011 *the_uart;
static struct coalesced_mmio coalesced;

/* Everything the guest has written to the PL011, out: KVM's ring first, then the FIFO. */
static void uart_flush(void)
{
    coalesced_mmio_flush(&coalesced);
    pl011_flush(the_uart);
}

/*
 * The network card keeps its own counts (common/virtio_net.h,
 * common/net_backend.h); --stats prints them next to its interrupts. A
 * dropped frame costs the guest a retransmission, so a slow transfer starts
 * here. Nothing is printed without a card.
 */
static void watch_network_stats(const struct virtio_net *net, const struct net_backend *be)
{
    static const char frames[] = "eth0 frames", dropped[] = "eth0 dropped";

    vm_stats_watch(&stats, frames, "sent", &net->stats.tx_frames);
    vm_stats_watch(&stats, frames, "received", &net->stats.rx_frames);
    vm_stats_watch(&stats, frames, "no-rx-buffer", &net->stats.rx_no_buffers);
    vm_stats_watch(&stats, dropped, "bad-from-guest", &net->stats.tx_bad);
    vm_stats_watch(&stats, dropped, "host-refused", &be->stats.tx_dropped);
    vm_stats_watch(&stats, dropped, "bad-from-host", &be->stats.rx_dropped);
    vm_stats_watch(&stats, dropped, "too-big-for-rx", &net->stats.rx_too_big);
    vm_stats_watch(&stats, dropped, "bad-rx-buffer", &net->stats.rx_bad_chain);
}

/* The PL011: early boot messages before hvc0 exists, or the whole console (ttyAMA0). */
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

/* The virtio console talks, and listens: see the console's wiring in main(). */
/*
 * The guest's output. It runs on the console's worker thread, without the
 * device lock, so a stdout that nobody reads blocks only this thread. The
 * only signal that interrupts this thread is virtio_worker_stop()'s (stop
 * signals arrive through a signalfd, see stop_signals.c): EINTR means god is
 * stopping, and the rest of the output is dropped instead of retried.
 */
static void hvc_tx(void *ctx, const uint8_t *buf, size_t len)
{
    (void)ctx;
    /* What the guest wrote to the PL011 before this goes out before it. */
    uart_flush();
    vm_stats_add(hvc_bytes, len);
    if (timeline)
        timeline_console(timeline, buf, len);
    while (len > 0) {
        ssize_t n = write(STDOUT_FILENO, buf, len);
        if (n <= 0)
            return; /* stopping (EINTR), or stdout is gone (EPIPE, a closed terminal) */
        buf += n;
        len -= (size_t)n;
    }
}

static size_t hvc_receive(void *hvc, const uint8_t *buf, size_t len)
{
    return virtio_console_receive(hvc, buf, len);
}

/*
 * Typing goes to one device: the one the guest's /dev/console is. Unless
 * told, follow the command line: hvc0 is the virtio console; ttyAMA0, or no
 * console= (then Linux takes the device tree's stdout-path, the PL011), or
 * anything else is the PL011.
 */
static bool input_to_virtio(const struct options *opt)
{
    if (opt->console != INPUT_FROM_CMDLINE)
        return opt->console == INPUT_VIRTIO;
    size_t len;
    const char *name = console_cmdline_console(opt->cmdline, &len);
    return name && len >= 3 && strncmp(name, "hvc", 3) == 0;
}

/* Virtio device n: its window and its interrupt line into the GIC. */
static uint64_t virtio_base(unsigned n)
{
    return VIRTIO_MMIO_BASE + n * VIRTIO_MMIO_SIZE;
}

/*
 * Its interrupt, an edge, is an irqfd (common/irqfd.h) when the host's KVM
 * has them and --irq-line does not say otherwise: one eventfd write per
 * edge. Else a wire into the GIC, pulsed with two KVM_IRQ_LINE calls.
 */
static struct irqfd virtio_irqfds[2 + MAX_DISKS];
static bool virtio_irqfd;

static struct irq_line virtio_irq(struct gic *gic, unsigned n)
{
    if (virtio_irqfd) {
        int ret = irqfd_init(&virtio_irqfds[n], VIRTIO_SPI_FIRST + n);
        if (ret < 0)
            die("creating an irqfd", ret);
        return irqfd_line(&virtio_irqfds[n]);
    }
    return (struct irq_line){
        .set_level = gic_irq_line_set, .ctx = gic, .spi = VIRTIO_SPI_FIRST + n};
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
    /* The PL011, then virtio #0 (the console) and one virtio window per disk. */
    struct devicetree_device devices[3 + MAX_DISKS] = {devicetree_pl011()};
    unsigned nr_virtio = 1 + opt->nr_disks + (opt->net.mode != NET_NONE);
    for (unsigned i = 0; i < nr_virtio; i++)
        devices[1 + i] = devicetree_virtio_mmio(i);
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
        .ndevices = 1 + nr_virtio,
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
 * The network card's other side: an fd carrying Ethernet frames. A tap is
 * a network interface of this host; passt is a user-mode network stack in
 * a process of its own that turns the guest's frames into ordinary socket
 * calls, so it needs no privileges.
 */
static void open_network(const struct net_options *net, struct net_backend *be)
{
    int fd, ret;
    pid_t passt = 0;

    if (net->mode == NET_TAP) {
        char ifname[IFNAMSIZ];
        fd = net_tap_open(net->tap_name, ifname);
        if (fd == -EPERM || fd == -EACCES || fd == -EBUSY) {
            fprintf(stderr,
                    "god: --net tap: cannot use %s: %s (as root, once: sudo ip tuntap add dev %s "
                    "mode tap user $USER)\n",
                    net->tap_name ? net->tap_name : "a new tap", strerror(-fd),
                    net->tap_name ? net->tap_name : "tap0");
            exit(EXIT_FAIL);
        }
        if (fd < 0) {
            fprintf(stderr, "god: --net tap: /dev/net/tun: %s%s\n", strerror(-fd),
                    fd == -ENOENT ? " (no tun driver: sudo modprobe tun)" : "");
            exit(EXIT_FAIL);
        }
        fprintf(stderr, "god: network: tap device %s\r\n", ifname);
    } else {
        fd = net_passt_start(net->passt_args, &passt);
        if (fd < 0) {
            fprintf(stderr, "god: --net user: cannot start passt: %s%s\n", strerror(-fd),
                    fd == -ENOENT ? " (install it: sudo apt install passt)" : "");
            exit(EXIT_FAIL);
        }
    }
    if ((ret = net_backend_init(
             be, fd, net->mode == NET_TAP ? NET_FRAMING_VNET_HDR : NET_FRAMING_STREAM)) < 0)
        die("network buffers", ret);
    be->helper = passt;
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
    /*
     * Static: with room for eight disks (each with its batch of request
     * chains) it is over a megabyte, and zeroed static memory costs nothing
     * until a disk that is actually attached touches its part.
     */
    static struct options opt;
    parse_options(argc, argv, &opt);
    open_disks(&opt);
    static struct run_loop loops[VM_MAX_VCPUS];
    stats.loops = (struct run_loop_set){.loops = loops, .count = opt.cpus};
    uart_bytes = vm_stats_counter(&stats, "console bytes out", "PL011");
    hvc_bytes = vm_stats_counter(&stats, "console bytes out", "hvc0");
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

    /* 3. The devices: the PL011 (chapter 4), its interrupt wired to the GIC. */
    struct pl011 uart;
    struct pl011_output uart_out = {.tx = uart_tx};
    struct irq_line uart_irq = {.set_level = gic_irq_line_set, .ctx = &gic, .spi = PL011_SPI};
    uart_irq = vm_stats_irq_line(&stats, "PL011", uart_irq);
    if ((ret = pl011_init(&uart, &uart_out, &uart_irq)) < 0)
        die("PL011", ret);
    struct mmio_region uart_region = pl011_region(&uart);
    if ((ret = mmio_bus_add(&bus, &uart_region)) < 0)
        die("placing the PL011 on the MMIO bus", ret);

    /* New: virtio #0 is the console, each disk takes the next window and SPI. */
    virtio_irqfd = !opt.irq_line && irqfd_supported(vm);
    /* When the guest posts receive buffers, the console hands over what was typed. */
    static struct console console;
    static struct virtio_console hvc;
    struct virtio_console_host hvc_host = {
        .tx = hvc_tx, .rx_ready = console_input_room, .ctx = &console};
    the_uart = &uart;
    if ((ret = virtio_console_init(&hvc, &hvc_host, &mem, virtio_base(0),
                                   vm_stats_irq_line(&stats, "hvc0", virtio_irq(&gic, 0)))) < 0)
        die("virtio console", ret);
    struct virtio_mmio *virtio_devs[2 + MAX_DISKS] = {&hvc.transport};
    for (unsigned i = 0; i < opt.nr_disks; i++) {
        struct disk *d = &opt.disks[i];
        char id[24];
        snprintf(id, sizeof(id), "god-disk-%u", i);
        static const char *const disk_names[MAX_DISKS] = {"disk 0", "disk 1", "disk 2", "disk 3",
                                                          "disk 4", "disk 5", "disk 6", "disk 7"};
        if ((ret = virtio_blk_init(
                 &d->blk, d->image.fd, d->spec.read_only, id, &mem, virtio_base(1 + i),
                 vm_stats_irq_line(&stats, disk_names[i], virtio_irq(&gic, 1 + i)))) < 0)
            die("virtio-blk", ret);
        virtio_devs[1 + i] = &d->blk.transport;
    }
    /* New: the network card takes the window after the disks. */
    unsigned nr_virtio = 1 + opt.nr_disks;
    static struct net_backend net_backend = {.fd = -1};
    static struct virtio_net net;
    if (opt.net.mode != NET_NONE) {
        open_network(&opt.net, &net_backend);
        if ((ret = virtio_net_init(
                 &net, &net_backend, opt.net.mac, &mem, virtio_base(nr_virtio),
                 vm_stats_irq_line(&stats, "eth0", virtio_irq(&gic, nr_virtio)))) < 0)
            die("virtio network card", ret);
        virtio_devs[nr_virtio++] = &net.transport;
        watch_network_stats(&net, &net_backend);
    }
    for (unsigned i = 0; i < nr_virtio; i++) {
        struct mmio_region region = virtio_mmio_region(virtio_devs[i]);
        if ((ret = mmio_bus_add(&bus, &region)) < 0)
            die("placing a virtio device on the MMIO bus", ret);
    }

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
    /* KVM queues the guest's UARTDR writes instead of exiting for each (chapter 7). */
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
    /* KVM takes irqfds only now, with its vGIC initialised (else EAGAIN). */
    for (unsigned i = 0; virtio_irqfd && i < nr_virtio; i++)
        if ((ret = irqfd_assign(&virtio_irqfds[i], vm)) < 0)
            die("KVM_IRQFD (--irq-line does without)", ret);
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
    struct console_sink sink = {.receive = uart_receive, .ctx = &uart};
    if (input_to_virtio(&opt))
        sink = (struct console_sink){.receive = hvc_receive, .ctx = &hvc};
    if ((ret = console_init(&console, STDIN_FILENO, &sink, quit_from_console, &control)) < 0)
        die("setting up the console", ret);
    pl011_set_rx_room_notify(&uart, console_input_room, &console);

    /*
     * The virtio workers (each device's doorbell, an ioeventfd, and its
     * thread) and the console's input thread first; then, with --sandbox,
     * the seccomp filter, before any guest instruction runs; then one thread
     * per vCPU, and we wait.
     */
    static struct virtio_worker workers[2 + MAX_DISKS];
    for (unsigned i = 0; i < nr_virtio; i++) {
        ret = virtio_worker_start(&workers[i], vm, virtio_devs[i]);
        if (ret < 0)
            fprintf(stderr, "god: %s: no ioeventfd (%s); doorbells will be MMIO exits\n",
                    virtio_devs[i]->name, strerror(-ret));
    }
    if (opt.net.mode != NET_NONE && (ret = virtio_net_start(&net)) < 0)
        die("starting the network card's thread", ret);
    if ((ret = console_start(&console)) < 0)
        die("starting the console", ret);
    if (opt.sandbox && (ret = sandbox_apply()) < 0)
        die("--sandbox: installing the seccomp filter", ret);
    /* Which GIC the device tree describes (the guest's GIC driver must match). */
    fprintf(stderr, "god: in-kernel %s\r\n", gic_version_name(gic.version));
    fprintf(stderr, "god: virtio interrupts by %s\r\n", virtio_irqfd ? "irqfd" : "KVM_IRQ_LINE");
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
    enum vm_stop_reason why = vm_wait(&control, opt.timeout);
    uart_flush(); /* the guest's last bytes may still be in KVM's ring or the FIFO */
    console_stop(&console);
    if (timeline)
        timeline_mark(timeline, TIMELINE_STOP);

    /*
     * The vCPUs are stopped. Let the workers finish the request in hand, and
     * the network card's thread its frame, then make everything the guest was
     * told is written really be on the disk.
     */
    for (unsigned i = 0; i < nr_virtio; i++)
        virtio_worker_stop(&workers[i]);
    if (opt.net.mode != NET_NONE)
        virtio_net_stop(&net);
    for (unsigned i = 0; i < opt.nr_disks; i++) {
        struct disk *d = &opt.disks[i];
        if (!d->spec.read_only && fdatasync(d->image.fd) < 0)
            fprintf(stderr, "god: flushing %s: %s\n", d->spec.path, strerror(errno));
    }

    /*
     * Nothing counts any more: the report. Before the devices go, since the
     * report names each by its MMIO window ("virtio-blk@0a000200"), a name
     * kept in the device, which destroying it wipes.
     */
    fprintf(stderr, "\r\ngod: stopped: %s\r\n", vm_stop_reason_name(why));
    if (opt.stats)
        vm_stats_print(&stats);
    else if (opt.trace)
        run_loop_print_summary(loops, opt.cpus, stderr);
    if (timeline)
        timeline_print(timeline, stderr);

    if (opt.net.mode != NET_NONE) {
        /* Stops passt too: it sees its socket close, and we make sure. */
        virtio_net_destroy(&net);
        net_backend_destroy(&net_backend);
    }
    for (unsigned i = 0; i < opt.nr_disks; i++) {
        struct disk *d = &opt.disks[i];
        virtio_blk_destroy(&d->blk);
        disk_image_close(&d->image);
        disk_spec_free(&d->spec);
    }
    virtio_console_destroy(&hvc);
    for (unsigned i = 0; virtio_irqfd && i < nr_virtio; i++)
        irqfd_close(&virtio_irqfds[i]);
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

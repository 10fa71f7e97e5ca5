/*
 * Chapter 5 - god run: the PL011 interrupts the guest through an in-kernel GIC.
 *
 * New since chapter 4: an interrupt controller. KVM emulates a GIC in the
 * kernel (common/gic.c): a GICv3 on hosts that have one, a GICv2 on those
 * that do not (a Raspberry Pi); --gic picks one. We ask which the host
 * offers, create it, say where it sits in the guest's address space, and
 * finalise it once the vCPU exists. The PL011's
 * interrupt line, left unconnected in chapter 4, now drives SPI 1 (INTID 33)
 * through KVM_IRQ_LINE. A second thread plays the keyboard: once the guest
 * has asked for receive interrupts, it types the --send text into the
 * UART's receive FIFO, the line goes up, and the guest's handler runs.
 *
 * Exit status: 0 the guest powered off; 1 it stopped any other way;
 * 2 bad usage; 3 --timeout ran out.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

#define DEFAULT_RAM  (16ULL << 20)
#define DEFAULT_SEND "ping"

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
    bool no_irq;
    enum gic_version gic;
    const char *send;
    const char *guest;
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: god run [options] GUEST.bin\n"
            "  Load a flat ARM64 program at 0x%llx and run it with a GIC at 0x%llx and a\n"
            "  PL011 UART at 0x%llx whose interrupt is INTID %d.\n"
            "options:\n"
            "  -g, --gic VERSION   v2, v3 or auto: v3 if the host offers it, else v2\n"
            "                      (default auto)\n"
            "  -m, --ram SIZE      guest RAM (default 16M)\n"
            "  -s, --send TEXT     type TEXT (1 to %d bytes) into the UART once the guest\n"
            "                      enables receive interrupts (default \"%s\")\n"
            "  -n, --no-irq        leave the UART's interrupt line unconnected\n"
            "  -t, --timeout SEC   stop a guest that runs longer (default 10, 0 = never)\n"
            "  -T, --trace         print every exit, decoded, and a summary at the end\n",
            RAM_BASE, GIC_DIST_BASE, PL011_BASE, SPI_INTID_BASE + PL011_SPI, PL011_FIFO_DEPTH,
            DEFAULT_SEND);
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
        {"send", required_argument, NULL, 's'},    {"no-irq", no_argument, NULL, 'n'},
        {"timeout", required_argument, NULL, 't'}, {"trace", no_argument, NULL, 'T'},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0},
    };
    *opt = (struct options){.ram_size = DEFAULT_RAM, .timeout = 10, .send = DEFAULT_SEND};
    char *end;
    int c;

    if (argc < 2 || strcmp(argv[1], "run") != 0) {
        usage(stderr);
        exit(EXIT_USAGE);
    }
    optind = 2;
    while ((c = getopt_long(argc, argv, "g:m:s:nt:Th", longopts, NULL)) != -1) {
        switch (c) {
        case 'g':
            if (gic_version_parse(optarg, &opt->gic) < 0) {
                fprintf(stderr, "god: --gic %s: need v2, v3 or auto\n", optarg);
                exit(EXIT_USAGE);
            }
            break;
        case 'm':
            if (size_parse(optarg, &opt->ram_size) < 0) {
                fprintf(stderr, "god: --ram %s: not a size (try 16M)\n", optarg);
                exit(EXIT_USAGE);
            }
            break;
        case 's':
            /* All of it must fit in the receive FIFO at once: see type_input(). */
            if (!*optarg || strlen(optarg) > PL011_FIFO_DEPTH) {
                fprintf(stderr, "god: --send: need 1 to %d bytes\n", PL011_FIFO_DEPTH);
                exit(EXIT_USAGE);
            }
            opt->send = optarg;
            break;
        case 'n':
            opt->no_irq = true;
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

/*
 * The keyboard: a thread that types opt.send into the UART. It waits until
 * the guest has unmasked the receive interrupts (UARTIMSC), then hands over
 * every byte in one pl011_receive() call. Waiting makes the run
 * deterministic: by then the guest has switched the FIFO on (in its reset
 * state the PL011 holds a single byte and would refuse the rest) and set up
 * the GIC, so the interrupt arrives exactly once, with all the bytes there.
 */
struct typist {
    struct pl011 *uart;
    struct vm_control *vm;
    const char *text;
};

static void *type_input(void *arg)
{
    struct typist *typist = arg;
    const uint8_t *next = (const uint8_t *)typist->text;
    size_t left = strlen(typist->text);

    while (!vm_stopping(typist->vm) && !pl011_rx_irq_enabled(typist->uart))
        usleep(1000);
    while (left > 0 && !vm_stopping(typist->vm)) {
        size_t taken = pl011_receive(typist->uart, next, left); /* may raise the line */
        next += taken;
        left -= taken;
        if (left > 0) /* only if the guest left the FIFO off: wait for it to read */
            pl011_wait_rx_room(typist->uart, 100);
    }
    return NULL;
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
    if ((ret = guest_mem_load_file(&mem, RAM_BASE, opt.guest, &len)) < 0) {
        fprintf(stderr, "god: loading %s: %s\n", opt.guest,
                ret == -EFBIG ? "does not fit in guest RAM" : file_strerror(ret));
        return EXIT_FAIL;
    }

    /*
     * 2. New: the interrupt controller. Which one: gic_setup() asks KVM which
     * vGICs this host can create (a GICv3 host: v3; a GICv2 host such as a
     * Raspberry Pi: v2) and picks what --gic says. The guest finds out for
     * itself which one it got (irq.S). KVM requires this order:
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

    /* 3. The devices. The PL011's interrupt line now drives SPI 1 = INTID 33 (unless --no-irq). */
    struct mmio_bus bus = {0};
    struct pl011 uart;
    struct pl011_output uart_out = {.tx = uart_tx};
    struct irq_line uart_irq = {.set_level = gic_irq_line_set, .ctx = &gic, .spi = PL011_SPI};
    if (opt.no_irq)
        uart_irq = (struct irq_line){0}; /* the wire is cut: the guest will wait forever */
    if ((ret = pl011_init(&uart, &uart_out, &uart_irq)) < 0)
        die("PL011", ret);
    struct mmio_region uart_region = pl011_region(&uart);
    if ((ret = mmio_bus_add(&bus, &uart_region)) < 0)
        die("placing the PL011 on the MMIO bus", ret);

    /* 4. One vCPU, starting at the program's first instruction (chapter 3). */
    struct vcpu vcpu;
    if ((ret = vcpu_create(&vcpu, kvm, vm, 0)) < 0)
        die("KVM_CREATE_VCPU", ret);
    if ((ret = vcpu_init(&vcpu, vm, 0)) < 0)
        die("KVM_ARM_VCPU_INIT", ret);
    if ((ret = vcpu_set_entry(&vcpu, RAM_BASE, VCPU_PSTATE_EL1H_MASKED)) < 0)
        die("KVM_SET_ONE_REG", ret);

    /* 5. New: every vCPU exists, none has run: the GIC can be finalised. */
    if ((ret = gic_finalize(&gic)) < 0)
        die("finalising the GIC (KVM_DEV_ARM_VGIC_CTRL_INIT)", ret);

    /* 6. Run the vCPU and the keyboard; wait for the guest to power off (or the timeout). */
    struct vm_control control;
    if ((ret = vm_control_init(&control)) < 0 || (ret = vm_control_add_vcpu(&control, &vcpu)) < 0)
        die("setting up the vCPU thread", ret);
    struct run_loop loop = {.vcpu = &vcpu, .bus = &bus, .vm = &control, .mem = &mem};
    if (opt.trace)
        loop.trace = stderr;
    if ((ret = vm_control_start(&control, 0, run_loop_thread, &loop)) < 0)
        die("starting the vCPU thread", ret);
    struct typist typist = {.uart = &uart, .vm = &control, .text = opt.send};
    pthread_t typist_thread;
    if ((ret = -pthread_create(&typist_thread, NULL, type_input, &typist)) < 0)
        die("starting the input thread", ret);
    enum vm_stop_reason why = vm_wait(&control, opt.timeout);
    pl011_flush(&uart);                /* the guest's last bytes may still be in the FIFO */
    pthread_join(typist_thread, NULL); /* it sees vm_stopping() within a few ms */

    fflush(stdout);
    fprintf(stderr, "god: stopped: %s\n", vm_stop_reason_name(why));
    if (opt.trace)
        run_loop_print_summary(&loop, 1, stderr);
    if (why == VM_STOP_TIMEOUT)
        vcpu_dump_regs(&vcpu, stderr);

    vcpu_destroy(&vcpu);
    pl011_destroy(&uart);
    close(gic.fd);
    guest_mem_free(&mem);
    close(vm);
    close(kvm);
    return why == VM_STOP_POWEROFF ? EXIT_OK : why == VM_STOP_TIMEOUT ? EXIT_TIMEOUT : EXIT_FAIL;
}

/*
 * Chapter 4 - god run: the guest talks through an emulated PL011 UART.
 *
 * New since chapter 3: devices. The guest's stores to the UART's address
 * exit to us as KVM_EXIT_MMIO; the MMIO bus (common/mmio_bus.c) routes each
 * one to the PL011 model (common/pl011.c), which writes the byte to our
 * stdout. The run loop moved to common/run_loop.c, where it runs on a thread
 * of its own per vCPU (common/vm_control.c starts and stops them): this
 * file sets the machine up and waits.
 *
 * Exit status: 0 the guest powered off; 1 it stopped any other way;
 * 2 bad usage; 3 --timeout ran out.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

#define DEFAULT_RAM (16ULL << 20)

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
    const char *guest;
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: god run [options] GUEST.bin\n"
            "  Load a flat ARM64 program at 0x%llx and run it with a PL011 UART at 0x%llx.\n"
            "options:\n"
            "  -m, --ram SIZE      guest RAM (default 16M)\n"
            "  -t, --timeout SEC   stop a guest that runs longer (default 10, 0 = never)\n"
            "  -T, --trace         print every exit, decoded, and a summary at the end\n",
            RAM_BASE, PL011_BASE);
}

static void die(const char *what, int err)
{
    fprintf(stderr, "god: %s: %s\n", what, strerror(-err));
    exit(EXIT_FAIL);
}

static void parse_options(int argc, char **argv, struct options *opt)
{
    static const struct option longopts[] = {
        {"ram", required_argument, NULL, 'm'},
        {"timeout", required_argument, NULL, 't'},
        {"trace", no_argument, NULL, 'T'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    *opt = (struct options){.ram_size = DEFAULT_RAM, .timeout = 10};
    char *end;
    int c;

    if (argc < 2 || strcmp(argv[1], "run") != 0) {
        usage(stderr);
        exit(EXIT_USAGE);
    }
    optind = 2;
    while ((c = getopt_long(argc, argv, "m:t:Th", longopts, NULL)) != -1) {
        switch (c) {
        case 'm':
            if (size_parse(optarg, &opt->ram_size) < 0) {
                fprintf(stderr, "god: --ram %s: not a size (try 16M)\n", optarg);
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
    /*
     * New: a device access KVM cannot decode (LDP/STP, an atomic, a
     * writeback load...) comes to us as KVM_EXIT_ARM_NISV instead of failing
     * KVM_RUN: the run loop names it and gives the guest an external abort.
     */
    if ((ret = kvm_enable_cap(vm, KVM_CAP_ARM_NISV_TO_USER)) < 0)
        die("KVM_ENABLE_CAP(ARM_NISV_TO_USER)", ret);
    uint64_t len;
    if ((ret = guest_mem_load_file(&mem, RAM_BASE, opt.guest, &len)) < 0) {
        fprintf(stderr, "god: loading %s: %s\n", opt.guest,
                ret == -EFBIG ? "does not fit in guest RAM" : file_strerror(ret));
        return EXIT_FAIL;
    }

    /* 2. New: the devices. One PL011, its output wired to our stdout, no interrupt yet. */
    struct mmio_bus bus = {0};
    struct pl011 uart;
    struct pl011_output uart_out = {.tx = uart_tx};
    struct irq_line no_irq = {0}; /* chapter 5 connects it to the GIC */
    if ((ret = pl011_init(&uart, &uart_out, &no_irq)) < 0)
        die("PL011", ret);
    struct mmio_region uart_region = pl011_region(&uart);
    if ((ret = mmio_bus_add(&bus, &uart_region)) < 0)
        die("placing the PL011 on the MMIO bus", ret);

    /* 3. One vCPU, starting at the program's first instruction (chapter 3). */
    struct vcpu vcpu;
    if ((ret = vcpu_create(&vcpu, kvm, vm, 0)) < 0)
        die("KVM_CREATE_VCPU", ret);
    if ((ret = vcpu_init(&vcpu, vm, 0)) < 0)
        die("KVM_ARM_VCPU_INIT", ret);
    if ((ret = vcpu_set_entry(&vcpu, RAM_BASE, VCPU_PSTATE_EL1H_MASKED)) < 0)
        die("KVM_SET_ONE_REG", ret);

    /* 4. Run it on its own thread; wait here for the guest to power off (or the timeout). */
    struct vm_control control;
    if ((ret = vm_control_init(&control)) < 0 || (ret = vm_control_add_vcpu(&control, &vcpu)) < 0)
        die("setting up the vCPU thread", ret);
    struct run_loop loop = {.vcpu = &vcpu, .bus = &bus, .vm = &control, .mem = &mem};
    if (opt.trace)
        loop.trace = stderr;
    if ((ret = vm_control_start(&control, 0, run_loop_thread, &loop)) < 0)
        die("starting the vCPU thread", ret);
    enum vm_stop_reason why = vm_wait(&control, opt.timeout);
    pl011_flush(&uart); /* the guest's last bytes may still be in the FIFO */

    fflush(stdout);
    fprintf(stderr, "god: stopped: %s\n", vm_stop_reason_name(why));
    if (opt.trace)
        run_loop_print_summary(&loop, 1, stderr);
    if (why == VM_STOP_TIMEOUT)
        vcpu_dump_regs(&vcpu, stderr);

    vcpu_destroy(&vcpu);
    pl011_destroy(&uart);
    guest_mem_free(&mem);
    close(vm);
    close(kvm);
    return why == VM_STOP_POWEROFF ? EXIT_OK : why == VM_STOP_TIMEOUT ? EXIT_TIMEOUT : EXIT_FAIL;
}

/*
 * Chapter 3 - god run: a vCPU executes guest code.
 *
 * The whole life of a tiny VM, top to bottom, in main()'s numbered steps:
 *
 *   1. open /dev/kvm, create a VM, give it RAM        (chapters 1 and 2)
 *      and copy the guest program into that RAM
 *   2. create a vCPU and initialise it (KVM_ARM_VCPU_INIT), then set its
 *      registers: PC, PSTATE, the arguments           (KVM_SET_ONE_REG)
 *   3. KVM_RUN in a loop; every return is an "exit" we must handle, until
 *      the guest powers off (PSCI SYSTEM_OFF -> KVM_EXIT_SYSTEM_EVENT)
 *   4. read the guest's result out of its RAM and check it
 *
 * Chapter 4 keeps this shape and moves step 3's loop into common/.
 *
 * Exit status: 0 the guest powered off and its result is right; 1 it is
 * wrong or the guest stopped some other way; 2 bad usage; 3 --timeout ran out.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "file.h"
#include "guest_mem.h"
#include "kvm.h"
#include "memmap.h"
#include "size.h"
#include "vcpu.h"

#define DEFAULT_RAM   (16ULL << 20)
/* Where the guest stores its answer: well past the program, inside RAM. */
#define RESULT_OFFSET 0x10000ULL

enum {
    EXIT_OK = 0,
    EXIT_FAIL = 1,
    EXIT_USAGE = 2,
    EXIT_TIMEOUT = 3
};

struct options {
    uint64_t ram_size;
    unsigned timeout;
    uint64_t arg;
    const char *guest;
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: god run [options] GUEST.bin\n"
            "  Load a flat ARM64 program at 0x%llx, run it on one vCPU with x0 = N and\n"
            "  x1 = an address for its result, and check the result is fib(N).\n"
            "options:\n"
            "  -m, --ram SIZE      guest RAM (default 16M)\n"
            "  -n, --arg N         the argument passed in x0 (default 20)\n"
            "  -t, --timeout SEC   give up on a guest that runs longer (default 10, 0 = never)\n",
            RAM_BASE);
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
        {"arg", required_argument, NULL, 'n'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    *opt = (struct options){.ram_size = DEFAULT_RAM, .timeout = 10, .arg = 20};
    char *end;
    int c;

    if (argc < 2 || strcmp(argv[1], "run") != 0) {
        usage(stderr);
        exit(EXIT_USAGE);
    }
    optind = 2;
    while ((c = getopt_long(argc, argv, "m:n:t:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'm':
            if (size_parse(optarg, &opt->ram_size) < 0 || opt->ram_size <= RESULT_OFFSET) {
                fprintf(stderr, "god: --ram %s: need a size above 64K, like 16M\n", optarg);
                exit(EXIT_USAGE);
            }
            break;
        case 't':
            opt->timeout = (unsigned)strtoul(optarg, &end, 0);
            if (*end) {
                fprintf(stderr, "god: --timeout %s: need a number of seconds\n", optarg);
                exit(EXIT_USAGE);
            }
            break;
        case 'n':
            opt->arg = strtoull(optarg, &end, 0);
            if (*end || opt->arg > 93) { /* fib(94) does not fit in 64 bits */
                fprintf(stderr, "god: --arg %s: need a number from 0 to 93\n", optarg);
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
    if (optind != argc - 1) {
        usage(stderr);
        exit(EXIT_USAGE);
    }
    opt->guest = argv[optind];
}

/* What the guest should have computed, the same way it does. */
static uint64_t fib(uint64_t n)
{
    uint64_t a = 0, b = 1;
    while (n--) {
        uint64_t next = a + b;
        a = b;
        b = next;
    }
    return a;
}

/*
 * --timeout. SIGALRM interrupts KVM_RUN (it returns -EINTR). The handler also
 * sets kvm_run->immediate_exit: if the signal lands after we checked the flag
 * but before the ioctl entered the guest, KVM sees immediate_exit and returns
 * at once instead of running the guest forever.
 */
static struct kvm_run *volatile alarm_run;
static volatile sig_atomic_t timed_out;

static void on_alarm(int sig)
{
    (void)sig;
    timed_out = 1;
    if (alarm_run)
        alarm_run->immediate_exit = 1;
}

static void arm_timeout(struct vcpu *vcpu, unsigned seconds)
{
    /* KVM_RUN returns EINTR for any caught signal and is never restarted. */
    struct sigaction sa = {.sa_handler = on_alarm};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, NULL);
    alarm_run = vcpu->run;
    alarm(seconds);
}

/* Once the guest has stopped, the alarm must not touch a kvm_run we are about to unmap. */
static void disarm_timeout(void)
{
    alarm(0);
    alarm_run = NULL;
}

/* Name a PSCI system event the way the guest asked for it. */
static const char *system_event_name(uint32_t type)
{
    switch (type) {
    case KVM_SYSTEM_EVENT_SHUTDOWN:
        return "PSCI SYSTEM_OFF";
    case KVM_SYSTEM_EVENT_RESET:
        return "PSCI SYSTEM_RESET";
    case KVM_SYSTEM_EVENT_CRASH:
        return "crash";
    default:
        return "unknown system event";
    }
}

/*
 * The run loop. Returns true when the guest powered off; false, after saying
 * why and dumping the registers, when it stopped any other way.
 */
static bool run_until_poweroff(struct vcpu *vcpu, unsigned timeout, unsigned long *exits)
{
    struct kvm_run *run = vcpu->run;

    if (timeout)
        arm_timeout(vcpu, timeout);
    for (*exits = 0;; ++*exits) {
        int ret = vcpu_run(vcpu);
        if (ret == -EINTR) {
            run->immediate_exit = 0;
            if (timed_out) {
                fprintf(stderr, "god: the guest did not power off within %u s\n", timeout);
                vcpu_dump_regs(vcpu, stderr);
                exit(EXIT_TIMEOUT);
            }
            continue; /* some other signal: just run again */
        }
        if (ret < 0)
            die("KVM_RUN", ret);

        switch (run->exit_reason) {
        case KVM_EXIT_SYSTEM_EVENT:
            printf("exit: SYSTEM_EVENT (%s) after %lu other exits\n",
                   system_event_name(run->system_event.type), *exits);
            if (run->system_event.type == KVM_SYSTEM_EVENT_SHUTDOWN)
                return true;
            vcpu_dump_regs(vcpu, stderr);
            return false;

        case KVM_EXIT_MMIO:
            /* No devices yet: any access outside RAM is the guest going astray. */
            fprintf(stderr, "god: unexpected MMIO %s at 0x%llx (%u bytes): nothing lives there\n",
                    run->mmio.is_write ? "write" : "read", (unsigned long long)run->mmio.phys_addr,
                    run->mmio.len);
            vcpu_dump_regs(vcpu, stderr);
            return false;

        case KVM_EXIT_FAIL_ENTRY:
            fprintf(stderr, "god: KVM could not enter the guest (hardware reason 0x%llx)\n",
                    (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
            vcpu_dump_regs(vcpu, stderr);
            return false;

        case KVM_EXIT_INTERNAL_ERROR:
            fprintf(stderr, "god: KVM internal error (suberror %u)\n", run->internal.suberror);
            vcpu_dump_regs(vcpu, stderr);
            return false;

        default:
            fprintf(stderr, "god: unexpected exit %s (%u)\n", kvm_exit_name(run->exit_reason),
                    run->exit_reason);
            vcpu_dump_regs(vcpu, stderr);
            return false;
        }
    }
}

int main(int argc, char **argv)
{
    struct options opt;
    parse_options(argc, argv, &opt);

    /* 1. A VM with RAM (chapter 2) and the guest program in it, clear of the result slot. */
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
    uint64_t len;
    if ((ret = guest_mem_load_file(&mem, RAM_BASE, opt.guest, &len)) < 0 || len > RESULT_OFFSET) {
        fprintf(stderr, "god: loading %s: %s\n", opt.guest,
                ret == 0 || ret == -EFBIG ? "too big for this guest's layout" : file_strerror(ret));
        return EXIT_FAIL;
    }
    printf("loaded %s (%" PRIu64 " bytes) at 0x%llx\n", opt.guest, len, RAM_BASE);

    /*
     * 2. One vCPU, initialised as KVM's preferred CPU model with PSCI 0.2, starting at the
     * program's first instruction, in EL1 with interrupts masked, with its arguments.
     */
    struct vcpu vcpu;
    if ((ret = vcpu_create(&vcpu, kvm, vm, 0)) < 0)
        die("KVM_CREATE_VCPU", ret);
    if ((ret = vcpu_init(&vcpu, vm, 0)) < 0)
        die("KVM_ARM_VCPU_INIT", ret);
    uint64_t result_gpa = RAM_BASE + RESULT_OFFSET;
    if ((ret = vcpu_set_entry(&vcpu, RAM_BASE, VCPU_PSTATE_EL1H_MASKED)) < 0 ||
        (ret = vcpu_set_reg(&vcpu, VCPU_XREG(0), opt.arg)) < 0 ||
        (ret = vcpu_set_reg(&vcpu, VCPU_XREG(1), result_gpa)) < 0)
        die("KVM_SET_ONE_REG", ret);
    printf("vCPU 0 starts at PC 0x%llx with x0 = %" PRIu64 ", x1 = 0x%" PRIx64 "\n", RAM_BASE,
           opt.arg, result_gpa);

    /* 3. Run it until the guest powers off (or fails, or times out). */
    unsigned long exits;
    bool powered_off = run_until_poweroff(&vcpu, opt.timeout, &exits);
    disarm_timeout();
    if (!powered_off)
        return EXIT_FAIL;

    /* 4. The answer is in guest RAM, where the guest stored it. */
    uint64_t result;
    guest_mem_read(&mem, result_gpa, &result, sizeof(result));
    uint64_t expected = fib(opt.arg);
    printf("guest computed fib(%" PRIu64 ") = %" PRIu64 " (expected %" PRIu64 "): %s\n", opt.arg,
           result, expected, result == expected ? "correct" : "WRONG");

    vcpu_destroy(&vcpu);
    guest_mem_free(&mem);
    close(vm);
    close(kvm);
    return result == expected ? EXIT_OK : EXIT_FAIL;
}

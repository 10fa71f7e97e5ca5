/*
 * test_vm_control.c - stopping a VM's vCPU threads (common/vm_control.c) and
 * the signals that stop it (common/stop_signals.c).
 *
 * The "vCPUs" are threads that spin until vm_stopping(), each with a
 * kvm_run of its own in ordinary memory: vm_control needs nothing else.
 */
#define _GNU_SOURCE /* posix_openpt() and friends */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "console.h"
#include "stop_signals.h"
#include "vm_control.h"

#define NR 3

static struct vm_control vm;
static struct vcpu vcpus[NR];
static struct kvm_run runs[NR];

static void *fake_vcpu(void *arg)
{
    (void)arg;
    while (!vm_stopping(&vm))
        usleep(1000);
    return NULL;
}

static void setup_vm(void)
{
    assert_int_equal(vm_control_init(&vm), 0);
    memset(runs, 0, sizeof(runs));
    for (unsigned i = 0; i < NR; i++) {
        vcpus[i] = (struct vcpu){.fd = -1, .index = i, .run = &runs[i]};
        assert_int_equal(vm_control_add_vcpu(&vm, &vcpus[i]), 0);
    }
}

static pthread_t stopper;
static __thread bool in_stopper;
static void slow_stopper_hook(void)
{
    /* The stopper, preempted between deciding to stop and kicking. */
    if (in_stopper)
        usleep(300 * 1000);
}

static void *stop_thread(void *arg)
{
    (void)arg;
    in_stopper = true;
    vm_stop(&vm, VM_STOP_SIGNAL);
    return NULL;
}

/*
 * main() destroys the vCPUs (unmaps kvm_run) as soon as vm_wait() returns, so
 * a stopper that was preempted must be finished with them by then.
 */
static void wait_returns_only_after_the_stopper_is_done(void **state)
{
    (void)state;
    setup_vm();
    for (unsigned i = 0; i < NR; i++)
        assert_int_equal(vm_control_start(&vm, i, fake_vcpu, NULL), 0);

    vm_control_stop_hook = slow_stopper_hook;
    assert_int_equal(pthread_create(&stopper, NULL, stop_thread, NULL), 0);
    assert_int_equal(vm_wait(&vm, 0), VM_STOP_SIGNAL);
    /* "Destroy" the vCPUs: from now on nobody may write their kvm_run. */
    for (unsigned i = 0; i < NR; i++) {
        assert_int_equal(runs[i].immediate_exit, 1); /* kicked before vm_wait() returned */
        runs[i].immediate_exit = 0;
    }
    pthread_join(stopper, NULL);
    vm_control_stop_hook = NULL;
    for (unsigned i = 0; i < NR; i++)
        assert_int_equal(runs[i].immediate_exit, 0); /* and not after */

    vm_stop(&vm, VM_STOP_ERROR); /* a late stop changes nothing and touches nothing */
    assert_int_equal(atomic_load(&vm.reason), VM_STOP_SIGNAL);
    for (unsigned i = 0; i < NR; i++)
        assert_int_equal(runs[i].immediate_exit, 0);
}

static void vcpus_cannot_be_added_once_one_runs(void **state)
{
    (void)state;
    setup_vm();
    assert_int_equal(vm_control_start(&vm, 0, fake_vcpu, NULL), 0);
    struct vcpu late = {.fd = -1, .run = &runs[0]};
    assert_int_equal(vm_control_add_vcpu(&vm, &late), -EBUSY);
    assert_int_equal(vm_control_start(&vm, NR, fake_vcpu, NULL), -EINVAL);
    vm_stop(&vm, VM_STOP_USER);
    assert_int_equal(vm_wait(&vm, 0), VM_STOP_USER);
}

/* A stop during start-up: every registered vCPU is told, the rest never start. */
static void stop_during_start_up(void **state)
{
    (void)state;
    setup_vm();
    assert_int_equal(vm_control_start(&vm, 0, fake_vcpu, NULL), 0);
    vm_stop(&vm, VM_STOP_SIGNAL);
    for (unsigned i = 0; i < NR; i++)
        assert_int_equal(runs[i].immediate_exit, 1);
    for (unsigned i = 1; i < NR; i++)
        assert_int_equal(vm_control_start(&vm, i, fake_vcpu, NULL), 0);
    for (unsigned i = 1; i < NR; i++)
        assert_false(vm.has_thread[i]);
    assert_int_equal(vm_wait(&vm, 0), VM_STOP_SIGNAL);
}

static void timeout_stops_and_kicks(void **state)
{
    (void)state;
    setup_vm();
    for (unsigned i = 0; i < NR; i++)
        assert_int_equal(vm_control_start(&vm, i, fake_vcpu, NULL), 0);
    assert_int_equal(vm_wait(&vm, 1), VM_STOP_TIMEOUT);
    for (unsigned i = 0; i < NR; i++)
        assert_int_equal(runs[i].immediate_exit, 1);
}

/* ---- Signals: each case runs in a child, on a pseudo-terminal in raw mode ---- */

static size_t no_input(void *ctx, const uint8_t *buf, size_t len)
{
    (void)ctx, (void)buf, (void)len;
    return 0;
}

/*
 * Fork a child that puts a pty into raw mode as god's console does, starts
 * the signal thread, and runs child(). Returns its wait status; *restored
 * says whether the pty was back in canonical mode afterwards.
 */
static int run_child(void (*child)(void), bool *restored)
{
    int master = posix_openpt(O_RDWR | O_NOCTTY);
    assert_true(master >= 0);
    assert_int_equal(grantpt(master), 0);
    assert_int_equal(unlockpt(master), 0);
    int tty = open(ptsname(master), O_RDWR | O_NOCTTY);
    assert_true(tty >= 0);

    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        static struct console con;
        struct console_sink sink = {.receive = no_input};
        struct termios t;
        if (console_init(&con, tty, &sink, NULL, NULL) < 0 || tcgetattr(tty, &t) < 0 ||
            (t.c_lflag & ICANON))
            _exit(97); /* not raw: the test would prove nothing */
        if (vm_control_init(&vm) < 0 || stop_signals_start(&vm) < 0)
            _exit(98);
        child();
        _exit(99);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    struct termios t;
    assert_int_equal(tcgetattr(tty, &t), 0);
    *restored = t.c_lflag & ICANON;
    close(tty);
    close(master);
    return status;
}

static void wait_until_stopping(void)
{
    for (int i = 0; i < 5000 && !vm_stopping(&vm); i++)
        usleep(1000);
}

/* Shutdown hangs after the first SIGTERM; the second one ends god at once. */
static void hung_shutdown(void)
{
    kill(getpid(), SIGTERM);
    wait_until_stopping();
    if (!vm_stopping(&vm))
        _exit(96);
    kill(getpid(), SIGTERM);
    sleep(5); /* the hang: only the second signal can end this */
}

static void second_stop_signal_exits_at_once(void **state)
{
    (void)state;
    bool restored;
    int status = run_child(hung_shutdown, &restored);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 128 + SIGTERM);
    assert_true(restored);
}

static void sigusr2(void)
{
    kill(getpid(), SIGUSR2);
    sleep(5);
}

/* A signal that kills still kills, but not before the terminal is restored. */
static void terminating_signal_restores_the_terminal(void **state)
{
    (void)state;
    bool restored;
    int status = run_child(sigusr2, &restored);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGUSR2);
    assert_true(restored);
}

/* A vCPU that writes guest output to a stdout nobody reads (a full pipe). */
static void *blocked_writer_vcpu(void *arg)
{
    (void)arg;
    static const uint8_t line[4096] = {'x'};
    while (!vm_stopping(&vm))
        console_write(line, sizeof(line));
    return NULL;
}

/*
 * --timeout (and SIGTERM) must stop a VM whose vCPU is stuck writing to
 * stdout: the kick interrupts the write, and the write gives up. Run in a
 * child, whose stdout is a full pipe and whose alarm turns a hang into a
 * failure.
 */
static void timeout_stops_a_vcpu_blocked_on_stdout(void **state)
{
    (void)state;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int p[2];
        if (pipe(p) < 0)
            _exit(10);
        fcntl(p[1], F_SETFL, O_NONBLOCK);
        static const char fill[4096];
        while (write(p[1], fill, sizeof(fill)) > 0)
            ;
        fcntl(p[1], F_SETFL, 0); /* full, and blocking from now on */
        dup2(p[1], STDOUT_FILENO);
        alarm(10);
        setup_vm();
        for (unsigned i = 0; i < NR; i++)
            if (vm_control_start(&vm, i, blocked_writer_vcpu, NULL) < 0)
                _exit(11);
        _exit(vm_wait(&vm, 1) == VM_STOP_TIMEOUT ? 0 : 12);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (WIFSIGNALED(status))
        fail_msg("vm_wait() hung with a vCPU blocked on stdout (killed by signal %d)",
                 WTERMSIG(status));
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

static void *report_stack_size(void *arg)
{
    pthread_attr_t attr;
    size_t *size = arg;
    if (pthread_getattr_np(pthread_self(), &attr) == 0) {
        pthread_attr_getstacksize(&attr, size);
        pthread_attr_destroy(&attr);
    }
    return NULL;
}

/* A thread started with no attributes gets less than 2 MiB: no huge page can back it. */
static void threads_get_small_stacks(void **state)
{
    (void)state;
    pthread_t t;
    size_t size = 0;
    assert_int_equal(vm_control_small_stacks(), 0);
    assert_int_equal(pthread_create(&t, NULL, report_stack_size, &size), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_true(size >= VM_THREAD_STACK);
    assert_true(size < (2u << 20));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(wait_returns_only_after_the_stopper_is_done),
        cmocka_unit_test(vcpus_cannot_be_added_once_one_runs),
        cmocka_unit_test(stop_during_start_up),
        cmocka_unit_test(timeout_stops_and_kicks),
        cmocka_unit_test(timeout_stops_a_vcpu_blocked_on_stdout),
        cmocka_unit_test(second_stop_signal_exits_at_once),
        cmocka_unit_test(terminating_signal_restores_the_terminal),
        cmocka_unit_test(threads_get_small_stacks),
    };
    return cmocka_run_group_tests_name("vm_control", tests, NULL, NULL);
}

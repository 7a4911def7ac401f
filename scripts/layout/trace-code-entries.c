// Preloaded into `samsa serve` by scripts/layout/order-symbols.py: records where control enters the
// executable's code, so that the functions a broker runs can be laid out together.
//
// Only a couple of code pages are accessible at a time. Every jump into another page faults; the
// SIGSEGV handler notes the address, opens that page and closes the one opened longest ago. Calls
// within an open page go unseen, which is why the script traces more than once: the next layout
// puts those functions on other pages.
//
// When the file `$SAMSA_TRACE_OUT.request` appears, the addresses seen so far (offsets from the
// executable's load address, one hex number per line) are written to `$SAMSA_TRACE_OUT`, and the
// request file is removed.
//
// Build: cc -O2 -shared -fPIC -o trace-code-entries.so trace-code-entries.c -lpthread
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

enum { OPEN_PAGES = 2, PAGE = 4096 };

static unsigned long code_start, code_end, load_address;
static _Atomic unsigned char *entered;  // one bit per byte of code
static _Atomic unsigned long open_pages[OPEN_PAGES];
static atomic_uint next_slot;

static void on_fault(int signal_number, siginfo_t *info, void *context) {
    (void)context;
    unsigned long address = (unsigned long)info->si_addr;
    if (address < code_start || address >= code_end) {
        // A real crash: let it happen as it would have.
        signal(signal_number, SIG_DFL);
        raise(signal_number);
        return;
    }
    unsigned long offset = address - code_start;
    atomic_fetch_or_explicit(&entered[offset / 8], (unsigned char)(1u << (offset % 8)), memory_order_relaxed);
    unsigned long page = address & ~(unsigned long)(PAGE - 1);
    mprotect((void *)page, PAGE, PROT_READ | PROT_EXEC);
    unsigned slot = atomic_fetch_add(&next_slot, 1) % OPEN_PAGES;
    unsigned long closing = atomic_exchange(&open_pages[slot], page);
    if (closing != 0 && closing != page) mprotect((void *)closing, PAGE, PROT_NONE);
}

static void write_entries(const char *path) {
    char temporary[4096];
    snprintf(temporary, sizeof temporary, "%s.partial", path);
    FILE *file = fopen(temporary, "w");
    if (file == NULL) return;
    for (unsigned long offset = 0; offset < code_end - code_start; offset++) {
        if (entered[offset / 8] & (1u << (offset % 8))) fprintf(file, "%lx\n", code_start - load_address + offset);
    }
    fclose(file);
    rename(temporary, path);
}

static void *serve_requests(void *argument) {
    const char *path = argument;
    char request[4096];
    snprintf(request, sizeof request, "%s.request", path);
    for (;;) {
        if (access(request, F_OK) == 0) {
            write_entries(path);
            unlink(request);
        }
        usleep(20 * 1000);
    }
    return NULL;
}

__attribute__((constructor)) static void start_tracing(void) {
    const char *output = getenv("SAMSA_TRACE_OUT");
    if (output == NULL) return;
    char executable[4096];
    ssize_t length = readlink("/proc/self/exe", executable, sizeof executable - 1);
    if (length < 0) return;
    executable[length] = 0;
    FILE *maps = fopen("/proc/self/maps", "r");
    if (maps == NULL) return;
    char line[8192];
    while (fgets(line, sizeof line, maps)) {
        unsigned long start, end, file_offset;
        char permissions[8], path[4096] = "";
        if (sscanf(line, "%lx-%lx %7s %lx %*s %*s %4095s", &start, &end, permissions, &file_offset, path) < 4) continue;
        if (strcmp(path, executable) != 0) continue;
        if (load_address == 0) load_address = start - file_offset;
        if (permissions[2] == 'x') {
            code_start = start;
            code_end = end;
        }
    }
    fclose(maps);
    if (code_start == 0) return;
    entered = calloc((code_end - code_start) / 8 + 1, 1);
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = on_fault;
    action.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigaction(SIGSEGV, &action, NULL);
    pthread_t thread;
    pthread_create(&thread, NULL, serve_requests, strdup(output));
    pthread_detach(thread);
    mprotect((void *)code_start, code_end - code_start, PROT_NONE);
}

/*
 * The physical bounds of this machine for scripts/bench-broker.py, measured in the same run as
 * the broker: loopback TCP throughput, sequential 1 MiB writes with and without fdatasync, and
 * the latency of fdatasync after a 4 KiB write. Built with `cc -O2 physical.c`.
 *
 *   physical loopback MIB [CC]     prints MB/s through one loopback TCP connection
 *   physical sendfile PATH MIB [CC]
 *                                  prints MB/s of a cached MIB MiB file sent with sendfile(2)
 *                                  through one loopback TCP connection (a consume's bound)
 *
 * CC names the sender's TCP congestion control (TCP_CONGESTION), as the broker chooses "cubic"
 * for loopback connections where the system's default is BBR, which paces its sends; without
 * it the system's default is used.
 *   physical write PATH MIB SYNC   prints MB/s of 1 MiB writes (SYNC 1: fdatasync after each)
 *   physical fdatasync PATH COUNT  prints the p50 and p99 of write(4 KiB) + fdatasync in ms
 *   physical groupcommit PATH RATE SECONDS KIB
 *                                  appends KIB KiB RATE times a second, paced, while one
 *                                  flusher thread fdatasyncs whatever was appended since its last
 *                                  round (a durable produce's group commit without a broker);
 *                                  prints the p50, p99 and p99.9 of append to durable in ms
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <pthread.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Sets the congestion control of a socket when one is named; exits on failure. */
static void congestion(int socket, const char *algorithm) {
    if (algorithm && setsockopt(socket, IPPROTO_TCP, TCP_CONGESTION, algorithm, strlen(algorithm))) {
        perror("TCP_CONGESTION");
        _exit(1);
    }
}

static int loopback(long mib, const char *algorithm) {
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t length = sizeof address;
    if (bind(listener, (struct sockaddr *)&address, sizeof address) || listen(listener, 1)) return 1;
    getsockname(listener, (struct sockaddr *)&address, &length);
    static char buffer[1 << 20];
    if (fork() == 0) {
        int client = socket(AF_INET, SOCK_STREAM, 0);
        congestion(client, algorithm);
        if (connect(client, (struct sockaddr *)&address, sizeof address)) _exit(1);
        for (long i = 0; i < mib; i++) {
            for (size_t sent = 0; sent < sizeof buffer;) {
                ssize_t n = write(client, buffer + sent, sizeof buffer - sent);
                if (n <= 0) _exit(1);
                sent += (size_t)n;
            }
        }
        close(client);
        _exit(0);
    }
    int server = accept(listener, NULL, NULL);
    double start = now();
    long total = 0;
    ssize_t n;
    while ((n = read(server, buffer, sizeof buffer)) > 0) total += n;
    double seconds = now() - start;
    wait(NULL);
    printf("%.1f\n", total / seconds / 1e6);
    return 0;
}

/* The file is written and read once first, so it is in the page cache as a backlog is. */
static int send_file(const char *path, long mib, const char *algorithm) {
    static char buffer[1 << 20];
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return 1;
    for (long i = 0; i < mib; i++)
        if (write(fd, buffer, sizeof buffer) != (ssize_t)sizeof buffer) return 1;
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t length = sizeof address;
    if (bind(listener, (struct sockaddr *)&address, sizeof address) || listen(listener, 1)) return 1;
    getsockname(listener, (struct sockaddr *)&address, &length);
    if (fork() == 0) {
        int client = socket(AF_INET, SOCK_STREAM, 0);
        congestion(client, algorithm);
        if (connect(client, (struct sockaddr *)&address, sizeof address)) _exit(1);
        off_t offset = 0;
        while (offset < (off_t)mib << 20)
            if (sendfile(client, fd, &offset, 16 << 20) <= 0) _exit(1);
        close(client);
        _exit(0);
    }
    int server = accept(listener, NULL, NULL);
    double start = now();
    long total = 0;
    ssize_t n;
    while ((n = read(server, buffer, sizeof buffer)) > 0) total += n;
    double seconds = now() - start;
    wait(NULL);
    close(fd);
    unlink(path);
    printf("%.1f\n", total / seconds / 1e6);
    return 0;
}

static int sequential(const char *path, long mib, int sync) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return 1;
    static char buffer[1 << 20];
    memset(buffer, 'x', sizeof buffer);
    double start = now();
    for (long i = 0; i < mib; i++) {
        if (write(fd, buffer, sizeof buffer) != (ssize_t)sizeof buffer) return 1;
        if (sync) fdatasync(fd);
    }
    if (!sync) fdatasync(fd);
    double seconds = now() - start;
    close(fd);
    unlink(path);
    printf("%.1f\n", mib * (double)(1 << 20) / seconds / 1e6);
    return 0;
}

static int compare(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int latency(const char *path, int count) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return 1;
    char block[4096];
    memset(block, 'x', sizeof block);
    double *times = malloc(sizeof(double) * count);
    for (int i = 0; i < count; i++) {
        double start = now();
        if (write(fd, block, sizeof block) != (ssize_t)sizeof block) return 1;
        fdatasync(fd);
        times[i] = (now() - start) * 1000;
    }
    qsort(times, count, sizeof(double), compare);
    printf("%.3f %.3f\n", times[count / 2], times[count * 99 / 100]);
    close(fd);
    unlink(path);
    free(times);
    return 0;
}

/* groupcommit: the appender and the flusher share these under `lock`. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t appended_more = PTHREAD_COND_INITIALIZER;
static long appended = 0, appends = 0;
static int group_fd;
static double *appended_at, *durable_after;

static void *flush_rounds(void *unused) {
    (void)unused;
    long durable = 0;
    while (durable < appends) {
        pthread_mutex_lock(&lock);
        while (appended == durable) pthread_cond_wait(&appended_more, &lock);
        long target = appended;
        pthread_mutex_unlock(&lock);
        fdatasync(group_fd);
        double done = now();
        for (long i = durable; i < target; i++) durable_after[i] = (done - appended_at[i]) * 1000;
        durable = target;
    }
    return NULL;
}

static int group_commit(const char *path, long rate, double seconds, int kib) {
    group_fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
    if (group_fd < 0) return 1;
    appends = (long)(rate * seconds);
    appended_at = calloc(appends, sizeof(double));
    durable_after = calloc(appends, sizeof(double));
    size_t size = (size_t)kib * 1024;
    char *block = malloc(size);
    memset(block, 'x', size);
    pthread_t flusher;
    pthread_create(&flusher, NULL, flush_rounds, NULL);
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (long i = 0; i < appends; i++) {
        long long due = start.tv_sec * 1000000000LL + start.tv_nsec + i * 1000000000LL / rate;
        struct timespec at = {.tv_sec = due / 1000000000LL, .tv_nsec = due % 1000000000LL};
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at, NULL);
        appended_at[i] = now();
        if (write(group_fd, block, size) != (ssize_t)size) return 1;
        pthread_mutex_lock(&lock);
        appended = i + 1;
        pthread_cond_signal(&appended_more);
        pthread_mutex_unlock(&lock);
    }
    pthread_join(flusher, NULL);
    qsort(durable_after, appends, sizeof(double), compare);
    printf("%.3f %.3f %.3f\n", durable_after[appends / 2], durable_after[appends * 99 / 100], durable_after[appends * 999 / 1000]);
    close(group_fd);
    unlink(path);
    free(block);
    free(appended_at);
    free(durable_after);
    return 0;
}

int main(int argc, char **argv) {
    if (argc >= 3 && strcmp(argv[1], "loopback") == 0) return loopback(atol(argv[2]), argc >= 4 ? argv[3] : NULL);
    if (argc >= 4 && strcmp(argv[1], "sendfile") == 0) return send_file(argv[2], atol(argv[3]), argc >= 5 ? argv[4] : NULL);
    if (argc >= 5 && strcmp(argv[1], "write") == 0) return sequential(argv[2], atol(argv[3]), atoi(argv[4]));
    if (argc >= 4 && strcmp(argv[1], "fdatasync") == 0) return latency(argv[2], atoi(argv[3]));
    if (argc >= 6 && strcmp(argv[1], "groupcommit") == 0)
        return group_commit(argv[2], atol(argv[3]), atof(argv[4]), atoi(argv[5]));
    fprintf(stderr, "usage: physical loopback MIB [CC] | sendfile PATH MIB [CC] | write PATH MIB SYNC | fdatasync PATH COUNT"
                    " | groupcommit PATH RATE SECONDS KIB\n");
    return 2;
}

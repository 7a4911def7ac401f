/*
 * The broker's fetch path without a client's per-record work: Fetch v4 requests for partitions
 * 0..<PARTITIONS of TOPIC on one connection, each partition asked for up to PARTITION_MAX_BYTES
 * from the offset after the last complete batch of its previous answer (the request's own limit
 * is 50 MiB, librdkafka's fetch.max.bytes), until COUNT records were fetched in all. Answers are
 * read into one reused buffer and only batch headers are looked at, so the figure is what the
 * broker serves, bounded by loopback TCP. Prints "records bytes seconds" on one line.
 * Built with `cc -O2 fetch-bench.c`.
 *
 *   fetch-bench HOST PORT TOPIC COUNT [PARTITION_MAX_BYTES] [PARTITIONS]
 *
 * PARTITION_MAX_BYTES defaults to 1 MiB, the max.partition.fetch.bytes of librdkafka, the Java
 * client and kafka-python; PARTITIONS to 1.
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void fail(const char *what) {
    perror(what);
    exit(2);
}

static void put16(unsigned char **p, int16_t v) { uint16_t n = htons((uint16_t)v); memcpy(*p, &n, 2); *p += 2; }
static void put32(unsigned char **p, int32_t v) { uint32_t n = htonl((uint32_t)v); memcpy(*p, &n, 4); *p += 4; }
static void put64(unsigned char **p, int64_t v) { put32(p, (int32_t)(v >> 32)); put32(p, (int32_t)v); }
static void putstr(unsigned char **p, const char *s) { size_t n = strlen(s); put16(p, (int16_t)n); memcpy(*p, s, n); *p += n; }
static int32_t get32(const unsigned char *p) { uint32_t n; memcpy(&n, p, 4); return (int32_t)ntohl(n); }
static int16_t get16(const unsigned char *p) { uint16_t n; memcpy(&n, p, 2); return (int16_t)ntohs(n); }
static int64_t get64(const unsigned char *p) { return ((int64_t)get32(p) << 32) | (uint32_t)get32(p + 4); }

static void read_fully(int fd, unsigned char *buffer, size_t size) {
    size_t done = 0;
    while (done < size) {
        ssize_t n = read(fd, buffer + done, size - done);
        if (n <= 0) fail("read");
        done += (size_t)n;
    }
}

int main(int argc, char **argv) {
    if (argc < 5) {
        fprintf(stderr, "usage: fetch-bench HOST PORT TOPIC COUNT [PARTITION_MAX_BYTES] [PARTITIONS]\n");
        return 2;
    }
    const char *topic = argv[3];
    long count = atol(argv[4]);
    int32_t partition_max_bytes = argc > 5 ? atoi(argv[5]) : 1 << 20;
    int32_t partitions = argc > 6 ? atoi(argv[6]) : 1;
    int32_t max_bytes = 50 << 20;
    if (partitions < 1 || partitions > 1000) { fprintf(stderr, "PARTITIONS must be 1 to 1000\n"); return 2; }
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *address;
    if (getaddrinfo(argv[1], argv[2], &hints, &address) != 0) fail("getaddrinfo");
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, address->ai_addr, address->ai_addrlen) != 0) fail("connect");
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    size_t capacity = (size_t)max_bytes + (size_t)partition_max_bytes + (1 << 20);
    unsigned char *answer = malloc(capacity), *request = malloc(256 + (size_t)partitions * 16 + strlen(topic));
    int64_t *offsets = calloc((size_t)partitions, sizeof(int64_t)), fetched = 0, bytes = 0;
    double start = now();
    for (int32_t correlation = 1; fetched < count; correlation++) {
        unsigned char *p = request + 4;
        put16(&p, 1);             /* Fetch */
        put16(&p, 4);             /* v4 */
        put32(&p, correlation);
        putstr(&p, "fetch-bench");
        put32(&p, -1);            /* replica id: a consumer */
        put32(&p, 500);           /* max wait ms */
        put32(&p, 1);             /* min bytes */
        put32(&p, max_bytes);     /* max bytes */
        p[0] = 0; p += 1;         /* read_uncommitted */
        put32(&p, 1);
        putstr(&p, topic);
        put32(&p, partitions);
        for (int32_t partition = 0; partition < partitions; partition++) {
            put32(&p, partition);
            put64(&p, offsets[partition]);
            put32(&p, partition_max_bytes);
        }
        unsigned char *size_field = request;
        put32(&size_field, (int32_t)(p - request - 4));
        if (write(fd, request, (size_t)(p - request)) != p - request) fail("write");
        unsigned char header[4];
        read_fully(fd, header, 4);
        size_t size = (size_t)get32(header);
        if (size > capacity) { fprintf(stderr, "answer of %zu bytes is larger than the buffer\n", size); return 2; }
        read_fully(fd, answer, size);
        /* correlation, throttle, topic count, topic name, partition count. */
        const unsigned char *q = answer + 4 + 4 + 4;
        q += 2 + get16(q);
        int32_t answered = get32(q);
        q += 4;
        for (int32_t i = 0; i < answered; i++) {
            /* index, error, hw, lso, aborted transactions, records. */
            int32_t partition = get32(q);
            int16_t error = get16(q + 4);
            if (error != 0 || partition < 0 || partition >= partitions) { fprintf(stderr, "Fetch error %d on partition %d\n", error, partition); return 1; }
            q += 4 + 2 + 8 + 8;
            int32_t aborted = get32(q);
            q += 4 + (aborted > 0 ? aborted * 16 : 0);
            int32_t records_size = get32(q);
            q += 4;
            const unsigned char *end = q + (records_size > 0 ? records_size : 0);
            while (end - q >= 61) {
                int64_t base = get64(q);
                int32_t length = get32(q + 8);
                if (end - q < 12 + length) break; /* a partial batch at the end of the answer */
                int64_t next = base + get32(q + 23) + 1;
                fetched += next - offsets[partition];
                offsets[partition] = next;
                bytes += 12 + length;
                q += 12 + length;
            }
            q = end;
        }
    }
    double seconds = now() - start;
    printf("%lld %lld %.6f\n", (long long)fetched, (long long)bytes, seconds);
    close(fd);
    return 0;
}

/*
 * The librdkafka reference load for scripts/bench-client.sh and scripts/bench-broker.py:
 * produces COUNT records of SIZE bytes round-robin over partitions 0..<PARTITIONS (default 1) of
 * TOPIC, or consumes COUNT records from partition 0, and prints "records seconds" on one line.
 * BROKERS "mock" runs against librdkafka's in-process mock cluster (the generator's own
 * ceiling), its topic created with PARTITIONS partitions. Built with
 * `cc -O2 rdkafka-bench.c -lrdkafka`. RDKAFKA_CONFIG="key=value,..." adds librdkafka properties
 * (security.protocol, ssl.ca.location...) to both.
 *
 *   rdkafka-bench produce BROKERS TOPIC COUNT SIZE ACKS [PARTITIONS]
 *   rdkafka-bench consume BROKERS TOPIC COUNT
 *   rdkafka-bench e2e BROKERS TOPIC RATE SECONDS
 *   rdkafka-bench pace BROKERS TOPIC RATE SECONDS
 *
 * e2e produces RATE records of 1 KiB per second for SECONDS (acks=all, idempotent, linger.ms 0)
 * to partition 0 while a consumer in the same process reads them, and prints the p50, p99 and
 * p99.9 of send-to-receive latency in ms over the records after the first second. With BROKERS
 * "mock" both run against one librdkafka mock cluster: the generator's own floor. (Debian
 * bookworm's librdkafka 2.0.2 mock answers a fetch at the log's end with OFFSET_OUT_OF_RANGE,
 * so there the consumer receives nothing and e2e against "mock" fails.)
 *
 * pace is e2e's producer alone: it prints "pacing" once connected, then sends the same records
 * at the same rate and prints the percentiles of send to delivery report. Against "mock" it puts
 * the generator's own load on the machine, so that what runs beside it (scripts/bench-broker.py's
 * group commit) meets the CPUs as busy as during an e2e run.
 */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static long failed = 0;

static void set(rd_kafka_conf_t *conf, const char *key, const char *value);

/* The properties of $RDKAFKA_CONFIG: "key=value,key=value". */
static void set_from_environment(rd_kafka_conf_t *conf) {
    const char *text = getenv("RDKAFKA_CONFIG");
    if (!text || !*text) return;
    char *copy = strdup(text), *saved = NULL;
    for (char *pair = strtok_r(copy, ",", &saved); pair; pair = strtok_r(NULL, ",", &saved)) {
        char *equals = strchr(pair, '=');
        if (!equals) { fprintf(stderr, "RDKAFKA_CONFIG: expected key=value, got %s\n", pair); exit(2); }
        *equals = 0;
        set(conf, pair, equals + 1);
    }
    free(copy);
}

static long long monotonic_ns(void);

/* e2e: when each record was sent and when its delivery report came, by record index. */
static long long *sent_at = NULL;
static double *acked_after = NULL;

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *message, void *opaque) {
    (void)rk;
    (void)opaque;
    if (message->err) failed++;
    if (acked_after && message->_private) {
        long index = (long)(intptr_t)message->_private - 1;
        acked_after[index] = (monotonic_ns() - sent_at[index]) / 1e6;
    }
}

static void set(rd_kafka_conf_t *conf, const char *key, const char *value) {
    char error[256];
    if (rd_kafka_conf_set(conf, key, value, error, sizeof error) != RD_KAFKA_CONF_OK) {
        fprintf(stderr, "%s: %s\n", key, error);
        exit(2);
    }
}

static int produce(const char *brokers, const char *topic, long count, int size, const char *acks, int partitions) {
    char error[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (strcmp(brokers, "mock") == 0) {
        set(conf, "test.mock.num.brokers", "1");
    } else {
        set(conf, "bootstrap.servers", brokers);
    }
    set(conf, "acks", acks);
    set(conf, "enable.idempotence", strcmp(acks, "all") == 0 || strcmp(acks, "-1") == 0 ? "true" : "false");
    set(conf, "linger.ms", "5");
    set(conf, "batch.size", "1000000");
    set(conf, "queue.buffering.max.messages", "1000000");
    set_from_environment(conf);
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_t *producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof error);
    if (!producer) { fprintf(stderr, "%s\n", error); return 2; }
    if (strcmp(brokers, "mock") == 0) {
        /* The mock would create the topic on first use with its default partition count. */
        rd_kafka_mock_topic_create(rd_kafka_handle_mock_cluster(producer), topic, partitions, 1);
    }
    char *value = malloc(size);
    memset(value, 'x', size);
    double start = now();
    for (long i = 0; i < count; i++) {
        while (rd_kafka_producev(producer, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION((int32_t)(i % partitions)),
                                 RD_KAFKA_V_VALUE(value, size), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END)
               == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            rd_kafka_poll(producer, 1);
        }
        rd_kafka_poll(producer, 0);
    }
    rd_kafka_flush(producer, 120000);
    double seconds = now() - start;
    printf("%ld %.6f\n", count - failed, seconds);
    rd_kafka_destroy(producer);
    free(value);
    return failed ? 1 : 0;
}

static int consume(const char *brokers, const char *topic, long count) {
    char error[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    set_from_environment(conf);
    set(conf, "bootstrap.servers", brokers);
    set(conf, "group.id", "rdkafka-bench");
    set(conf, "enable.auto.commit", "false");
    rd_kafka_t *consumer = rd_kafka_new(RD_KAFKA_CONSUMER, conf, error, sizeof error);
    if (!consumer) { fprintf(stderr, "%s\n", error); return 2; }
    rd_kafka_topic_partition_list_t *partitions = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(partitions, topic, 0)->offset = RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_assign(consumer, partitions);
    long read = 0;
    double start = now();
    while (read < count) {
        rd_kafka_message_t *message = rd_kafka_consumer_poll(consumer, 1000);
        if (!message) continue;
        if (!message->err) read++;
        rd_kafka_message_destroy(message);
    }
    double seconds = now() - start;
    printf("%ld %.6f\n", read, seconds);
    rd_kafka_topic_partition_list_destroy(partitions);
    rd_kafka_consumer_close(consumer);
    rd_kafka_destroy(consumer);
    return 0;
}

static long long monotonic_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

struct latency_consumer {
    rd_kafka_t *consumer;
    long expected, received;
    double *latencies; /* ms, by record index */
    volatile int stop;
};

static void *consume_latencies(void *context) {
    struct latency_consumer *state = context;
    while (!state->stop && state->received < state->expected) {
        rd_kafka_message_t *message = rd_kafka_consumer_poll(state->consumer, 100);
        if (!message) continue;
        if (!message->err && message->len >= 16) {
            long long sent, index;
            memcpy(&sent, message->payload, 8);
            memcpy(&index, (char *)message->payload + 8, 8);
            if (index >= 0 && index < state->expected) {
                state->latencies[index] = (monotonic_ns() - sent) / 1e6;
                state->received++;
            }
        }
        rd_kafka_message_destroy(message);
    }
    return NULL;
}

static int compare_doubles(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Sorts `values` and prints their p50, p99 and p99.9 between `before` and `after`. */
static void print_percentiles(FILE *out, const char *before, double *values, long count, const char *after) {
    qsort(values, (size_t)count, sizeof(double), compare_doubles);
    fprintf(out, "%s%.3f %.3f %.3f%s", before, values[count / 2], values[count * 99 / 100], values[count * 999 / 1000], after);
}

/* Produces `count` records of 1 KiB to partition 0 of `topic`, `rate` a second, starting in
 * 0.2 s (a consumer's first fetch is then under way); each carries its send time and index. */
static void produce_paced(rd_kafka_t *producer, const char *topic, long rate, long count) {
    char value[1024];
    memset(value, 'x', sizeof value);
    long long start = monotonic_ns() + 200000000LL;
    for (long i = 0; i < count; i++) {
        long long due = start + i * 1000000000LL / rate;
        struct timespec at = {.tv_sec = due / 1000000000LL, .tv_nsec = due % 1000000000LL};
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at, NULL);
        long long sent = monotonic_ns();
        long long index = i;
        memcpy(value, &sent, 8);
        memcpy(value + 8, &index, 8);
        sent_at[i] = sent;
        while (rd_kafka_producev(producer, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(0), RD_KAFKA_V_VALUE(value, sizeof value),
                                 RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_OPAQUE((void *)(intptr_t)(i + 1)),
                                 RD_KAFKA_V_END) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
            rd_kafka_poll(producer, 1);
        rd_kafka_poll(producer, 0);
    }
}

/* e2e, or with `consume` 0 its producer alone (pace). */
static int end_to_end(const char *brokers, const char *topic, long rate, long seconds, int consume) {
    char error[256], bootstraps[256];
    rd_kafka_t *mock_owner = NULL;
    rd_kafka_mock_cluster_t *cluster = NULL;
    if (strcmp(brokers, "mock") == 0) {
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        mock_owner = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof error);
        if (!mock_owner) { fprintf(stderr, "%s\n", error); return 2; }
        cluster = rd_kafka_mock_cluster_new(mock_owner, 1);
        rd_kafka_mock_topic_create(cluster, topic, 1, 1);
        snprintf(bootstraps, sizeof bootstraps, "%s", rd_kafka_mock_cluster_bootstraps(cluster));
        brokers = bootstraps;
    }
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    set(conf, "bootstrap.servers", brokers);
    set(conf, "acks", "all");
    set(conf, "enable.idempotence", "true");
    set(conf, "linger.ms", "0");
    set_from_environment(conf);
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_t *producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof error);
    if (!producer) { fprintf(stderr, "%s\n", error); return 2; }
    long count = rate * seconds;
    sent_at = calloc((size_t)count, sizeof(long long));
    acked_after = calloc((size_t)count, sizeof(double));
    struct latency_consumer state = {.expected = count};
    pthread_t thread;
    if (consume) {
        conf = rd_kafka_conf_new();
        set(conf, "bootstrap.servers", brokers);
        set(conf, "group.id", "rdkafka-bench-e2e");
        set(conf, "enable.auto.commit", "false");
        set(conf, "fetch.wait.max.ms", "100");
        set_from_environment(conf);
        state.consumer = rd_kafka_new(RD_KAFKA_CONSUMER, conf, error, sizeof error);
        if (!state.consumer) { fprintf(stderr, "%s\n", error); return 2; }
        rd_kafka_topic_partition_list_t *partitions = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(partitions, topic, 0)->offset = RD_KAFKA_OFFSET_BEGINNING;
        rd_kafka_assign(state.consumer, partitions);
        rd_kafka_topic_partition_list_destroy(partitions);
        state.latencies = calloc((size_t)count, sizeof(double));
        pthread_create(&thread, NULL, consume_latencies, &state);
    } else {
        printf("pacing\n");
        fflush(stdout);
    }
    produce_paced(producer, topic, rate, count);
    rd_kafka_flush(producer, 120000);
    if (consume) {
        long long deadline = monotonic_ns() + 30000000000LL;
        while (state.received < count && monotonic_ns() < deadline) rd_kafka_poll(producer, 100);
        state.stop = 1;
        pthread_join(thread, NULL);
    }
    /* The first second warms up connections and metadata. */
    long skip = rate < count ? rate : 0, measured = count - skip;
    int status = 0;
    if (consume && state.received < count) {
        fprintf(stderr, "received %ld of %ld records\n", state.received, count);
        status = 1;
    }
    if (failed) {
        fprintf(stderr, "%ld failed deliveries\n", failed);
        status = 1;
    }
    if (status == 0 && consume) {
        print_percentiles(stdout, "", state.latencies + skip, measured, "\n");
        /* The producer's part: send to delivery report, on stderr so that stdout stays one line. */
        print_percentiles(stderr, "delivery report after p50/p99/p99.9 ", acked_after + skip, measured, " ms\n");
    } else if (status == 0) {
        print_percentiles(stdout, "", acked_after + skip, measured, "\n");
    }
    if (consume) {
        rd_kafka_consumer_close(state.consumer);
        rd_kafka_destroy(state.consumer);
    }
    rd_kafka_destroy(producer);
    if (cluster) rd_kafka_mock_cluster_destroy(cluster);
    if (mock_owner) rd_kafka_destroy(mock_owner);
    free(state.latencies);
    free(sent_at);
    free(acked_after);
    sent_at = NULL;
    acked_after = NULL;
    return status;
}

int main(int argc, char **argv) {
    if (argc >= 7 && strcmp(argv[1], "produce") == 0)
        return produce(argv[2], argv[3], atol(argv[4]), atoi(argv[5]), argv[6], argc >= 8 ? atoi(argv[7]) : 1);
    if (argc >= 5 && strcmp(argv[1], "consume") == 0) return consume(argv[2], argv[3], atol(argv[4]));
    if (argc >= 6 && strcmp(argv[1], "e2e") == 0) return end_to_end(argv[2], argv[3], atol(argv[4]), atol(argv[5]), 1);
    if (argc >= 6 && strcmp(argv[1], "pace") == 0) return end_to_end(argv[2], argv[3], atol(argv[4]), atol(argv[5]), 0);
    fprintf(stderr, "usage: rdkafka-bench produce BROKERS TOPIC COUNT SIZE ACKS [PARTITIONS] | consume BROKERS TOPIC COUNT | e2e BROKERS TOPIC RATE SECONDS | pace BROKERS TOPIC RATE SECONDS\n");
    return 2;
}

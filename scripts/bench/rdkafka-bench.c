/*
 * The librdkafka reference load for scripts/bench-client.sh and scripts/bench-broker.sh:
 * produces COUNT records of SIZE bytes round-robin over partitions 0..<PARTITIONS (default 1) of
 * TOPIC, or consumes COUNT records from partition 0, and prints "records seconds" on one line.
 * BROKERS "mock" runs against librdkafka's in-process mock cluster (the generator's own
 * ceiling). Built with `cc -O2 rdkafka-bench.c -lrdkafka`. RDKAFKA_CONFIG="key=value,..." adds
 * librdkafka properties (security.protocol, ssl.ca.location...) to both.
 *
 *   rdkafka-bench produce BROKERS TOPIC COUNT SIZE ACKS [PARTITIONS]
 *   rdkafka-bench consume BROKERS TOPIC COUNT
 */
#include <librdkafka/rdkafka.h>
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

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *message, void *opaque) {
    (void)rk;
    (void)opaque;
    if (message->err) failed++;
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
    set_from_environment(conf);
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
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_t *producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof error);
    if (!producer) { fprintf(stderr, "%s\n", error); return 2; }
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

int main(int argc, char **argv) {
    if (argc >= 7 && strcmp(argv[1], "produce") == 0)
        return produce(argv[2], argv[3], atol(argv[4]), atoi(argv[5]), argv[6], argc >= 8 ? atoi(argv[7]) : 1);
    if (argc >= 5 && strcmp(argv[1], "consume") == 0) return consume(argv[2], argv[3], atol(argv[4]));
    fprintf(stderr, "usage: rdkafka-bench produce BROKERS TOPIC COUNT SIZE ACKS [PARTITIONS] | consume BROKERS TOPIC COUNT\n");
    return 2;
}

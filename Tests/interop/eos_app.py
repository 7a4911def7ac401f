"""A consume-transform-produce application with exactly-once semantics (confluent-kafka), run as a
child process by test_exactly_once.py so it can be killed with SIGKILL at any point.

It reads `input` (read_committed) in a consumer group with a static member id, and for each batch
runs one transaction: produce `out:<value>` with the same key to the same partition of `output`,
send the batch's offsets with `send_offsets_to_transaction`, commit. Every step is printed as one
`event ...` line on stdout, which the test uses to pick its kill points. Any error ends the
process with status 3 (the test starts it again: a restart fences the previous epoch and resumes
from the committed offsets, which is the recovery a real application does). It exits with status
0 once the group's committed offsets reach the end of every input partition.

Usage: eos_app.py BOOTSTRAP INPUT OUTPUT GROUP TRANSACTIONAL_ID BATCH_SIZE
"""

from __future__ import annotations

import os
import sys
import threading

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition

TIMEOUT = 5.0
# librdkafka's send_offsets_to_transaction can wait past its timeout when it holds a stale group
# coordinator after the broker restarted (librdkafka issues 5456 and 5511). A watchdog ends a
# transaction step that takes longer than this, as a liveness check would restart the process.
STEP_LIMIT = 6.0


class Watchdog:
    """Exits the process with status 4 unless `reset` is called at least every STEP_LIMIT seconds."""

    def __init__(self) -> None:
        self.timer: threading.Timer | None = None

    def reset(self, step: str) -> None:
        self.stop()
        self.timer = threading.Timer(STEP_LIMIT, self.expire, args=(step,))
        self.timer.daemon = True
        self.timer.start()

    def stop(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    @staticmethod
    def expire(step: str) -> None:
        sys.stderr.write(f"eos_app: {step} did not finish within {STEP_LIMIT}s\n")
        sys.stderr.flush()
        os._exit(4)


def event(text: str) -> None:
    sys.stdout.write(f"event {text}\n")
    sys.stdout.flush()


def main() -> None:
    bootstrap, source, sink, group, transactional_id, batch_size = sys.argv[1:7]
    # librdkafka's debug contexts (e.g. "cgrp,eos,fetch") to stderr, for looking into a failure.
    debug = {"debug": os.environ["EOS_APP_DEBUG"]} if os.environ.get("EOS_APP_DEBUG") else {}
    consumer = Consumer({
        **debug,
        "bootstrap.servers": bootstrap, "group.id": group, "group.instance.id": f"{group}-member",
        "isolation.level": "read_committed", "enable.auto.commit": False, "auto.offset.reset": "earliest",
        "session.timeout.ms": 10_000, "socket.timeout.ms": 10_000,
    })
    producer = Producer({
        **debug,
        "bootstrap.servers": bootstrap, "transactional.id": transactional_id, "transaction.timeout.ms": 10_000,
        "message.timeout.ms": 10_000, "socket.timeout.ms": 10_000, "linger.ms": 5,
    })
    watchdog = Watchdog()
    watchdog.reset("init_transactions")
    producer.init_transactions(TIMEOUT)
    watchdog.stop()
    event("initialized")
    metadata = consumer.list_topics(source, timeout=TIMEOUT).topics[source]
    partitions = [TopicPartition(source, index) for index in sorted(metadata.partitions)]
    ends = {tp.partition: consumer.get_watermark_offsets(tp, timeout=TIMEOUT)[1] for tp in partitions}
    consumer.subscribe([source])
    transactions = 0
    while True:
        messages = consumer.consume(num_messages=int(batch_size), timeout=0.5)
        if not messages:
            committed = consumer.committed(partitions, timeout=TIMEOUT)
            if all(tp.offset >= ends[tp.partition] for tp in committed):
                event("done")
                return
            continue
        for message in messages:
            if message.error():
                raise KafkaException(message.error())
        watchdog.reset(f"transaction {transactions}")
        producer.begin_transaction()
        event(f"begin {transactions}")
        next_offsets: dict[int, int] = {}
        for message in messages:
            producer.produce(sink, key=message.key(), value=b"out:" + message.value(), partition=message.partition())
            next_offsets[message.partition()] = message.offset() + 1
        producer.flush(TIMEOUT)
        event(f"produced {transactions} {len(messages)}")
        offsets = [TopicPartition(source, partition, offset) for partition, offset in sorted(next_offsets.items())]
        producer.send_offsets_to_transaction(offsets, consumer.consumer_group_metadata(), TIMEOUT)
        event(f"offsets {transactions}")
        producer.commit_transaction(TIMEOUT)
        event(f"committed {transactions}")
        watchdog.stop()
        transactions += 1


if __name__ == "__main__":
    try:
        main()
    except Exception as error:  # noqa: BLE001 - any failure is a crash the test recovers from
        sys.stderr.write(f"eos_app: {type(error).__name__}: {error}\n")
        sys.stderr.flush()
        os._exit(3)
    sys.stdout.flush()
    os._exit(0)  # without waiting for librdkafka's orderly close, as a killed process would not

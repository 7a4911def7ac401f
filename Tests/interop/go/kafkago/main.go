// Exercises samsa serve with kafka-go 0.2.1 (Debian's golang-github-segmentio-kafka-go-dev),
// which speaks CreateTopics v0, DeleteTopics v1, Produce v2 and Fetch v2 with magic-1 message
// sets, ListOffsets v1 and the classic group protocol. Built offline in GOPATH mode.
//
//	kafkago <bootstrap> <topic-prefix>
//
// Prints one line per check and exits 1 on the first failure.
package main

import (
	"context"
	"fmt"
	"os"
	"sort"
	"time"

	kafka "github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/gzip"
)

func fail(format string, args ...interface{}) {
	fmt.Printf("FAIL "+format+"\n", args...)
	os.Exit(1)
}

func main() {
	broker, prefix := os.Args[1], os.Args[2]
	topic := prefix + "-plain"
	compressed := prefix + "-gzip"
	conn, err := kafka.Dial("tcp", broker)
	if err != nil {
		fail("dial: %v", err)
	}
	defer conn.Close()
	if err := conn.CreateTopics(
		kafka.TopicConfig{Topic: topic, NumPartitions: 3, ReplicationFactor: 1},
		kafka.TopicConfig{Topic: compressed, NumPartitions: 1, ReplicationFactor: 1},
	); err != nil {
		fail("create topics: %v", err)
	}
	fmt.Println("ok create-topics")

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const count = 30
	var sent []kafka.Message
	for i := 0; i < count; i++ {
		sent = append(sent, kafka.Message{Key: []byte(fmt.Sprintf("key-%d", i%7)), Value: []byte(fmt.Sprintf("value-%d", i))})
	}
	writer := kafka.NewWriter(kafka.WriterConfig{Brokers: []string{broker}, Topic: topic, Balancer: &kafka.Hash{}, RequiredAcks: -1, BatchTimeout: 10 * time.Millisecond})
	if err := writer.WriteMessages(ctx, sent...); err != nil {
		fail("write: %v", err)
	}
	writer.Close()
	fmt.Println("ok write-hash-acks-all")

	// Each key landed on the partition the Hash balancer picks, in order.
	byPartition := map[int][]string{}
	for partition := 0; partition < 3; partition++ {
		reader := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{broker}, Topic: topic, Partition: partition, MinBytes: 1, MaxBytes: 1 << 20, MaxWait: 100 * time.Millisecond})
		lag, err := reader.ReadLag(ctx)
		if err != nil {
			fail("lag of partition %d: %v", partition, err)
		}
		for i := int64(0); i < lag; i++ {
			message, err := reader.ReadMessage(ctx)
			if err != nil {
				fail("read partition %d: %v", partition, err)
			}
			if message.Offset != i {
				fail("partition %d: offset %d, want %d", partition, message.Offset, i)
			}
			want := (&kafka.Hash{}).Balance(kafka.Message{Key: message.Key}, 0, 1, 2)
			if want != partition {
				fail("key %s on partition %d, the Hash balancer picks %d", message.Key, partition, want)
			}
			byPartition[partition] = append(byPartition[partition], string(message.Value))
		}
		reader.Close()
	}
	var values []string
	for _, list := range byPartition {
		values = append(values, list...)
	}
	if len(values) != count {
		fail("read %d messages, sent %d", len(values), count)
	}
	sort.Strings(values)
	fmt.Println("ok read-partitions")

	gzipWriter := kafka.NewWriter(kafka.WriterConfig{Brokers: []string{broker}, Topic: compressed, CompressionCodec: gzip.NewCompressionCodec(), BatchTimeout: 10 * time.Millisecond})
	if err := gzipWriter.WriteMessages(ctx, sent[:10]...); err != nil {
		fail("gzip write: %v", err)
	}
	gzipWriter.Close()
	reader := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{broker}, Topic: compressed, Partition: 0, MinBytes: 1, MaxBytes: 1 << 20, MaxWait: 100 * time.Millisecond})
	for i := 0; i < 10; i++ {
		message, err := reader.ReadMessage(ctx)
		if err != nil {
			fail("gzip read: %v", err)
		}
		if string(message.Value) != string(sent[i].Value) || message.Offset != int64(i) {
			fail("gzip message %d: %q at %d", i, message.Value, message.Offset)
		}
	}
	reader.Close()
	fmt.Println("ok gzip")

	group := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{broker}, Topic: topic, GroupID: prefix + "-group", MinBytes: 1, MaxBytes: 1 << 20, MaxWait: 100 * time.Millisecond, HeartbeatInterval: time.Second, SessionTimeout: 10 * time.Second})
	seen := map[string]bool{}
	for len(seen) < count {
		message, err := group.ReadMessage(ctx)
		if err != nil {
			fail("group read after %d: %v", len(seen), err)
		}
		seen[string(message.Value)] = true
	}
	group.Close()
	fmt.Println("ok group")

	if err := conn.DeleteTopics(compressed); err != nil {
		fail("delete topics: %v", err)
	}
	fmt.Println("ok delete-topics")
}

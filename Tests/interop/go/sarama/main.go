// Exercises samsa serve with sarama 1.22 (Debian's golang-github-shopify-sarama-dev), built
// offline in GOPATH mode.
//
//	sarama <bootstrap> <topic-prefix> <kafka-version>
//
// With 1.0.0 or later: ClusterAdmin (create, list, describe configs, describe cluster, consumer
// group offsets, delete), a compressed keyed SyncProducer, a partition consumer and a consumer
// group with offset commits (sarama itself needs 1.0.0 for DescribeConfigs). With 0.8.2.0 (Produce v0, Fetch v0, OffsetCommit v1, Metadata
// v0): produce, consume and the offset manager. Prints one line per check, exits 1 on failure.
package main

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/Shopify/sarama"
)

const count = 30

func fail(format string, args ...interface{}) {
	fmt.Printf("FAIL "+format+"\n", args...)
	os.Exit(1)
}

func config(version sarama.KafkaVersion) *sarama.Config {
	c := sarama.NewConfig()
	c.Version = version
	c.ClientID = "sarama-interop"
	c.Producer.RequiredAcks = sarama.WaitForAll
	c.Producer.Return.Successes = true
	c.Producer.Partitioner = sarama.NewHashPartitioner
	c.Consumer.Offsets.Initial = sarama.OffsetOldest
	c.Consumer.Return.Errors = true
	c.Metadata.Retry.Backoff = 100 * time.Millisecond
	return c
}

func produce(brokers []string, c *sarama.Config, topic string, codec sarama.CompressionCodec) {
	c.Producer.Compression = codec
	producer, err := sarama.NewSyncProducer(brokers, c)
	if err != nil {
		fail("producer: %v", err)
	}
	defer producer.Close()
	for i := 0; i < count; i++ {
		message := &sarama.ProducerMessage{Topic: topic, Key: sarama.StringEncoder(fmt.Sprintf("key-%d", i%7)), Value: sarama.StringEncoder(fmt.Sprintf("value-%d", i))}
		if _, _, err := producer.SendMessage(message); err != nil {
			fail("send %d: %v", i, err)
		}
	}
	fmt.Println("ok produce", codec)
}

// consumeAll reads every partition from the oldest offset and returns the values by partition.
func consumeAll(brokers []string, c *sarama.Config, topic string) map[int32][]string {
	consumer, err := sarama.NewConsumer(brokers, c)
	if err != nil {
		fail("consumer: %v", err)
	}
	defer consumer.Close()
	partitions, err := consumer.Partitions(topic)
	if err != nil {
		fail("partitions: %v", err)
	}
	client, err := sarama.NewClient(brokers, c)
	if err != nil {
		fail("client: %v", err)
	}
	defer client.Close()
	result := map[int32][]string{}
	for _, partition := range partitions {
		end, err := client.GetOffset(topic, partition, sarama.OffsetNewest)
		if err != nil {
			fail("newest offset of %d: %v", partition, err)
		}
		if end == 0 {
			continue
		}
		pc, err := consumer.ConsumePartition(topic, partition, sarama.OffsetOldest)
		if err != nil {
			fail("consume %d: %v", partition, err)
		}
		for message := range pc.Messages() {
			result[partition] = append(result[partition], string(message.Value))
			if message.Offset+1 >= end {
				break
			}
		}
		pc.Close()
	}
	return result
}

func checkAll(values map[int32][]string) {
	total := 0
	for _, list := range values {
		total += len(list)
	}
	if total != count {
		fail("consumed %d messages, produced %d", total, count)
	}
}

type handler struct {
	mu   sync.Mutex
	seen map[string]bool
	done chan struct{}
	once sync.Once
}

func (h *handler) Setup(sarama.ConsumerGroupSession) error   { return nil }
func (h *handler) Cleanup(sarama.ConsumerGroupSession) error { return nil }
func (h *handler) ConsumeClaim(session sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	for message := range claim.Messages() {
		session.MarkMessage(message, "")
		h.mu.Lock()
		h.seen[string(message.Value)] = true
		if len(h.seen) == count {
			h.once.Do(func() { close(h.done) })
		}
		h.mu.Unlock()
	}
	return nil
}

func modern(brokers []string, prefix string, version sarama.KafkaVersion) {
	topic := prefix + "-events"
	admin, err := sarama.NewClusterAdmin(brokers, config(version))
	if err != nil {
		fail("cluster admin: %v", err)
	}
	defer admin.Close()
	retention := "3600000"
	if err := admin.CreateTopic(topic, &sarama.TopicDetail{NumPartitions: 3, ReplicationFactor: 1, ConfigEntries: map[string]*string{"retention.ms": &retention}}, false); err != nil {
		fail("create topic: %v", err)
	}
	topics, err := admin.ListTopics()
	if err != nil || topics[topic].NumPartitions != 3 {
		fail("list topics: %v %+v", err, topics[topic])
	}
	entries, err := admin.DescribeConfig(sarama.ConfigResource{Type: sarama.TopicResource, Name: topic})
	if err != nil {
		fail("describe config: %v", err)
	}
	found := false
	for _, entry := range entries {
		if entry.Name == "retention.ms" && entry.Value == retention && !entry.Default {
			found = true
		}
	}
	if !found {
		fail("describe config: retention.ms=%s not among %d entries", retention, len(entries))
	}
	brokersFound, _, err := admin.DescribeCluster()
	if err != nil || len(brokersFound) != 1 {
		fail("describe cluster: %v", err)
	}
	fmt.Println("ok admin")

	produce(brokers, config(version), topic, sarama.CompressionSnappy)
	checkAll(consumeAll(brokers, config(version), topic))
	fmt.Println("ok consume")

	group := prefix + "-group"
	c := config(version)
	c.Consumer.Offsets.CommitInterval = 100 * time.Millisecond
	consumerGroup, err := sarama.NewConsumerGroup(brokers, group, c)
	if err != nil {
		fail("consumer group: %v", err)
	}
	h := &handler{seen: map[string]bool{}, done: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for ctx.Err() == nil {
			if err := consumerGroup.Consume(ctx, []string{topic}, h); err != nil && ctx.Err() == nil {
				fmt.Println("consume:", err)
				time.Sleep(100 * time.Millisecond)
			}
		}
	}()
	select {
	case <-h.done:
	case <-time.After(60 * time.Second):
		fail("consumer group saw %d of %d", len(h.seen), count)
	}
	cancel()
	consumerGroup.Close()
	offsets, err := admin.ListConsumerGroupOffsets(group, map[string][]int32{topic: {0, 1, 2}})
	if err != nil {
		fail("group offsets: %v", err)
	}
	var committed int64
	for _, block := range offsets.Blocks[topic] {
		committed += block.Offset
	}
	if committed != count {
		fail("committed offsets sum to %d, want %d", committed, count)
	}
	groups, err := admin.ListConsumerGroups()
	if err != nil || groups[group] != "consumer" {
		fail("list groups: %v %v", err, groups)
	}
	fmt.Println("ok consumer-group")

	if err := admin.DeleteTopic(topic); err != nil {
		fail("delete topic: %v", err)
	}
	fmt.Println("ok delete-topic")
}

func legacy(brokers []string, prefix string) {
	topic := prefix + "-legacy"
	c := config(sarama.V0_8_2_0)
	produce(brokers, c, topic, sarama.CompressionGZIP)
	values := consumeAll(brokers, config(sarama.V0_8_2_0), topic)
	checkAll(values)
	fmt.Println("ok consume")

	client, err := sarama.NewClient(brokers, config(sarama.V0_8_2_0))
	if err != nil {
		fail("client: %v", err)
	}
	defer client.Close()
	manager, err := sarama.NewOffsetManagerFromClient(prefix+"-offsets", client)
	if err != nil {
		fail("offset manager: %v", err)
	}
	pom, err := manager.ManagePartition(topic, 0)
	if err != nil {
		fail("manage partition: %v", err)
	}
	pom.MarkOffset(int64(len(values[0])), "done")
	pom.Close()
	manager.Close()
	check, _ := sarama.NewOffsetManagerFromClient(prefix+"-offsets", client)
	again, err := check.ManagePartition(topic, 0)
	if err != nil {
		fail("manage partition again: %v", err)
	}
	if offset, metadata := again.NextOffset(); offset != int64(len(values[0])) || metadata != "done" {
		fail("offset manager read back %d %q, want %d", offset, metadata, len(values[0]))
	}
	fmt.Println("ok offset-manager")
}

func main() {
	brokers := []string{os.Args[1]}
	prefix := os.Args[2]
	version, err := sarama.ParseKafkaVersion(os.Args[3])
	if err != nil {
		fail("version: %v", err)
	}
	if version.IsAtLeast(sarama.V1_0_0_0) {
		modern(brokers, prefix, version)
	} else {
		legacy(brokers, prefix)
	}
}

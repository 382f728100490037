package forward

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// consumeIDs reads the topic from the start until want distinct keys came
// or the time is up.
func consumeIDs(t *testing.T, brokers []string, topic string, want int) (distinct, total int) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	seen := map[string]bool{}
	deadline := time.Now().Add(60 * time.Second)
	for len(seen) < want && time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		fs := cl.PollFetches(ctx)
		cancel()
		fs.EachRecord(func(r *kgo.Record) {
			if !strings.Contains(string(r.Value), `"id":"`+string(r.Key)+`"`) {
				t.Errorf("record key %q is not its event.id", r.Key)
			}
			seen[string(r.Key)] = true
			total++
		})
	}
	return len(seen), total
}

func TestKafka(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(3), kfake.SeedTopics(3, "wfp"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	brokers := c.ListenAddrs()
	fw, err := Open([]string{"kafka://" + strings.Join(brokers, ",") + "/wfp"}, Options{StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	n := eventCount(t)
	for i := range n {
		if i == n/2 {
			// Restart a broker mid-stream: its partitions move, the
			// producer retries.
			node := c.LeaderFor("wfp", 0)
			if err := c.RemoveNode(node); err != nil {
				t.Fatalf("stop broker %d: %v", node, err)
			}
			c.ShufflePartitionLeaders()
			time.AfterFunc(time.Second, func() {
				if _, _, err := c.AddNode(node, 0); err != nil {
					t.Errorf("restart broker %d: %v", node, err)
				}
			})
		}
		if err := fw.Write(testEvent(i)); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if err := fw.Close(ctx); err != nil {
		t.Fatal(err)
	}
	d, total := consumeIDs(t, brokers, "wfp", n)
	t.Logf("kafka: %d distinct event.ids in %d records", d, total)
	if d != n {
		t.Fatalf("consumed %d distinct events of %d", d, n)
	}
}

func TestKafkaURL(t *testing.T) {
	for _, u := range []string{"kafka:///wfp", "kafka://b1:9092", "kafka://b1:9092/a/b"} {
		if _, err := newKafkaSender(mustURL(t, u)); err == nil {
			t.Errorf("%s accepted", u)
		}
	}
	_ = fmt.Sprint()
}

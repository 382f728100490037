package forward

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// kafkaSender produces each record to one topic through franz-go with the
// idempotent producer (franz-go's default: the brokers drop the duplicates
// of its own retries) and acks=all. The key is the event.id: the pipeline
// hands the forwarder single events, not flows, so there is no flow id at
// this point; the event.id keeps one event's retries on one partition.
// The value is the ECS JSON. A batch is acknowledged to the queue only
// when every record of it was acknowledged by the brokers.
type kafkaSender struct {
	cl    *kgo.Client
	topic string
	rs    []*kgo.Record
}

func newKafkaSender(u *url.URL) (Sender, error) {
	topic := strings.Trim(u.Path, "/")
	if u.Host == "" || topic == "" || strings.Contains(topic, "/") {
		return nil, fmt.Errorf("kafka output wants kafka://broker[,broker…]/topic")
	}
	opts := []kgo.Opt{
		kgo.SeedBrokers(strings.Split(u.Host, ",")...),
		kgo.DefaultProduceTopic(topic),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerLinger(5 * time.Millisecond),
		kgo.RecordRetries(3),
		kgo.AllowAutoTopicCreation(),
	}
	if cid := u.Query().Get("client-id"); cid != "" {
		opts = append(opts, kgo.ClientID(cid))
	} else {
		opts = append(opts, kgo.ClientID("wfpwatch"))
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("kafka client: %w", err)
	}
	return &kafkaSender{cl: cl, topic: topic}, nil
}

func (k *kafkaSender) Send(ctx context.Context, recs []Record) error {
	k.rs = k.rs[:0]
	for i := range recs {
		k.rs = append(k.rs, &kgo.Record{Key: []byte(recs[i].ID), Value: recs[i].JSON, Timestamp: recs[i].Time})
	}
	if len(k.rs) == 0 {
		return nil
	}
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := k.cl.ProduceSync(sctx, k.rs...).FirstErr(); err != nil {
		return fmt.Errorf("produce to kafka topic %s: %w", k.topic, err)
	}
	return nil
}

func (k *kafkaSender) Close() error {
	k.cl.Close()
	return nil
}

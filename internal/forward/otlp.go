package forward

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"time"

	common "go.opentelemetry.io/proto/otlp/common/v1"
	logs "go.opentelemetry.io/proto/otlp/logs/v1"
	resource "go.opentelemetry.io/proto/otlp/resource/v1"
	"google.golang.org/protobuf/proto"
)

// otlpSender posts each batch as one OTLP/HTTP protobuf
// ExportLogsServiceRequest to <endpoint>/v1/logs. Every event is one log
// record: time = the event's time, severity WARN for blocks and INFO for
// permits, body = the ECS JSON, and the ECS fields flattened to dotted
// attribute names (event.id, source.ip, process.executable, …).
//
// It is built on the OTLP protobuf types (go.opentelemetry.io/proto/otlp)
// rather than the SDK's log pipeline (otel/sdk/log + otlploghttp): the
// SDK's batch processor acknowledges nothing to its caller and drops on
// overflow, while the durable queue needs "this batch was accepted" before
// it acknowledges; a synchronous POST gives exactly that, with far fewer
// modules. A 2xx answer acknowledges the batch; anything else is retried
// (a partial_success with rejected records is reported, not retried: the
// receiver refused them for good).
type otlpSender struct {
	endpoint string
	client   *http.Client
	headers  http.Header
	host     string
}

func newOTLPSender(u *url.URL) (Sender, error) {
	scheme := strings.TrimPrefix(u.Scheme, "otlp+")
	if scheme != "http" && scheme != "https" {
		return nil, fmt.Errorf("otlp output wants otlp+http:// or otlp+https://")
	}
	q := u.Query()
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if ca := q.Get("ca"); ca != "" {
		pem, err := os.ReadFile(ca)
		if err != nil {
			return nil, fmt.Errorf("ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ca=%s holds no PEM certificate", ca)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	h := http.Header{"Content-Type": {"application/x-protobuf"}}
	for _, kv := range q["header"] { // header=Name:Value, repeatable
		k, v, ok := strings.Cut(kv, ":")
		if !ok {
			return nil, fmt.Errorf("header=%q: want Name:Value", kv)
		}
		h.Add(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	path := strings.TrimSuffix(u.Path, "/")
	if !strings.HasSuffix(path, "/v1/logs") {
		path += "/v1/logs"
	}
	ep := url.URL{Scheme: scheme, Host: u.Host, Path: path}
	host, _ := os.Hostname()
	return &otlpSender{endpoint: ep.String(), client: &http.Client{Transport: tr, Timeout: 30 * time.Second}, headers: h, host: host}, nil
}

func (o *otlpSender) Send(ctx context.Context, recs []Record) error {
	if len(recs) == 0 {
		return nil
	}
	lrs := make([]*logs.LogRecord, 0, len(recs))
	now := uint64(time.Now().UnixNano())
	for i := range recs {
		r := &recs[i]
		lr := &logs.LogRecord{
			TimeUnixNano:         uint64(r.Time.UnixNano()),
			ObservedTimeUnixNano: now,
			SeverityNumber:       logs.SeverityNumber_SEVERITY_NUMBER_INFO,
			SeverityText:         "INFO",
			Body:                 &common.AnyValue{Value: &common.AnyValue_StringValue{StringValue: string(r.JSON)}},
		}
		if r.Severity <= 4 {
			lr.SeverityNumber, lr.SeverityText = logs.SeverityNumber_SEVERITY_NUMBER_WARN, "WARN"
		}
		var m map[string]any
		d := json.NewDecoder(bytes.NewReader(r.JSON))
		d.UseNumber()
		if d.Decode(&m) == nil {
			lr.Attributes = flatten(nil, "", m)
		}
		lrs = append(lrs, lr)
	}
	// LogsData has the wire format of ExportLogsServiceRequest (field 1,
	// repeated ResourceLogs) without pulling gRPC into the binary.
	req := &logs.LogsData{ResourceLogs: []*logs.ResourceLogs{{
		Resource: &resource.Resource{Attributes: []*common.KeyValue{
			{Key: "service.name", Value: &common.AnyValue{Value: &common.AnyValue_StringValue{StringValue: "wfpwatch"}}},
			{Key: "host.name", Value: &common.AnyValue{Value: &common.AnyValue_StringValue{StringValue: o.host}}},
		}},
		ScopeLogs: []*logs.ScopeLogs{{Scope: &common.InstrumentationScope{Name: "wfpwatch"}, LogRecords: lrs}},
	}}}
	body, err := proto.Marshal(req)
	if err != nil {
		return fmt.Errorf("encode OTLP logs: %w", err)
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, o.endpoint, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("OTLP request: %w", err)
	}
	hr.Header = o.headers.Clone()
	resp, err := o.client.Do(hr)
	if err != nil {
		return fmt.Errorf("post OTLP logs: %w", err)
	}
	defer resp.Body.Close()
	rb, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("post OTLP logs to %s: %s: %.200s", o.endpoint, resp.Status, rb)
	}
	return nil
}

// flatten turns nested ECS objects into dotted attribute keys.
func flatten(kvs []*common.KeyValue, prefix string, m map[string]any) []*common.KeyValue {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		name := k
		if prefix != "" {
			name = prefix + "." + k
		}
		if sub, ok := m[k].(map[string]any); ok {
			kvs = flatten(kvs, name, sub)
			continue
		}
		kvs = append(kvs, &common.KeyValue{Key: name, Value: anyValue(m[k])})
	}
	return kvs
}

func anyValue(v any) *common.AnyValue {
	switch v := v.(type) {
	case string:
		return &common.AnyValue{Value: &common.AnyValue_StringValue{StringValue: v}}
	case json.Number:
		if n, err := v.Int64(); err == nil {
			return &common.AnyValue{Value: &common.AnyValue_IntValue{IntValue: n}}
		}
		f, _ := v.Float64()
		return &common.AnyValue{Value: &common.AnyValue_DoubleValue{DoubleValue: f}}
	case bool:
		return &common.AnyValue{Value: &common.AnyValue_BoolValue{BoolValue: v}}
	case []any:
		arr := &common.ArrayValue{}
		for _, e := range v {
			arr.Values = append(arr.Values, anyValue(e))
		}
		return &common.AnyValue{Value: &common.AnyValue_ArrayValue{ArrayValue: arr}}
	}
	return &common.AnyValue{Value: &common.AnyValue_StringValue{StringValue: fmt.Sprint(v)}}
}

func (o *otlpSender) Close() error {
	o.client.CloseIdleConnections()
	return nil
}

package forward

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	collogs "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	"google.golang.org/protobuf/proto"
)

// An OTLP/HTTP receiver on loopback that fails for a while in the middle:
// every event arrives, with the ECS fields as attributes. The real
// OpenTelemetry Collector is TestOTelCollector.
func TestOTLP(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]bool{}
	var down atomic.Bool
	var posts atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/logs" || r.Header.Get("Content-Type") != "application/x-protobuf" {
			http.Error(w, "bad request", 400)
			return
		}
		if down.Load() {
			http.Error(w, "unavailable", 503)
			return
		}
		b, _ := io.ReadAll(r.Body)
		var req collogs.ExportLogsServiceRequest
		if err := proto.Unmarshal(b, &req); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		posts.Add(1)
		mu.Lock()
		defer mu.Unlock()
		for _, rl := range req.ResourceLogs {
			for _, sl := range rl.ScopeLogs {
				for _, lr := range sl.LogRecords {
					var id, ip string
					for _, kv := range lr.Attributes {
						switch kv.Key {
						case "event.id":
							id = kv.Value.GetStringValue()
						case "destination.ip":
							ip = kv.Value.GetStringValue()
						}
					}
					if ip != "192.0.2.7" || lr.SeverityText != "WARN" || !strings.Contains(lr.Body.GetStringValue(), id) {
						t.Errorf("log record without the ECS attributes: %v", lr)
					}
					seen[id] = true
				}
			}
		}
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.Write(nil)
	}))
	defer srv.Close()
	fw, err := Open([]string{"otlp+" + srv.URL}, Options{StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	const n = 20000
	for i := range n {
		if i == n/2 {
			down.Store(true)
			time.AfterFunc(time.Second, func() { down.Store(false) })
		}
		if err := fw.Write(testEvent(i)); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := fw.Close(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != n {
		t.Fatalf("receiver got %d distinct events of %d in %d posts", len(seen), n, posts.Load())
	}
}

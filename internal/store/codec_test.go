package store

import (
	"context"
	"database/sql"
	"encoding/binary"
	"testing"

	"github.com/wfpwatch/wfpwatch/internal/event"
)

// FuzzDecodeRow feeds arbitrary stored columns (as a damaged or hostile
// database file would hold them) to the row decoder: it must return an
// error or an event, never panic or loop.
func FuzzDecodeRow(f *testing.F) {
	var x []byte
	x = appendNum(x, tagLayerName, 1)
	x = appendStr(x, tagInfo, "hello")
	x = appendNum(x, tagICMPType, 4)
	x = appendNum(x, tagServices, 2)
	f.Add(x, int64(1), int64(3), []byte{10, 0, 0, 1}, int64(2))
	f.Add([]byte{tagInfo, 0xff, 0xff, 0xff, 0xff, 0x0f}, int64(9), int64(99), []byte{1, 2, 3}, int64(0))
	f.Add([]byte{tagRemoteUserID, 5, 'a'}, int64(-1), int64(-5), make([]byte, 16), int64(1))
	f.Add(binary.AppendUvarint([]byte{tagNameOnly}, 1), int64(1), int64(1), []byte(nil), int64(1))
	var id []byte
	id = appendNum(id, tagCode, 5157)
	id = appendNum(id, tagHost, 1)
	id = appendNum(id, tagRecordID, 1234)
	id = appendNum(id, tagSources, uint64(event.SourceFile))
	f.Add(id, int64(1), int64(1), []byte(nil), int64(1))
	f.Add(append([]byte{99, 1}, id...), int64(1), int64(1), []byte(nil), int64(1))
	sdb, err := sql.Open("sqlite", ":memory:")
	if err != nil {
		f.Fatal(err)
	}
	sdb.SetMaxOpenConns(1)
	defer sdb.Close()
	if _, err := sdb.Exec("CREATE TABLE dict(id INTEGER PRIMARY KEY, s TEXT NOT NULL UNIQUE); INSERT INTO dict VALUES (1, 'x.exe'), (2, 'a,b')"); err != nil {
		f.Fatal(err)
	}
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, extra []byte, app, enum int64, ip []byte, origin int64) {
		r := storedRow{
			id: 1, ts: app * 1e9, verdict: enum, direction: -enum,
			app: sql.NullInt64{Int64: app, Valid: app != 0}, localPort: sql.NullInt64{Int64: origin, Valid: true},
			remoteIP: ip, extra: extra,
		}
		var e event.Event
		err := r.decode(ctx, sdb, newDictReader(), &e)
		// The migration's reading of the identity agrees with the
		// decoder's (and with what the writer would index).
		host, rec, ok := extraIdentity(extra)
		if err == nil && ok != logIdentity(&e) {
			t.Fatalf("extraIdentity says %v, the decoded event %v: %+v", ok, logIdentity(&e), e)
		}
		if err == nil && ok && (uint64(rec) != e.RecordID || host <= 0) {
			t.Fatalf("extraIdentity = host %d record %d, decoded record %d", host, rec, e.RecordID)
		}
	})
}

package evtlog

import (
	"encoding/binary"
	"reflect"
	"testing"
	"unsafe"

	"github.com/wfpwatch/wfpwatch/internal/event"
)

func TestRecordFromValuesMatchesSource(t *testing.T) {
	want := sampleRecord()
	buf := simulateValues(want)
	var got Record
	var sc valueScratch
	if err := recordFromValues(buf, len(ValuePaths), &got, &sc); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(&got, want) {
		t.Fatalf("values render gave\n%+v\nwant\n%+v", got, *want)
	}
	var ev, ev2 event.Event
	if err := Decode(&got, &ev); err != nil {
		t.Fatal(err)
	}
	if err := Decode(want, &ev2); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(ev, ev2) {
		t.Fatalf("decoded differently:\n%+v\n%+v", ev, ev2)
	}
	if ev.Verdict == "" || ev.RemotePort != 443 || !ev.HasPID || ev.PID != 820 {
		t.Errorf("decoded %+v", ev)
	}
}

func TestRecordFromValuesProcessIdSpelling(t *testing.T) {
	r := sampleRecord()
	r.EventID = 5159
	r.Data = []Field{{"ProcessId", "4"}, {"Application", "System"}}
	var got Record
	if err := recordFromValues(simulateValues(r), len(ValuePaths), &got, &valueScratch{}); err != nil {
		t.Fatal(err)
	}
	if v, ok := got.Get("processid"); !ok || v != "4" {
		t.Errorf("ProcessId: %q %v", v, ok)
	}
}

func TestRecordFromValuesBadBuffers(t *testing.T) {
	var rec Record
	sc := &valueScratch{}
	if err := recordFromValues(nil, len(ValuePaths), &rec, sc); err == nil {
		t.Error("empty buffer accepted")
	}
	if err := recordFromValues(make([]byte, 16), 1, &rec, sc); err == nil {
		t.Error("wrong count accepted")
	}
	// A string pointer outside the buffer: reported, not followed.
	buf := simulateValues(sampleRecord())
	binary.LittleEndian.PutUint64(buf[(numSystemPaths+2)*variantSize:], 8)
	err := recordFromValues(buf, len(ValuePaths), &rec, sc)
	if _, ok := err.(*FieldError); !ok {
		t.Fatalf("pointer outside the buffer: %v", err)
	}
	if _, ok := rec.Get("Application"); ok {
		t.Error("unreadable Application kept")
	}
	if rec.EventID != 5157 {
		t.Error("the rest of the record was lost")
	}
}

func TestAppendVariantTypes(t *testing.T) {
	vb := variantBuffer{}
	for _, tc := range []struct {
		val  uint64
		typ  uint32
		want string
	}{
		{0xff, evtVarTypeSByte, "-1"},
		{0xfffe, evtVarTypeInt16, "-2"},
		{0xfffffffd, evtVarTypeInt32, "-3"},
		{7, evtVarTypeUInt64, "7"},
		{0x1f, evtVarTypeHexInt32, "0x1f"},
		{1, evtVarTypeBoolean, "true"},
		{0, evtVarTypeBoolean, "false"},
		{1 << 40, evtVarTypeSizeT, "1099511627776"},
	} {
		got, ok := appendVariant(vb, nil, tc.val, tc.typ)
		if !ok || string(got) != tc.want {
			t.Errorf("type %d value %#x: %q %v, want %q", tc.typ, tc.val, got, ok, tc.want)
		}
	}
	if _, ok := appendVariant(vb, nil, 0, 99); ok {
		t.Error("unknown type accepted")
	}
}

func FuzzRecordFromValues(f *testing.F) {
	f.Add(simulateValues(sampleRecord())[:len(ValuePaths)*variantSize])
	f.Add(make([]byte, len(ValuePaths)*variantSize))
	f.Fuzz(func(t *testing.T, b []byte) {
		// Pointers in fuzzed bytes are arbitrary: they must be checked
		// against the buffer, never followed.
		var rec Record
		_ = recordFromValues(b, len(ValuePaths), &rec, &valueScratch{})
	})
}

// FuzzVariantData keeps the pointers valid (into the buffer) and fuzzes the
// types and the bytes they point at: unterminated strings, short SIDs,
// odd lengths.
func FuzzVariantData(f *testing.F) {
	good := simulateValues(sampleRecord())
	types := make([]byte, len(ValuePaths))
	for i := range types {
		types[i] = good[i*variantSize+12]
	}
	f.Add(types, good[len(ValuePaths)*variantSize:])
	f.Add([]byte{19, 19, 1, 2, 14, 15, 18}, []byte{1, 5, 0, 0})
	f.Fuzz(func(t *testing.T, types, tail []byte) {
		n := len(ValuePaths)
		buf := make([]byte, n*variantSize+len(tail))
		copy(buf[n*variantSize:], tail)
		base := uint64(uintptr(unsafe.Pointer(&buf[0])))
		for i := 0; i < n; i++ {
			typ := uint32(evtVarTypeString)
			if i < len(types) {
				typ = uint32(types[i])
			}
			off := uint64(n * variantSize)
			if len(tail) > 0 && i < len(types) {
				off += uint64(types[i]) % uint64(len(tail))
			}
			binary.LittleEndian.PutUint64(buf[i*variantSize:], base+off)
			binary.LittleEndian.PutUint32(buf[i*variantSize+12:], typ)
		}
		var rec Record
		_ = recordFromValues(buf, n, &rec, &valueScratch{})
	})
}

package evtlog

import (
	"encoding/binary"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unsafe"
)

// simulateValues lays out, in one buffer, what EvtRender with the
// ValuePaths render context returns for rec on 64-bit Windows: the
// EVT_VARIANT array followed by the strings and SIDs its pointers point at,
// typed the way the Security-Auditing manifest types them (ProcessID a
// pointer-sized integer, Protocol and InterfaceIndex UInt32, the run-time
// ids UInt64, the user/machine ids SIDs, the rest strings).
func simulateValues(rec *Record) []byte {
	n := len(ValuePaths)
	type pending struct {
		slot int
		data []byte
	}
	var tail []pending
	vars := make([]byte, n*variantSize)
	set := func(i int, val uint64, typ uint32) {
		binary.LittleEndian.PutUint64(vars[i*variantSize:], val)
		binary.LittleEndian.PutUint32(vars[i*variantSize+8:], 0)
		binary.LittleEndian.PutUint32(vars[i*variantSize+12:], typ)
	}
	str := func(i int, s string) {
		u := utf16.Encode([]rune(s))
		b := make([]byte, 2*len(u)+2)
		for k, c := range u {
			binary.LittleEndian.PutUint16(b[2*k:], c)
		}
		tail = append(tail, pending{i, b})
		set(i, 0, evtVarTypeString)
	}
	str(0, rec.Provider)
	set(1, uint64(rec.EventID), evtVarTypeUInt16)
	set(2, uint64(rec.Version), evtVarTypeByte)
	set(3, rec.RecordID, evtVarTypeUInt64)
	set(4, uint64(rec.Time.UnixNano()/100)+116444736000000000, evtVarTypeFileTime)
	str(5, rec.Computer)
	set(6, rec.Keywords, evtVarTypeHexInt64)
	for k, name := range valueDataNames {
		i := numSystemPaths + k
		v, ok := "", false
		for _, f := range rec.Data {
			if f.Name == name { // XPath is case-sensitive
				v, ok = f.Value, true
			}
		}
		if !ok {
			set(i, 0, evtVarTypeNull)
			continue
		}
		switch strings.ToLower(name) {
		case "processid":
			n, _ := strconv.ParseUint(v, 10, 64)
			set(i, n, evtVarTypeSizeT)
		case "protocol", "interfaceindex":
			n, _ := strconv.ParseUint(v, 10, 32)
			set(i, n, evtVarTypeUInt32)
		case "filterrtid", "layerrtid":
			n, _ := strconv.ParseUint(v, 10, 64)
			set(i, n, evtVarTypeUInt64)
		case "remoteuserid", "remotemachineid":
			if b, ok := sidBytes(v); ok {
				tail = append(tail, pending{i, b})
				set(i, 0, evtVarTypeSid)
			} else {
				str(i, v)
			}
		default:
			str(i, v)
		}
	}
	size := len(vars)
	for _, p := range tail {
		size += (len(p.data) + 7) &^ 7
	}
	buf := make([]byte, size)
	copy(buf, vars)
	base := uintptr(unsafe.Pointer(&buf[0]))
	off := len(vars)
	for _, p := range tail {
		copy(buf[off:], p.data)
		binary.LittleEndian.PutUint64(buf[p.slot*variantSize:], uint64(base)+uint64(off))
		off += (len(p.data) + 7) &^ 7
	}
	return buf
}

// sidBytes encodes "S-1-a-s1-s2…" in the binary SID layout.
func sidBytes(s string) ([]byte, bool) {
	parts := strings.Split(s, "-")
	if len(parts) < 3 || parts[0] != "S" || parts[1] != "1" {
		return nil, false
	}
	auth, err := strconv.ParseUint(parts[2], 10, 48)
	if err != nil {
		return nil, false
	}
	subs := parts[3:]
	b := make([]byte, 8+4*len(subs))
	b[0], b[1] = 1, byte(len(subs))
	for k := 0; k < 6; k++ {
		b[2+k] = byte(auth >> (8 * (5 - k)))
	}
	for k, p := range subs {
		n, err := strconv.ParseUint(p, 10, 32)
		if err != nil {
			return nil, false
		}
		binary.LittleEndian.PutUint32(b[8+4*k:], uint32(n))
	}
	return b, true
}

// sampleRecord is a 5157 as Windows writes it (fields from a real export,
// addresses from the documentation ranges).
func sampleRecord() *Record {
	return &Record{
		Provider: ProviderName, EventID: 5157, Version: 1, RecordID: 227694,
		Time:     time.Date(2019, 2, 13, 18, 1, 47, 512340400, time.UTC),
		Computer: "PC01.example.corp", Keywords: 0x8010000000000000,
		Data: []Field{
			{"ProcessID", "820"},
			{"Application", `\device\harddiskvolume1\windows\system32\svchost.exe`},
			{"Direction", "%%14593"},
			{"SourceAddress", "192.0.2.10"},
			{"SourcePort", "50546"},
			{"DestAddress", "198.51.100.7"},
			{"DestPort", "443"},
			{"Protocol", "6"},
			{"FilterRTID", "65865"},
			{"LayerName", "%%14611"},
			{"LayerRTID", "48"},
			{"RemoteUserID", "S-1-0-0"},
			{"RemoteMachineID", "S-1-5-21-1587066498-1489273250-1035260531-1108"},
			{"FilterOrigin", "{5b2a7c4e-8e1b-4a7e-9f0e-0123456789ab}"},
			{"InterfaceIndex", "12"},
		},
	}
}

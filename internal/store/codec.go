package store

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/wfpwatch/wfpwatch/internal/event"
)

// Small enums are stored as integers.
var (
	verdicts   = []event.Verdict{"", event.VerdictBlock, event.VerdictDrop, event.VerdictPermit}
	kinds      = []event.Kind{"", event.KindConnection, event.KindListen, event.KindBind, event.KindPacket, event.KindAccept}
	directions = []event.Direction{event.DirectionUnknown, event.DirectionInbound, event.DirectionOutbound, event.DirectionForward}
)

func verdictCode(v event.Verdict) int64 {
	for i, x := range verdicts {
		if x == v {
			return int64(i)
		}
	}
	return 0
}

func kindCode(k event.Kind) int64 {
	for i, x := range kinds {
		if x == k {
			return int64(i)
		}
	}
	return 0
}

func directionCode(d event.Direction) int64 {
	for i, x := range directions {
		if x == d {
			return int64(i)
		}
	}
	return 0
}

func enumAt[T any](tab []T, i int64) T {
	if i < 0 || i >= int64(len(tab)) {
		var zero T
		return zero
	}
	return tab[i]
}

// ParseVerdict, ParseKind… are the inverse for query flags.

// VerdictCode returns the stored code of a verdict name and whether it is
// known.
func VerdictCode(s string) (int64, bool) {
	c := verdictCode(event.Verdict(strings.ToLower(s)))
	return c, c != 0
}

// DirectionCode returns the stored code of a direction ("inbound", "in",
// "outbound"…) and whether it is known.
func DirectionCode(s string) (int64, bool) {
	c := directionCode(event.ParseDirection(s))
	return c, c != 0
}

// ipBytes encodes an address for storage: 4 bytes for IPv4 (IPv4-mapped
// IPv6 is stored as IPv4), 16 for IPv6, nil when unknown. The zone is not
// stored.
func ipBytes(a netip.Addr) []byte {
	if !a.IsValid() {
		return nil
	}
	a = a.Unmap()
	if a.Is4() {
		b := a.As4()
		return b[:]
	}
	b := a.As16()
	return b[:]
}

func ipFromBytes(b []byte) netip.Addr {
	switch len(b) {
	case 4:
		return netip.AddrFrom4([4]byte(b))
	case 16:
		return netip.AddrFrom16([16]byte(b))
	}
	return netip.Addr{}
}

// Tags of the extra blob: a sequence of (tag byte, payload). The payload of
// a dict tag or a number is a uvarint; of a string, a uvarint length and
// the bytes. Unknown tags end decoding (a newer writer); tags are never
// reused.
const (
	tagLayerName       = 1  // dict
	tagFilterName      = 2  // dict
	tagFilterProvider  = 3  // dict
	tagServices        = 4  // dict: names joined with ","
	tagUserID          = 5  // dict
	tagUserName        = 6  // dict
	tagRemoteUserID    = 7  // string
	tagRemoteMachineID = 8  // string
	tagPackageSID      = 9  // dict
	tagInterface       = 10 // number
	tagProfiles        = 11 // dict
	tagNetEventType    = 12 // dict
	tagTCPFlags        = 13 // string
	tagSize            = 14 // number
	tagInfo            = 15 // string
	tagHost            = 16 // dict
	tagRecordID        = 17 // number
	tagSources         = 18 // number
	tagFile            = 19 // dict
	tagICMPType        = 20 // number: type+1
	tagICMPCode        = 21 // number: code+1
	tagNameOnly        = 22 // number 1: the app column is a process name, not a path
	tagCode            = 23 // number
	tagKind            = 24 // number: the kind code
	tagProtocol        = 25 // number
	tagLocalIP         = 26 // string: 4 or 16 bytes
	tagPID             = 27 // number
	tagFilterID        = 28 // number
	tagLayerID         = 29 // number
	tagOrigin          = 30 // dict: Filter Origin
	tagRuleID          = 31 // dict
	tagRuleName        = 32 // dict
	tagSublayer        = 33 // dict: net events' terminating sublayer
	tagCapabilities    = 34 // dict: AppContainer capabilities
	// tagOrientation is far from the others so that tags added
	// meanwhile do not collide; written last (older readers stop there).
	tagOrientation = 48 // number: event.Orientation packed by packOrientation
)

// tagIsString reports whether tag carries an inline string.
func tagIsString(tag byte) bool {
	return tag == tagRemoteUserID || tag == tagRemoteMachineID || tag == tagTCPFlags || tag == tagInfo || tag == tagLocalIP
}

func appendNum(b []byte, tag byte, v uint64) []byte {
	b = append(b, tag)
	return binary.AppendUvarint(b, v)
}

func appendStr(b []byte, tag byte, s string) []byte {
	if s == "" {
		return b
	}
	b = append(b, tag)
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// dictWriter maps strings to dictionary ids, inserting new ones inside the
// writer's transaction. The cache is bounded; a miss costs one query.
type dictWriter struct {
	ids    map[string]int64
	insert *sql.Stmt
	lookup *sql.Stmt
	tx     *sql.Tx
	ctx    context.Context
	tIns   *sql.Stmt
	tLook  *sql.Stmt
}

const maxDictCache = 1 << 15

func (d *dictWriter) begin(ctx context.Context, tx *sql.Tx) {
	d.ctx, d.tx = ctx, tx
	d.tIns, d.tLook = tx.StmtContext(ctx, d.insert), tx.StmtContext(ctx, d.lookup)
}

// id returns the dictionary id of s; "" has none (NULL).
func (d *dictWriter) id(s string) (sql.NullInt64, error) {
	if s == "" {
		return sql.NullInt64{}, nil
	}
	if id, ok := d.ids[s]; ok {
		return sql.NullInt64{Int64: id, Valid: true}, nil
	}
	if _, err := d.tIns.ExecContext(d.ctx, s); err != nil {
		return sql.NullInt64{}, fmt.Errorf("insert dictionary string: %w", err)
	}
	var id int64
	if err := d.tLook.QueryRowContext(d.ctx, s).Scan(&id); err != nil {
		return sql.NullInt64{}, fmt.Errorf("look up dictionary string: %w", err)
	}
	if len(d.ids) >= maxDictCache {
		clear(d.ids)
	}
	d.ids[strings.Clone(s)] = id
	return sql.NullInt64{Int64: id, Valid: true}, nil
}

// rollback forgets ids learned in a transaction that did not commit.
func (d *dictWriter) rollback() { clear(d.ids) }

func (d *dictWriter) appendDict(b []byte, tag byte, s string) ([]byte, error) {
	if s == "" {
		return b, nil
	}
	id, err := d.id(s)
	if err != nil {
		return b, err
	}
	return appendNum(b, tag, uint64(id.Int64)), nil
}

// nullInt returns v as a nullable integer.
func nullInt(ok bool, v int64) any {
	if !ok {
		return nil
	}
	return v
}

func nullStr(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func nullID(id sql.NullInt64) any {
	if !id.Valid {
		return nil
	}
	return id.Int64
}

// eventColumns are the columns of events written and read, in order: the
// ones queries filter on; everything else is in the extra blob, which keeps
// the cost of an insert down.
const eventColumns = "ts, verdict, direction, reason, local_port, remote_ip, remote_port, app, extra"

const numEventColumns = 9

// insertColumns are the columns written: eventColumns and the identity of
// the record (recordIdentity), which the unique index events_ts uses to
// refuse a record stored already.
const insertColumns = eventColumns + ", host, record_id"

const numInsertColumns = numEventColumns + 2

// logIdentity reports whether e is a Security-log record that can be told
// apart from every other: an audit event (e.Code, which only the Security
// log has) with its EventRecordID and computer name. Its identity in the
// database is (time, host, record id). The time is part of it because a
// record id alone is not unique for ever: a log that is cleared or
// recreated, or a machine cloned under the same name, numbers its records
// again.
func logIdentity(e *event.Event) bool {
	return event.HasRecordIdentity(e) && e.RecordID <= math.MaxInt64
}

// fingerprintHost is the host column of a record identified by its
// fingerprint: no dictionary id is 0.
const fingerprintHost = 0

// recordIdentity returns the host and record_id columns of e. A
// Security-log record (logIdentity) has (dictionary id of its host, its
// record id). Every other record — firewall-log lines, net events, JSON
// exports without RecordNumber — has (0, its fingerprint): the one its
// reader set (event.Event.Fingerprint), or one made from its content here
// (live net events), which is then kept in e for uncount. With the time,
// they make the key of the unique index events_ts.
func recordIdentity(e *event.Event, d *dictWriter) (host, rec int64, err error) {
	if logIdentity(e) {
		h, err := d.id(e.Host)
		if err != nil {
			return 0, 0, err
		}
		return h.Int64, int64(e.RecordID), nil
	}
	if e.Fingerprint == 0 || e.Fingerprint > math.MaxInt64 {
		e.Fingerprint = event.Fingerprint(e, 0)
	}
	return fingerprintHost, int64(e.Fingerprint), nil
}

// appendArgs appends the column values of e to args, resolving dictionary
// strings through d. extra is scratch space for the extra blob; it is
// returned for reuse (the blob in args is a copy).
func appendArgs(args []any, e *event.Event, d *dictWriter, extra []byte) ([]any, []byte, error) {
	app := e.Executable
	nameOnly := false
	if app == "" && e.Name != "" {
		app, nameOnly = e.Name, true
	}
	appID, err := d.id(app)
	if err != nil {
		return args, extra, err
	}
	host, rec, err := recordIdentity(e, d)
	if err != nil {
		return args, extra, err
	}
	x := extra[:0]
	for _, f := range []struct {
		tag byte
		s   string
	}{
		{tagLayerName, e.LayerName}, {tagFilterName, e.FilterName}, {tagFilterProvider, e.FilterProvider},
		{tagServices, strings.Join(e.Services, ",")}, {tagUserID, e.UserID}, {tagUserName, e.UserName},
		{tagPackageSID, e.PackageSID}, {tagProfiles, e.Profiles}, {tagNetEventType, e.NetEventType},
		{tagHost, e.Host}, {tagFile, e.FilePath},
		{tagOrigin, e.FilterOrigin}, {tagRuleID, e.RuleID}, {tagRuleName, e.RuleName},
	} {
		if x, err = d.appendDict(x, f.tag, f.s); err != nil {
			return args, extra, err
		}
	}
	x = appendStr(x, tagRemoteUserID, e.RemoteUserID)
	x = appendStr(x, tagRemoteMachineID, e.RemoteMachineID)
	x = appendStr(x, tagTCPFlags, e.TCPFlags)
	x = appendStr(x, tagInfo, e.Info)
	if e.HasInterfaceIndex {
		x = appendNum(x, tagInterface, uint64(e.InterfaceIndex))
	}
	if e.Size != 0 {
		x = appendNum(x, tagSize, uint64(e.Size))
	}
	if e.RecordID != 0 {
		x = appendNum(x, tagRecordID, e.RecordID)
	}
	if e.Sources != 0 {
		x = appendNum(x, tagSources, uint64(e.Sources))
	}
	if e.ICMPType >= 0 {
		x = appendNum(x, tagICMPType, uint64(e.ICMPType)+1)
	}
	if e.ICMPCode >= 0 {
		x = appendNum(x, tagICMPCode, uint64(e.ICMPCode)+1)
	}
	if nameOnly {
		x = appendNum(x, tagNameOnly, 1)
	}
	if e.Code != 0 {
		x = appendNum(x, tagCode, uint64(e.Code))
	}
	if k := kindCode(e.Kind); k != 0 {
		x = appendNum(x, tagKind, uint64(k))
	}
	if e.HasProtocol {
		x = appendNum(x, tagProtocol, uint64(e.Protocol))
	}
	if b := ipBytes(e.LocalIP); b != nil {
		x = append(x, tagLocalIP, byte(len(b)))
		x = append(x, b...)
	}
	if e.HasPID {
		x = appendNum(x, tagPID, uint64(e.PID))
	}
	if e.HasFilterID {
		x = appendNum(x, tagFilterID, e.FilterID)
	}
	if e.HasLayerID {
		x = appendNum(x, tagLayerID, uint64(e.LayerID))
	}
	// Tags added later go last: an older wfpwatch stops decoding at the
	// first tag it does not know, and keeps what came before.
	if x, err = d.appendDict(x, tagSublayer, e.Sublayer); err != nil {
		return args, extra, err
	}
	if x, err = d.appendDict(x, tagCapabilities, e.Capabilities); err != nil {
		return args, extra, err
	}
	if e.Orient.Order != event.OrderNone {
		x = appendNum(x, tagOrientation, packOrientation(e.Orient))
	}
	var extraArg any
	if len(x) > 0 {
		extraArg = append([]byte(nil), x...)
	}
	args = append(args,
		tsOf(e.Time),
		verdictCode(e.Verdict),
		directionCode(e.Direction),
		nullStr(e.Reason),
		nullInt(e.HasLocalPort, int64(e.LocalPort)),
		ipBytes(e.RemoteIP),
		nullInt(e.HasRemotePort, int64(e.RemotePort)),
		nullID(appID),
		extraArg,
		host,
		rec,
	)
	return args, x, nil
}

// dictReader resolves dictionary ids for readers, with a cache.
type dictReader struct {
	cache map[int64]string
}

func newDictReader() *dictReader { return &dictReader{cache: make(map[int64]string)} }

type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func (d *dictReader) get(ctx context.Context, q queryer, id sql.NullInt64) (string, error) {
	if !id.Valid {
		return "", nil
	}
	if s, ok := d.cache[id.Int64]; ok {
		return s, nil
	}
	var s string
	if err := q.QueryRowContext(ctx, "SELECT s FROM dict WHERE id = ?", id.Int64).Scan(&s); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return "", fmt.Errorf("dictionary id %d is missing: the database is damaged", id.Int64)
		}
		return "", fmt.Errorf("read dictionary: %w", err)
	}
	if len(d.cache) >= maxDictCache {
		clear(d.cache)
	}
	d.cache[id.Int64] = s
	return s, nil
}

// storedRow holds the scanned columns of one events row.
type storedRow struct {
	id                    int64
	ts                    int64
	verdict, direction    int64
	reason                sql.NullString
	localPort, remotePort sql.NullInt64
	remoteIP              []byte
	app                   sql.NullInt64
	extra                 []byte
}

func (r *storedRow) dest() []any {
	return []any{&r.id, &r.ts, &r.verdict, &r.direction, &r.reason, &r.localPort, &r.remoteIP, &r.remotePort, &r.app, &r.extra}
}

// decode fills e from r, resolving dictionary ids through d.
func (r *storedRow) decode(ctx context.Context, q queryer, d *dictReader, e *event.Event) error {
	*e = event.Event{ICMPType: -1, ICMPCode: -1}
	if r.ts != 0 {
		e.Time = time.Unix(0, r.ts).UTC()
	}
	e.Verdict = enumAt(verdicts, r.verdict)
	e.Reason = r.reason.String
	e.Direction = enumAt(directions, r.direction)
	e.LocalPort, e.HasLocalPort = uint16(r.localPort.Int64), r.localPort.Valid
	e.RemoteIP = ipFromBytes(r.remoteIP)
	e.RemotePort, e.HasRemotePort = uint16(r.remotePort.Int64), r.remotePort.Valid
	app, err := d.get(ctx, q, r.app)
	if err != nil {
		return err
	}
	nameOnly := false
	x := r.extra
	for len(x) > 0 {
		tag := x[0]
		x = x[1:]
		v, n := binary.Uvarint(x)
		if n <= 0 {
			return fmt.Errorf("event %d: bad extra field %d", r.id, tag)
		}
		x = x[n:]
		if tagIsString(tag) {
			if v > uint64(len(x)) {
				return fmt.Errorf("event %d: extra field %d is cut short", r.id, tag)
			}
			s := string(x[:v])
			x = x[v:]
			switch tag {
			case tagRemoteUserID:
				e.RemoteUserID = s
			case tagRemoteMachineID:
				e.RemoteMachineID = s
			case tagTCPFlags:
				e.TCPFlags = s
			case tagInfo:
				e.Info = s
			case tagLocalIP:
				e.LocalIP = ipFromBytes([]byte(s))
			}
			continue
		}
		var dst *string
		switch tag {
		case tagLayerName:
			dst = &e.LayerName
		case tagFilterName:
			dst = &e.FilterName
		case tagFilterProvider:
			dst = &e.FilterProvider
		case tagUserID:
			dst = &e.UserID
		case tagUserName:
			dst = &e.UserName
		case tagPackageSID:
			dst = &e.PackageSID
		case tagProfiles:
			dst = &e.Profiles
		case tagNetEventType:
			dst = &e.NetEventType
		case tagHost:
			dst = &e.Host
		case tagFile:
			dst = &e.FilePath
		case tagOrigin:
			dst = &e.FilterOrigin
		case tagRuleID:
			dst = &e.RuleID
		case tagRuleName:
			dst = &e.RuleName
		case tagSublayer:
			dst = &e.Sublayer
		case tagCapabilities:
			dst = &e.Capabilities
		case tagCode:
			e.Code = int(min(v, 1<<31-1))
		case tagKind:
			e.Kind = enumAt(kinds, int64(min(v, 255)))
		case tagProtocol:
			e.Protocol, e.HasProtocol = uint8(v), true
		case tagPID:
			e.PID, e.HasPID = uint32(v), true
		case tagFilterID:
			e.FilterID, e.HasFilterID = v, true
		case tagLayerID:
			e.LayerID, e.HasLayerID = uint16(v), true
		case tagServices:
			s, err := d.get(ctx, q, sql.NullInt64{Int64: int64(v), Valid: true})
			if err != nil {
				return err
			}
			e.Services = strings.Split(s, ",")
		case tagInterface:
			e.InterfaceIndex, e.HasInterfaceIndex = uint32(v), true
		case tagSize:
			e.Size = uint32(v)
		case tagRecordID:
			e.RecordID = v
		case tagSources:
			e.Sources = event.Source(v)
		case tagICMPType:
			e.ICMPType = int16(v - 1)
		case tagICMPCode:
			e.ICMPCode = int16(v - 1)
		case tagNameOnly:
			nameOnly = v == 1
		case tagOrientation:
			e.Orient = unpackOrientation(v)
		default:
			return nil // written by a newer wfpwatch: keep what is known
		}
		if dst != nil {
			if *dst, err = d.get(ctx, q, sql.NullInt64{Int64: int64(v), Valid: true}); err != nil {
				return err
			}
		}
	}
	if nameOnly {
		e.Name = app
	} else {
		e.SetExecutable(app)
	}
	return nil
}

// Rollup dimensions (the --top choices).
const (
	DimApp    = 1
	DimPort   = 2
	DimRemote = 3
	DimRule   = 4
	DimHost   = 5 // the computer (host.name); schema 4 on
)

// Dims maps the --top names to dimensions.
var Dims = map[string]int{"app": DimApp, "port": DimPort, "remote": DimRemote, "rule": DimRule, "host": DimHost}

// dimValue returns the rollup value of e for a dimension.
func dimValue(e *event.Event, dim int) string {
	switch dim {
	case DimApp:
		if e.Executable != "" {
			return e.Executable
		}
		if e.Name != "" {
			return e.Name
		}
	case DimPort:
		if p, ok := e.ServicePort(); ok {
			return strconv.FormatUint(uint64(p), 10)
		}
	case DimRemote:
		if e.RemoteIP.IsValid() {
			return e.RemoteIP.Unmap().WithZone("").String()
		}
	case DimRule:
		if d := e.DecidedBy(); d != "" {
			return d
		}
		return "-"
	case DimHost:
		if e.Host != "" {
			return e.Host
		}
	}
	return "-"
}

// extraIdentity returns the host's dictionary id and the record id of a
// stored event whose extra blob says it has a Security-log identity
// (logIdentity), for the migration to schema 3.
func extraIdentity(x []byte) (host, rec int64, ok bool) {
	var code, recID, hostID, sources uint64
	for len(x) > 0 {
		tag := x[0]
		x = x[1:]
		v, n := binary.Uvarint(x)
		if n <= 0 {
			return 0, 0, false
		}
		x = x[n:]
		if tag == 0 || tag > tagRuleName {
			break // a newer writer's tag: decode stops here too
		}
		if tagIsString(tag) {
			if v > uint64(len(x)) {
				return 0, 0, false
			}
			x = x[v:]
			continue
		}
		switch tag {
		case tagCode:
			code = v
		case tagRecordID:
			recID = v
		case tagHost:
			hostID = v
		case tagSources:
			sources = v
		}
	}
	if code == 0 || recID == 0 || recID > math.MaxInt64 || hostID == 0 || hostID > math.MaxInt64 || event.Source(sources)&event.SourceFwlog != 0 {
		return 0, 0, false
	}
	return int64(hostID), int64(recID), true
}

// packOrientation packs o into a number: order, evidence, host scope and
// service end, 8 bits each.
func packOrientation(o event.Orientation) uint64 {
	h := uint64(0)
	if o.Host {
		h = 1
	}
	return uint64(o.Order) | uint64(o.By)<<8 | h<<16 | uint64(o.Service)<<24
}

func unpackOrientation(v uint64) event.Orientation {
	return event.Orientation{Order: event.Order(v), By: event.Evidence(v >> 8), Host: v>>16&1 == 1, Service: event.End(v >> 24)}
}

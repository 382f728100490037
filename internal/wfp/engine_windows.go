package wfp

import (
	"fmt"
	"runtime"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"
)

const rpcCAuthnWinNT = 10 // RPC_C_AUTHN_WINNT

// Engine is an open handle to the base filtering engine. It owns the
// handle: Close releases it (and, for a dynamic session, every object the
// session added). An Engine is safe for concurrent use as fwpuclnt is.
type Engine struct {
	h       windows.Handle
	dynamic bool
}

// OpenOptions says how to open the engine.
type OpenOptions struct {
	// Dynamic asks for a dynamic session (FWPM_SESSION_FLAG_DYNAMIC): every
	// filter it adds is removed when the session closes or the process ends.
	Dynamic bool
	Name    string // session display name
}

func wrap(call string, err error) error {
	if err == nil {
		return nil
	}
	if en, ok := err.(syscall.Errno); ok {
		return &StatusError{Call: call, Status: uint32(en)}
	}
	return fmt.Errorf("%s: %w", call, err)
}

// Open opens the local engine.
func Open(o OpenOptions) (*Engine, error) {
	if err := procFwpmEngineOpen0.Find(); err != nil {
		return nil, fmt.Errorf("FwpmEngineOpen0: %w", ErrNoExport)
	}
	var s *fwpmSession0
	if o.Dynamic || o.Name != "" {
		s = &fwpmSession0{}
		if o.Dynamic {
			s.Flags = SessionFlagDynamic
		}
		if o.Name != "" {
			s.DisplayData.Name, _ = windows.UTF16PtrFromString(o.Name)
		}
	}
	var h windows.Handle
	err := fwpmEngineOpen0(nil, rpcCAuthnWinNT, 0, s, &h)
	runtime.KeepAlive(s)
	if err != nil {
		return nil, wrap("FwpmEngineOpen0", err)
	}
	return &Engine{h: h, dynamic: o.Dynamic}, nil
}

// Close closes the engine handle.
func (e *Engine) Close() error {
	if e == nil || e.h == 0 {
		return nil
	}
	err := fwpmEngineClose0(e.h)
	e.h = 0
	return wrap("FwpmEngineClose0", err)
}

// Option reads a UINT32 engine option.
func (e *Engine) Option(opt uint32) (uint32, error) {
	var v *fwpValue0
	if err := fwpmEngineGetOption0(e.h, opt, &v); err != nil {
		return 0, wrap(fmt.Sprintf("FwpmEngineGetOption0(%d)", opt), err)
	}
	if v == nil {
		return 0, fmt.Errorf("FwpmEngineGetOption0(%d): no value", opt)
	}
	out := uint32(v.Value)
	p := unsafe.Pointer(v)
	fwpmFreeMemory0(&p)
	return out, nil
}

// SetOption sets a UINT32 engine option. It refuses
// OptionMonitorIPsecConnections, which cannot be turned off again.
func (e *Engine) SetOption(opt, val uint32) error {
	if opt == OptionMonitorIPsecConnections {
		return fmt.Errorf("FwpmEngineSetOption0: refusing FWPM_ENGINE_MONITOR_IPSEC_CONNECTIONS (it cannot be turned off again)")
	}
	v := fwpValue0{Type: TypeUint32, Value: uintptr(val)}
	return wrap(fmt.Sprintf("FwpmEngineSetOption0(%d, %d)", opt, val), fwpmEngineSetOption0(e.h, opt, &v))
}

// FilterByID looks a filter up by its run-time id.
func (e *Engine) FilterByID(id uint64) (FilterInfo, error) {
	var f *fwpmFilter0
	if err := fwpmFilterGetById0(e.h, id, &f); err != nil {
		return FilterInfo{}, wrap(fmt.Sprintf("FwpmFilterGetById0(%d)", id), err)
	}
	defer func() { p := unsafe.Pointer(f); fwpmFreeMemory0(&p) }()
	fi := FilterInfo{ID: f.FilterID, Key: f.FilterKey, LayerKey: f.LayerKey, Action: f.Action.Type,
		Name: windows.UTF16PtrToString(f.DisplayData.Name), Description: windows.UTF16PtrToString(f.DisplayData.Description)}
	if f.ProviderKey != nil {
		fi.ProviderKey = *f.ProviderKey
	}
	if f.ProviderData.Size >= 2 && f.ProviderData.Size <= 1024 && f.ProviderData.Data != nil {
		fi.RuleID = utf16Bytes(unsafe.Slice(f.ProviderData.Data, f.ProviderData.Size))
	}
	switch {
	case f.EffectiveWeight.Type == TypeUint64 && f.EffectiveWeight.Value != 0:
		fi.Weight = *(*uint64)(ptrAt(f.EffectiveWeight.Value))
	case f.Weight.Type == TypeUint64 && f.Weight.Value != 0:
		fi.Weight = *(*uint64)(ptrAt(f.Weight.Value))
	case f.Weight.Type == TypeUint8:
		fi.Weight = uint64(uint8(f.Weight.Value))
	}
	return fi, nil
}

// LayerByID looks a layer up by its run-time id.
func (e *Engine) LayerByID(id uint16) (LayerInfo, error) {
	var l *fwpmLayer0
	if err := fwpmLayerGetById0(e.h, id, &l); err != nil {
		return LayerInfo{}, wrap(fmt.Sprintf("FwpmLayerGetById0(%d)", id), err)
	}
	defer func() { p := unsafe.Pointer(l); fwpmFreeMemory0(&p) }()
	return LayerInfo{ID: l.LayerID, Key: l.LayerKey, Name: windows.UTF16PtrToString(l.DisplayData.Name)}, nil
}

// ProviderName returns the display name of a provider.
func (e *Engine) ProviderName(key GUID) (string, error) {
	var p *fwpmProvider0
	if err := fwpmProviderGetByKey0(e.h, &key, &p); err != nil {
		return "", wrap("FwpmProviderGetByKey0", err)
	}
	name := windows.UTF16PtrToString(p.DisplayData.Name)
	up := unsafe.Pointer(p)
	fwpmFreeMemory0(&up)
	return name, nil
}

// cConditions is a C array of conditions and the Go memory its values
// point to; keep it alive until the call that uses it returns.
type cConditions struct {
	arr  []fwpmFilterCondition0
	keep []any
}

func buildConditions(conds []Condition) *cConditions {
	c := &cConditions{arr: make([]fwpmFilterCondition0, len(conds))}
	for i, k := range conds {
		fc := &c.arr[i]
		fc.FieldKey, fc.MatchType, fc.ConditionValue.Type = k.Field, k.Match, k.Type
		switch k.Type {
		case TypeUint8, TypeUint16, TypeUint32:
			fc.ConditionValue.Value = uintptr(k.U)
		case TypeUint64:
			u := new(uint64)
			*u = k.U
			c.keep = append(c.keep, u)
			fc.ConditionValue.Value = uintptr(unsafe.Pointer(u))
		case TypeByteArray16:
			a := new([16]byte)
			copy(a[:], k.B)
			c.keep = append(c.keep, a)
			fc.ConditionValue.Value = uintptr(unsafe.Pointer(a))
		case TypeByteBlob:
			data := append([]byte(nil), k.B...)
			b := &fwpByteBlob{Size: uint32(len(data))}
			if len(data) > 0 {
				b.Data = &data[0]
			}
			c.keep = append(c.keep, b, data)
			fc.ConditionValue.Value = uintptr(unsafe.Pointer(b))
		case TypeSID:
			data := append([]byte(nil), k.B...)
			c.keep = append(c.keep, data)
			if len(data) > 0 {
				fc.ConditionValue.Value = uintptr(unsafe.Pointer(&data[0]))
			}
		}
	}
	return c
}

func (c *cConditions) ptr() *fwpmFilterCondition0 {
	if len(c.arr) == 0 {
		return nil
	}
	return &c.arr[0]
}

// callbacks: windows.NewCallback slots are a limited resource, so each kind
// of callback is created once and dispatches on its context value.
var (
	cbMu       sync.Mutex
	cbNext     uintptr
	cbNetEvent = map[uintptr]func(uintptr){}
	cbFilter   = map[uintptr]func(FilterChange){}

	netEventCallback = sync.OnceValue(func() uintptr {
		return windows.NewCallback(func(ctx, evt uintptr) uintptr {
			cbMu.Lock()
			fn := cbNetEvent[ctx]
			cbMu.Unlock()
			if fn != nil && evt != 0 {
				fn(evt)
			}
			return 0
		})
	})
	filterChangeCallback = sync.OnceValue(func() uintptr {
		return windows.NewCallback(func(ctx, change uintptr) uintptr {
			cbMu.Lock()
			fn := cbFilter[ctx]
			cbMu.Unlock()
			if fn != nil && change != 0 {
				c := (*fwpmFilterChange0)(ptrAt(change))
				fn(FilterChange{Added: c.ChangeType == 1, FilterID: c.FilterID, Key: c.FilterKey})
			}
			return 0
		})
	})
)

func register[T any](m map[uintptr]T, fn T) uintptr {
	cbMu.Lock()
	defer cbMu.Unlock()
	cbNext++
	m[cbNext] = fn
	return cbNext
}

func unregister[T any](m map[uintptr]T, id uintptr) {
	cbMu.Lock()
	delete(m, id)
	cbMu.Unlock()
}

var subscribeProcs = [...]*windows.LazyProc{procFwpmNetEventSubscribe0, procFwpmNetEventSubscribe1, procFwpmNetEventSubscribe2, procFwpmNetEventSubscribe3, procFwpmNetEventSubscribe4}
var enumProcs = [...]*windows.LazyProc{procFwpmNetEventEnum0, procFwpmNetEventEnum1, procFwpmNetEventEnum2, procFwpmNetEventEnum3, procFwpmNetEventEnum4, procFwpmNetEventEnum5}

// HasNetEventSubscribe reports whether fwpuclnt.dll exports
// FwpmNetEventSubscribe<n> (found with LazyProc.Find, without calling it).
func HasNetEventSubscribe(n int) bool {
	return n >= 0 && n < len(subscribeProcs) && subscribeProcs[n].Find() == nil
}

// HasNetEventEnum reports whether fwpuclnt.dll exports FwpmNetEventEnum<n>.
func HasNetEventEnum(n int) bool {
	return n >= 0 && n < len(enumProcs) && enumProcs[n].Find() == nil &&
		procFwpmNetEventCreateEnumHandle0.Find() == nil
}

// Subscription is a live net-event or filter-change subscription; Close
// ends it. The callback is not called after Close returns.
type Subscription struct {
	e      *Engine
	h      windows.Handle
	id     uintptr
	filter bool
	keep   any
}

// Close unsubscribes.
func (s *Subscription) Close() error {
	if s == nil || s.h == 0 {
		return nil
	}
	var err error
	if s.filter {
		err = wrap("FwpmFilterUnsubscribeChanges0", fwpmFilterUnsubscribeChanges0(s.e.h, s.h))
		unregister(cbFilter, s.id)
	} else {
		err = wrap("FwpmNetEventUnsubscribe0", fwpmNetEventUnsubscribe0(s.e.h, s.h))
		unregister(cbNetEvent, s.id)
	}
	s.h = 0
	return err
}

// SubscribeNetEvents subscribes with FwpmNetEventSubscribe<n>; fn receives
// the address of each FWPM_NET_EVENT<n+1>, valid only during the call (copy
// what you need; keep fn cheap). conds narrow what is delivered.
func (e *Engine) SubscribeNetEvents(n int, conds []Condition, fn func(evt uintptr)) (*Subscription, error) {
	name := fmt.Sprintf("FwpmNetEventSubscribe%d", n)
	if !HasNetEventSubscribe(n) {
		return nil, fmt.Errorf("%s: %w", name, ErrNoExport)
	}
	cc := buildConditions(conds)
	sub := &fwpmNetEventSubscription0{}
	if len(conds) > 0 {
		// No template at all when nothing narrows the subscription.
		sub.EnumTemplate = &fwpmNetEventEnumTemplate0{NumFilterConditions: uint32(len(conds)), FilterCondition: cc.ptr()}
	}
	id := register(cbNetEvent, fn)
	var h windows.Handle
	var err error
	cb := netEventCallback()
	switch n {
	case 0:
		err = fwpmNetEventSubscribe0(e.h, sub, cb, id, &h)
	case 1:
		err = fwpmNetEventSubscribe1(e.h, sub, cb, id, &h)
	case 2:
		err = fwpmNetEventSubscribe2(e.h, sub, cb, id, &h)
	case 3:
		err = fwpmNetEventSubscribe3(e.h, sub, cb, id, &h)
	case 4:
		err = fwpmNetEventSubscribe4(e.h, sub, cb, id, &h)
	}
	runtime.KeepAlive(cc)
	runtime.KeepAlive(sub)
	if err != nil {
		unregister(cbNetEvent, id)
		return nil, wrap(name, err)
	}
	return &Subscription{e: e, h: h, id: id}, nil
}

// EnumNetEvents reads the engine's stored net events between start and end
// with FwpmNetEventEnum<n>; fn receives the address of each FWPM_NET_EVENT<n>,
// valid only during the call.
func (e *Engine) EnumNetEvents(n int, start, end time.Time, conds []Condition, fn func(evt uintptr)) error {
	name := fmt.Sprintf("FwpmNetEventEnum%d", n)
	if !HasNetEventEnum(n) {
		return fmt.Errorf("%s: %w", name, ErrNoExport)
	}
	cc := buildConditions(conds)
	tmpl := &fwpmNetEventEnumTemplate0{StartTime: windows.NsecToFiletime(start.UnixNano()), EndTime: windows.NsecToFiletime(end.UnixNano()),
		NumFilterConditions: uint32(len(conds)), FilterCondition: cc.ptr()}
	var eh windows.Handle
	err := fwpmNetEventCreateEnumHandle0(e.h, tmpl, &eh)
	runtime.KeepAlive(cc)
	runtime.KeepAlive(tmpl)
	if err != nil {
		return wrap("FwpmNetEventCreateEnumHandle0", err)
	}
	defer fwpmNetEventDestroyEnumHandle0(e.h, eh)
	for {
		var entries unsafe.Pointer
		var got uint32
		var err error
		switch n {
		case 0:
			err = fwpmNetEventEnum0(e.h, eh, 256, &entries, &got)
		case 1:
			err = fwpmNetEventEnum1(e.h, eh, 256, &entries, &got)
		case 2:
			err = fwpmNetEventEnum2(e.h, eh, 256, &entries, &got)
		case 3:
			err = fwpmNetEventEnum3(e.h, eh, 256, &entries, &got)
		case 4:
			err = fwpmNetEventEnum4(e.h, eh, 256, &entries, &got)
		case 5:
			err = fwpmNetEventEnum5(e.h, eh, 256, &entries, &got)
		}
		if err != nil {
			return wrap(name, err)
		}
		if entries != nil {
			for _, p := range unsafe.Slice((*uintptr)(entries), got) {
				fn(p)
			}
			fwpmFreeMemory0(&entries)
		}
		if got < 256 {
			return nil
		}
	}
}

// SubscribeFilterChanges delivers filter additions and deletions to fn
// (FWPM_SUBSCRIPTION_FLAG_NOTIFY_ON_ADD|NOTIFY_ON_DELETE; flags 0 would ask
// for nothing). Changes made through e itself are not reported by the
// engine: subscribe on the handle the cache reads through, and make changes
// through another.
func (e *Engine) SubscribeFilterChanges(fn func(FilterChange)) (*Subscription, error) {
	if procFwpmFilterSubscribeChanges0.Find() != nil {
		return nil, fmt.Errorf("FwpmFilterSubscribeChanges0: %w", ErrNoExport)
	}
	sub := &fwpmFilterSubscription0{Flags: SubscriptionNotifyOnAdd | SubscriptionNotifyOnDelete}
	id := register(cbFilter, fn)
	var h windows.Handle
	err := fwpmFilterSubscribeChanges0(e.h, sub, filterChangeCallback(), id, &h)
	runtime.KeepAlive(sub)
	if err != nil {
		unregister(cbFilter, id)
		return nil, wrap("FwpmFilterSubscribeChanges0", err)
	}
	return &Subscription{e: e, h: h, id: id, filter: true}, nil
}

// Begin starts a transaction.
func (e *Engine) Begin() error { return wrap("FwpmTransactionBegin0", fwpmTransactionBegin0(e.h, 0)) }

// Commit commits the transaction.
func (e *Engine) Commit() error { return wrap("FwpmTransactionCommit0", fwpmTransactionCommit0(e.h)) }

// Abort aborts the transaction.
func (e *Engine) Abort() error { return wrap("FwpmTransactionAbort0", fwpmTransactionAbort0(e.h)) }

// AddFilter adds f and returns its run-time id.
func (e *Engine) AddFilter(f Filter) (uint64, error) {
	cc := buildConditions(f.Conditions)
	cf := &fwpmFilter0{FilterKey: f.Key, Flags: f.Flags, LayerKey: f.LayerKey, SubLayerKey: f.SubLayer,
		NumFilterConditions: uint32(len(f.Conditions)), FilterCondition: cc.ptr(), Action: fwpmAction0{Type: f.Action}}
	cf.DisplayData.Name, _ = windows.UTF16PtrFromString(f.Name)
	if f.Desc != "" {
		cf.DisplayData.Description, _ = windows.UTF16PtrFromString(f.Desc)
	}
	var id uint64
	err := fwpmFilterAdd0(e.h, cf, 0, &id)
	runtime.KeepAlive(cc)
	runtime.KeepAlive(cf)
	if err != nil {
		return 0, wrap("FwpmFilterAdd0", err)
	}
	return id, nil
}

// AddSubLayer adds a sublayer. Added through a dynamic session, it is
// removed with the session (after the session's filters).
func (e *Engine) AddSubLayer(s SubLayer) error {
	cs := &fwpmSubLayer0{SubLayerKey: s.Key, Weight: s.Weight}
	cs.DisplayData.Name, _ = windows.UTF16PtrFromString(s.Name)
	if s.Desc != "" {
		cs.DisplayData.Description, _ = windows.UTF16PtrFromString(s.Desc)
	}
	err := fwpmSubLayerAdd0(e.h, cs, 0)
	runtime.KeepAlive(cs)
	return wrap("FwpmSubLayerAdd0", err)
}

// DeleteFilter removes a filter by run-time id.
func (e *Engine) DeleteFilter(id uint64) error {
	return wrap(fmt.Sprintf("FwpmFilterDeleteById0(%d)", id), fwpmFilterDeleteById0(e.h, id))
}

// AppIDFromFileName returns the FWP app id (the NT device path as a
// UTF-16 blob) of a program file, as ALE_APP_ID conditions want it.
func AppIDFromFileName(path string) ([]byte, error) {
	p, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return nil, err
	}
	var b *fwpByteBlob
	if err := fwpmGetAppIdFromFileName0(p, &b); err != nil {
		return nil, wrap("FwpmGetAppIdFromFileName0", err)
	}
	out := append([]byte(nil), unsafe.Slice(b.Data, b.Size)...)
	up := unsafe.Pointer(b)
	fwpmFreeMemory0(&up)
	return out, nil
}

// utf16Bytes decodes NUL-terminated UTF-16LE bytes.
func utf16Bytes(b []byte) string {
	u := make([]uint16, 0, len(b)/2)
	for i := 0; i+1 < len(b); i += 2 {
		c := uint16(b[i]) | uint16(b[i+1])<<8
		if c == 0 {
			break
		}
		u = append(u, c)
	}
	return windows.UTF16ToString(u)
}

package wfp

import (
	"context"
	"errors"
	"fmt"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"

	"github.com/wfpwatch/wfpwatch/internal/source/wfpstate"
)

// statePage is how many objects one Fwpm*Enum0 call asks for.
const statePage = 256

// maxBlob bounds the bytes copied out of one FWP_BYTE_BLOB: a condition
// value or provider data larger than this is not a real one.
const maxBlob = 64 << 10

// txnReadOnly is FWPM_TXN_READ_ONLY.
const txnReadOnly = 0x1

// An enumerator is the Create/Enum/Destroy triple of one object type.
type enumerator struct {
	name    string // "Filter", for messages: FwpmFilterEnum0
	proc    *windows.LazyProc
	create  func(engine windows.Handle, tmpl uintptr, h *windows.Handle) error
	enum    func(engine, h windows.Handle, n uint32, entries *unsafe.Pointer, got *uint32) error
	destroy func(engine, h windows.Handle) error
}

var (
	providerEnum = enumerator{"Provider", procFwpmProviderEnum0, fwpmProviderCreateEnumHandle0, fwpmProviderEnum0, fwpmProviderDestroyEnumHandle0}
	subLayerEnum = enumerator{"SubLayer", procFwpmSubLayerEnum0, fwpmSubLayerCreateEnumHandle0, fwpmSubLayerEnum0, fwpmSubLayerDestroyEnumHandle0}
	layerEnum    = enumerator{"Layer", procFwpmLayerEnum0, fwpmLayerCreateEnumHandle0, fwpmLayerEnum0, fwpmLayerDestroyEnumHandle0}
	calloutEnum  = enumerator{"Callout", procFwpmCalloutEnum0, fwpmCalloutCreateEnumHandle0, fwpmCalloutEnum0, fwpmCalloutDestroyEnumHandle0}
	filterEnum   = enumerator{"Filter", procFwpmFilterEnum0, fwpmFilterCreateEnumHandle0, fwpmFilterEnum0, fwpmFilterDestroyEnumHandle0}
)

// State reads the engine's providers, sublayers, layers, callouts and
// filters, all of them (a nil enumeration template), inside one read-only
// transaction so that the five tables agree, and returns them in the model
// of a "netsh wfp show state" dump (Root "live", Time now). Every object is
// copied out before the engine's memory is freed: the Dump owns nothing of
// fwpuclnt's. It stops after wfpstate.MaxFilters filters with an error
// naming the bound, and between pages when ctx is cancelled, returning what
// it read with the error. The caller needs FWPM_ACTRL_ENUM and
// FWPM_ACTRL_READ rights: an administrator has them.
func (e *Engine) State(ctx context.Context) (d *wfpstate.Dump, err error) {
	d = &wfpstate.Dump{Root: "live", Time: time.Now().UTC()}
	if err := e.beginReadOnly(); err != nil {
		return d, err
	}
	defer func() {
		if err != nil {
			fwpmTransactionAbort0(e.h)
			return
		}
		err = wrap("FwpmTransactionCommit0", fwpmTransactionCommit0(e.h))
	}()
	steps := []struct {
		en   enumerator
		max  int
		each func(unsafe.Pointer)
	}{
		{providerEnum, maxObjects, func(p unsafe.Pointer) { d.Providers = append(d.Providers, providerOf((*fwpmProvider0)(p))) }},
		{subLayerEnum, maxObjects, func(p unsafe.Pointer) { d.SubLayers = append(d.SubLayers, subLayerOf((*fwpmSubLayer0)(p))) }},
		{layerEnum, maxObjects, func(p unsafe.Pointer) { d.Layers = append(d.Layers, layerOf((*fwpmLayer0)(p))) }},
		{calloutEnum, maxObjects, func(p unsafe.Pointer) { d.Callouts = append(d.Callouts, calloutOf((*fwpmCallout0)(p))) }},
		{filterEnum, wfpstate.MaxFilters, func(p unsafe.Pointer) { d.Filters = append(d.Filters, filterOf((*fwpmFilter0)(p))) }},
	}
	for _, s := range steps {
		if err := e.enumAll(ctx, s.en, s.max, s.each); err != nil {
			return d, err
		}
	}
	return d, nil
}

// maxObjects bounds the providers, sublayers, layers and callouts State
// keeps; real engines have a few hundred of each at most.
const maxObjects = 100_000

func (e *Engine) beginReadOnly() error {
	return wrap("FwpmTransactionBegin0(FWPM_TXN_READ_ONLY)", fwpmTransactionBegin0(e.h, txnReadOnly))
}

// enumAll creates an enumeration handle with a nil template (every
// object), hands each entry to each page by page, frees every page's array
// with FwpmFreeMemory0 (the engine owns the entries through it) and
// destroys the handle, on every path.
func (e *Engine) enumAll(ctx context.Context, en enumerator, max int, each func(unsafe.Pointer)) (err error) {
	call := "Fwpm" + en.name + "Enum0"
	if en.proc.Find() != nil {
		return fmt.Errorf("%s: %w", call, ErrNoExport)
	}
	var h windows.Handle
	if err := en.create(e.h, 0, &h); err != nil {
		return wrap("Fwpm"+en.name+"CreateEnumHandle0", err)
	}
	defer func() {
		if derr := en.destroy(e.h, h); derr != nil && err == nil {
			err = wrap("Fwpm"+en.name+"DestroyEnumHandle0", derr)
		}
	}()
	n := 0
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		var entries unsafe.Pointer
		var got uint32
		if err := en.enum(e.h, h, statePage, &entries, &got); err != nil {
			return wrap(call, err)
		}
		if got > statePage {
			got = statePage // never read past what was asked for
		}
		over := false
		if entries != nil {
			for _, p := range unsafe.Slice((*unsafe.Pointer)(entries), got) {
				if n >= max {
					over = true
					break
				}
				if p != nil {
					each(p)
					n++
				}
			}
			fwpmFreeMemory0(&entries)
		}
		if over {
			return fmt.Errorf("%s: %w: more than %d objects", call, errTooManyObjects, max)
		}
		if got < statePage {
			return nil
		}
	}
}

// errTooManyObjects is the bound of State.
var errTooManyObjects = errors.New("the engine holds more objects than wfpwatch reads")

func providerOf(p *fwpmProvider0) wfpstate.Provider {
	return wfpstate.Provider{Key: KeyName(p.ProviderKey), Name: windows.UTF16PtrToString(p.DisplayData.Name),
		Description: windows.UTF16PtrToString(p.DisplayData.Description), ServiceName: windows.UTF16PtrToString(p.ServiceName),
		Flags: ProviderFlags(p.Flags)}
}

func subLayerOf(s *fwpmSubLayer0) wfpstate.SubLayer {
	return wfpstate.SubLayer{Key: KeyName(s.SubLayerKey), Name: windows.UTF16PtrToString(s.DisplayData.Name),
		ProviderKey: keyAt(s.ProviderKey), Weight: s.Weight, Flags: SubLayerFlags(uint32(s.Flags))}
}

func layerOf(l *fwpmLayer0) wfpstate.Layer {
	return wfpstate.Layer{Key: KeyName(l.LayerKey), Name: windows.UTF16PtrToString(l.DisplayData.Name),
		DefaultSubLayer: KeyName(l.DefaultSubLayerKey), ID: l.LayerID, Flags: LayerFlags(l.Flags)}
}

func calloutOf(c *fwpmCallout0) wfpstate.Callout {
	return wfpstate.Callout{Key: KeyName(c.CalloutKey), Name: windows.UTF16PtrToString(c.DisplayData.Name),
		ProviderKey: keyAt(c.ProviderKey), Layer: KeyName(c.ApplicableLayer), ID: c.CalloutID, Flags: CalloutFlags(c.Flags)}
}

func filterOf(f *fwpmFilter0) wfpstate.Filter {
	out := wfpstate.Filter{
		ID: f.FilterID, Key: KeyName(f.FilterKey),
		Name: windows.UTF16PtrToString(f.DisplayData.Name), Description: windows.UTF16PtrToString(f.DisplayData.Description),
		Flags: FilterFlags(f.Flags), ProviderKey: keyAt(f.ProviderKey), LayerKey: KeyName(f.LayerKey),
		SubLayerKey: KeyName(f.SubLayerKey), Action: ActionName(f.Action.Type),
		Weight: valueOf(&f.Weight, false).String(),
	}
	if ew := valueOf(&f.EffectiveWeight, false); ew.Type == TypeUint64 {
		out.EffectiveWeight = ew.Uint
	}
	if IsCalloutAction(f.Action.Type) {
		out.CalloutKey = KeyName(f.Action.FilterType) // the union's calloutKey
	}
	if f.FilterCondition != nil && f.NumFilterConditions > 0 && f.NumFilterConditions <= 4096 {
		for _, c := range unsafe.Slice(f.FilterCondition, f.NumFilterConditions) {
			v := valueOf(&c.ConditionValue, true)
			out.Conditions = append(out.Conditions, wfpstate.Condition{Field: KeyName(c.FieldKey),
				Match: MatchTypeName(c.MatchType), Type: DataTypeName(v.Type), Value: v.String()})
		}
	}
	return out
}

func keyAt(g *GUID) string {
	if g == nil {
		return ""
	}
	return KeyName(*g)
}

// valueOf copies an FWP_VALUE0 (cond false) or FWP_CONDITION_VALUE0 (cond
// true: it adds the address-mask and range types) out of engine memory.
// A nil pointer leaves the value empty of data but keeps its type.
func valueOf(v *fwpValue0, cond bool) Value {
	out := Value{Type: v.Type}
	p := v.Value
	switch v.Type {
	case TypeUint8, TypeInt8, TypeBitmapIndex:
		out.Uint = uint64(uint8(p))
	case TypeUint16, TypeInt16:
		out.Uint = uint64(uint16(p))
	case TypeUint32, TypeInt32, TypeFloat:
		out.Uint = uint64(uint32(p))
	case TypeUint64, TypeInt64, TypeDouble:
		if p != 0 {
			out.Uint = *(*uint64)(ptrAt(p))
		}
	case TypeByteArray16:
		if p != 0 {
			out.Bytes = append([]byte(nil), unsafe.Slice((*byte)(ptrAt(p)), 16)...)
		}
	case TypeByteArray6:
		if p != 0 {
			out.Bytes = append([]byte(nil), unsafe.Slice((*byte)(ptrAt(p)), 6)...)
		}
	case TypeBitmapArray64:
		if p != 0 {
			out.Bytes = append([]byte(nil), unsafe.Slice((*byte)(ptrAt(p)), 8)...)
		}
	case TypeByteBlob, TypeTokenAccessInformation:
		out.Bytes = blobAt(p)
	case TypeSecurityDescriptor:
		if b := blobAt(p); len(b) >= 20 {
			out.Text = sddl(b)
		}
	case TypeSID:
		if p != 0 {
			out.Text = (*windows.SID)(ptrAt(p)).String()
		}
	case TypeUnicodeString:
		if p != 0 {
			out.Text = windows.UTF16PtrToString((*uint16)(ptrAt(p)))
		}
	case TypeV4AddrMask:
		if cond && p != 0 {
			m := (*fwpV4AddrAndMask)(ptrAt(p))
			out.Uint, out.Mask = uint64(m.Addr), m.Mask
		}
	case TypeV6AddrMask:
		if cond && p != 0 {
			m := (*fwpV6AddrAndMask)(ptrAt(p))
			out.Bytes, out.Mask = append([]byte(nil), m.Addr[:]...), uint32(m.PrefixLength)
		}
	case TypeRange:
		if cond && p != 0 {
			r := (*fwpRange0)(ptrAt(p))
			lo, hi := valueOf(&r.ValueLow, false), valueOf(&r.ValueHigh, false)
			out.Low, out.High = &lo, &hi
		}
	}
	return out
}

// blobAt copies the bytes of the FWP_BYTE_BLOB at addr, at most maxBlob.
func blobAt(addr uintptr) []byte {
	if addr == 0 {
		return nil
	}
	b := (*fwpByteBlob)(ptrAt(addr))
	if b.Data == nil || b.Size == 0 || b.Size > maxBlob {
		return nil
	}
	return append([]byte(nil), unsafe.Slice(b.Data, b.Size)...)
}

// sddl renders a self-relative security descriptor in SDDL, or "" when
// Windows cannot.
func sddl(b []byte) string {
	sd := (*windows.SECURITY_DESCRIPTOR)(unsafe.Pointer(&b[0]))
	if !sd.IsValid() {
		return ""
	}
	return sd.String()
}

package fwlog

import (
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"

	ole "github.com/go-ole/go-ole"
	"github.com/go-ole/go-ole/oleutil"
)

// SystemConfig returns the Config of this machine's firewall: the
// MSFT_NetFirewallProfile instances of the WMI namespace root\StandardCimv2
// (the provider behind Get-/Set-NetFirewallProfile), read through the
// WbemScripting automation objects. The "PolicyStore" context value picks
// the store: PersistentStore (the local settings, which Set changes) or
// ActiveStore (the settings in force, Group Policy included). Changing
// settings needs an elevated process.
//
// Not run on Windows during development (no Windows machine was
// available): it follows the documented class and the SWbem scripting API.
func SystemConfig() Config { return wmiConfig{} }

type wmiConfig struct{}

// wbemFlagReturnWhenComplete | wbemFlagForwardOnly is not used: a
// synchronous query (flags 0) keeps the enumeration simple for three rows.
const (
	wbemChangeFlagUpdateOnly = 1
	profileQuery             = "SELECT * FROM MSFT_NetFirewallProfile"
)

// withWMI runs fn on a locked OS thread with COM initialised and a
// connection to root\StandardCimv2. fn must not keep the IDispatch.
func withWMI(fn func(svc *ole.IDispatch) error) error {
	return withNamespace(`root\StandardCimv2`, fn)
}

// withNamespace runs fn with a connection to the WMI namespace ns on the
// local machine.
func withNamespace(ns string, fn func(svc *ole.IDispatch) error) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	const rpcEChangedMode = 0x80010106
	if err := ole.CoInitializeEx(0, ole.COINIT_MULTITHREADED); err == nil {
		defer ole.CoUninitialize()
	} else {
		var oe *ole.OleError
		switch {
		case errors.As(err, &oe) && oe.Code() == 1:
			// S_FALSE: already initialised on this thread; balance it.
			defer ole.CoUninitialize()
		case errors.As(err, &oe) && oe.Code() == rpcEChangedMode:
			// Initialised as single-threaded by someone else: usable,
			// and not ours to uninitialise.
		default:
			return fmt.Errorf("CoInitializeEx: %w", err)
		}
	}
	unk, err := oleutil.CreateObject("WbemScripting.SWbemLocator")
	if err != nil {
		return comErr("CreateObject WbemScripting.SWbemLocator", err)
	}
	defer unk.Release()
	loc, err := unk.QueryInterface(ole.IID_IDispatch)
	if err != nil {
		return comErr("SWbemLocator QueryInterface", err)
	}
	defer loc.Release()
	v, err := oleutil.CallMethod(loc, "ConnectServer", ".", ns)
	if err != nil {
		return comErr("SWbemLocator.ConnectServer "+ns, err)
	}
	svc := v.ToIDispatch()
	defer v.Clear()
	return fn(svc)
}

// storeContext returns an SWbemNamedValueSet with PolicyStore=store; the
// caller releases it.
func storeContext(store string) (*ole.IDispatch, error) {
	unk, err := oleutil.CreateObject("WbemScripting.SWbemNamedValueSet")
	if err != nil {
		return nil, comErr("CreateObject WbemScripting.SWbemNamedValueSet", err)
	}
	defer unk.Release()
	ctx, err := unk.QueryInterface(ole.IID_IDispatch)
	if err != nil {
		return nil, comErr("SWbemNamedValueSet QueryInterface", err)
	}
	if _, err := oleutil.CallMethod(ctx, "Add", "PolicyStore", store); err != nil {
		ctx.Release()
		return nil, comErr("SWbemNamedValueSet.Add PolicyStore", err)
	}
	return ctx, nil
}

// eachProfile runs fn for each MSFT_NetFirewallProfile of store.
func eachProfile(svc *ole.IDispatch, store string, fn func(item *ole.IDispatch, ctx *ole.IDispatch) error) error {
	return eachInstance(svc, profileQuery, store, fn)
}

// eachInstance runs fn for each result of the WQL query, run with the
// context PolicyStore=store. fn must not keep item or ctx.
func eachInstance(svc *ole.IDispatch, query, store string, fn func(item *ole.IDispatch, ctx *ole.IDispatch) error) error {
	ctx, err := storeContext(store)
	if err != nil {
		return err
	}
	defer ctx.Release()
	res, err := oleutil.CallMethod(svc, "ExecQuery", query, "WQL", 0, ctx)
	if err != nil {
		return comErr("ExecQuery "+query+" ("+store+")", err)
	}
	defer res.Clear()
	return oleutil.ForEach(res.ToIDispatch(), func(v *ole.VARIANT) error {
		item := v.ToIDispatch()
		return fn(item, ctx)
	})
}

func (wmiConfig) Get() (local, effective []ProfileLog, err error) {
	err = withWMI(func(svc *ole.IDispatch) error {
		for _, store := range []string{"PersistentStore", "ActiveStore"} {
			err := eachProfile(svc, store, func(item, _ *ole.IDispatch) error {
				p, err := readProfile(item)
				if err != nil {
					return err
				}
				p.Store = store
				if store == "ActiveStore" {
					effective = append(effective, p)
				} else {
					local = append(local, p)
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	// Group Policy is in force when the effective value differs from the
	// local one.
	for i := range effective {
		if l, ok := find(local, effective[i].Profile); ok && (l.LogBlocked != effective[i].LogBlocked || !strings.EqualFold(l.FileName, effective[i].FileName)) {
			effective[i].GPO = true
		}
	}
	return local, effective, nil
}

// propValue reads a property of an SWbemObject through its Properties_
// collection (SWbemPropertySet.Item(name).Value), the documented path that
// works also where direct dispatch names are not implemented.
func propValue(item *ole.IDispatch, name string) (any, error) {
	prop, err := wbemProperty(item, name)
	if err != nil {
		return nil, err
	}
	defer prop.Release()
	v, err := oleutil.GetProperty(prop, "Value")
	if err != nil {
		return nil, comErr("SWbemProperty.Value ("+name+")", err)
	}
	defer v.Clear()
	return v.Value(), nil
}

// setProp writes a property of an SWbemObject (SWbemProperty.Value = v);
// Put_ commits it.
func setProp(item *ole.IDispatch, name string, value any) error {
	prop, err := wbemProperty(item, name)
	if err != nil {
		return err
	}
	defer prop.Release()
	if _, err := oleutil.PutProperty(prop, "Value", value); err != nil {
		return comErr(fmt.Sprintf("SWbemProperty.Value (%s) = %v", name, value), err)
	}
	return nil
}

// wbemProperty returns item.Properties_.Item(name); the caller releases it.
func wbemProperty(item *ole.IDispatch, name string) (*ole.IDispatch, error) {
	ps, err := oleutil.GetProperty(item, "Properties_")
	if err != nil {
		return nil, comErr("SWbemObject.Properties_", err)
	}
	defer ps.Clear()
	pv, err := oleutil.CallMethod(ps.ToIDispatch(), "Item", name)
	if err != nil {
		return nil, comErr("SWbemPropertySet.Item "+name, err)
	}
	d := pv.ToIDispatch()
	d.AddRef()
	pv.Clear()
	return d, nil
}

func readProfile(item *ole.IDispatch) (ProfileLog, error) {
	var p ProfileLog
	get := func(name string) (any, error) { return propValue(item, name) }
	name, err := get("Name")
	if err != nil {
		return p, err
	}
	p.Profile, _ = name.(string)
	for _, f := range []struct {
		prop string
		dst  *Tristate
	}{{"LogBlocked", &p.LogBlocked}, {"LogAllowed", &p.LogAllowed}} {
		v, err := get(f.prop)
		if err != nil {
			return p, err
		}
		n, ok := toUint(v)
		if !ok {
			return p, fmt.Errorf("MSFT_NetFirewallProfile.%s: unexpected value %v", f.prop, v)
		}
		*f.dst = Tristate(n)
	}
	v, err := get("LogFileName")
	if err != nil {
		return p, err
	}
	p.FileName, _ = v.(string)
	v, err = get("LogMaxSizeKilobytes")
	if err != nil {
		return p, err
	}
	p.MaxSizeKB, _ = toUint(v)
	return p, nil
}

// toUint reads an automation integer; 64-bit WMI integers arrive as
// strings.
func toUint(v any) (uint64, bool) {
	switch x := v.(type) {
	case uint8:
		return uint64(x), true
	case uint16:
		return uint64(x), true
	case uint32:
		return uint64(x), true
	case uint64:
		return x, true
	case int8:
		return uint64(x), x >= 0
	case int16:
		return uint64(x), x >= 0
	case int32:
		return uint64(x), x >= 0
	case int64:
		return uint64(x), x >= 0
	case string:
		n, err := strconv.ParseUint(x, 10, 64)
		return n, err == nil
	}
	return 0, false
}

func (wmiConfig) Set(profile string, s Setting, value any) error {
	var v any
	switch x := value.(type) {
	case Tristate:
		v = int32(x)
	case string:
		v = x
	case uint64:
		v = strconv.FormatUint(x, 10) // uint64 goes through automation as a string
	default:
		return fmt.Errorf("set %s: unsupported value %T", s, value)
	}
	found := false
	err := withWMI(func(svc *ole.IDispatch) error {
		return eachProfile(svc, "PersistentStore", func(item, ctx *ole.IDispatch) error {
			nv, err := propValue(item, "Name")
			if err != nil {
				return err
			}
			if name, _ := nv.(string); !strings.EqualFold(name, profile) {
				return nil
			}
			found = true
			if err := setProp(item, string(s), v); err != nil {
				return err
			}
			if _, err := oleutil.CallMethod(item, "Put_", wbemChangeFlagUpdateOnly, ctx); err != nil {
				return comErr("MSFT_NetFirewallProfile.Put_ ("+profile+" profile)", err)
			}
			return nil
		})
	})
	if err == nil && !found {
		err = fmt.Errorf("no firewall profile %q", profile)
	}
	return err
}

// wbemErrors explains the WMI status codes an administrator can act on.
var wbemErrors = map[uint32]string{
	0x80041003: "access denied: run as administrator (changing the firewall's settings needs an elevated prompt)",
	0x8004100E: "invalid namespace: the firewall's WMI provider (root\\StandardCimv2, MSFT_NetFirewallProfile) is missing; it ships with Windows 8 / Server 2012 and later",
	0x80041010: "invalid class: MSFT_NetFirewallProfile is missing (Windows 8 / Server 2012 or later is needed)",
	0x80041002: "not found",
	0x80070005: "access denied: run as administrator",
}

// comErr wraps a COM/WMI error of the call op with its HRESULT, the WMI
// status inside a DISP_E_EXCEPTION, and what to do when that is known.
func comErr(op string, err error) error {
	var oe *ole.OleError
	if !errors.As(err, &oe) {
		return fmt.Errorf("%s: %w", op, err)
	}
	code := uint32(oe.Code())
	msg := fmt.Sprintf("%s: HRESULT 0x%08X", op, code)
	if d := strings.TrimSpace(oe.Description()); d != "" && d != "<nil>" {
		msg += " (" + d + ")"
	}
	if ei, ok := oe.SubError().(ole.EXCEPINFO); ok && ei.SCODE() != 0 {
		code = ei.SCODE()
		msg += fmt.Sprintf(", status 0x%08X", code)
	}
	if why, ok := wbemErrors[code]; ok {
		msg += ": " + why
	}
	return &comError{msg: msg, err: err}
}

// comError prints the explained message and unwraps to go-ole's error.
type comError struct {
	msg string
	err error
}

func (e *comError) Error() string { return e.msg }
func (e *comError) Unwrap() error { return e.err }

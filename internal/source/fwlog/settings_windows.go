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
		return fmt.Errorf("CreateObject WbemScripting.SWbemLocator: %w", err)
	}
	defer unk.Release()
	loc, err := unk.QueryInterface(ole.IID_IDispatch)
	if err != nil {
		return fmt.Errorf("SWbemLocator QueryInterface: %w", err)
	}
	defer loc.Release()
	v, err := oleutil.CallMethod(loc, "ConnectServer", nil, `root\StandardCimv2`)
	if err != nil {
		return fmt.Errorf(`SWbemLocator.ConnectServer root\StandardCimv2: %w`, err)
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
		return nil, fmt.Errorf("CreateObject WbemScripting.SWbemNamedValueSet: %w", err)
	}
	defer unk.Release()
	ctx, err := unk.QueryInterface(ole.IID_IDispatch)
	if err != nil {
		return nil, fmt.Errorf("SWbemNamedValueSet QueryInterface: %w", err)
	}
	if _, err := oleutil.CallMethod(ctx, "Add", "PolicyStore", store); err != nil {
		ctx.Release()
		return nil, fmt.Errorf("SWbemNamedValueSet.Add PolicyStore: %w", err)
	}
	return ctx, nil
}

// eachProfile runs fn for each MSFT_NetFirewallProfile of store.
func eachProfile(svc *ole.IDispatch, store string, fn func(item *ole.IDispatch, ctx *ole.IDispatch) error) error {
	ctx, err := storeContext(store)
	if err != nil {
		return err
	}
	defer ctx.Release()
	res, err := oleutil.CallMethod(svc, "ExecQuery", profileQuery, "WQL", 0, ctx)
	if err != nil {
		return fmt.Errorf("ExecQuery %s (%s): %w", profileQuery, store, err)
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
		return nil, nil, hint(err)
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

func readProfile(item *ole.IDispatch) (ProfileLog, error) {
	var p ProfileLog
	get := func(name string) (any, error) {
		v, err := oleutil.GetProperty(item, name)
		if err != nil {
			return nil, fmt.Errorf("MSFT_NetFirewallProfile.%s: %w", name, err)
		}
		defer v.Clear()
		return v.Value(), nil
	}
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
			nv, err := oleutil.GetProperty(item, "Name")
			if err != nil {
				return fmt.Errorf("MSFT_NetFirewallProfile.Name: %w", err)
			}
			name := nv.ToString()
			nv.Clear()
			if !strings.EqualFold(name, profile) {
				return nil
			}
			found = true
			if _, err := oleutil.PutProperty(item, string(s), v); err != nil {
				return fmt.Errorf("MSFT_NetFirewallProfile.%s = %v: %w", s, v, err)
			}
			if _, err := oleutil.CallMethod(item, "Put_", wbemChangeFlagUpdateOnly, ctx); err != nil {
				return fmt.Errorf("MSFT_NetFirewallProfile.Put_ (%s profile): %w", profile, err)
			}
			return nil
		})
	})
	if err == nil && !found {
		err = fmt.Errorf("no firewall profile %q", profile)
	}
	return hint(err)
}

// hint adds what to do for the usual failure.
func hint(err error) error {
	if err == nil {
		return nil
	}
	s := err.Error()
	if strings.Contains(s, "Access denied") || strings.Contains(s, "0x80041003") || strings.Contains(s, "Access is denied") {
		return fmt.Errorf("%w (changing the firewall's settings needs an elevated prompt: run as administrator)", err)
	}
	return err
}

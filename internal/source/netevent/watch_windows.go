package netevent

import (
	"io"
	"time"
	"unsafe"

	"github.com/wfpwatch/wfpwatch/internal/wfp"
)

// rawMemory reads this process's memory: the structs fwpuclnt hands to the
// callback or returns from an enumeration, valid while that lasts.
type rawMemory struct{}

func (rawMemory) Bytes(addr uint64, n int) []byte {
	if addr == 0 || n <= 0 {
		return nil
	}
	p := uintptr(addr)
	return unsafe.Slice((*byte)(*(*unsafe.Pointer)(unsafe.Pointer(&p))), n)
}

// LiveMemory is the Memory that reads structs fwpuclnt handed out.
var LiveMemory Memory = rawMemory{}

type engineAdapter struct{ *wfp.Engine }

func (a engineAdapter) SubscribeNetEvents(n int, conds []wfp.Condition, fn func(uintptr)) (io.Closer, error) {
	s, err := a.Engine.SubscribeNetEvents(n, conds, fn)
	if err != nil {
		return nil, err
	}
	return s, nil
}

func (a engineAdapter) EnumNetEvents(n int, start, end time.Time, conds []wfp.Condition, fn func(uintptr)) error {
	return a.Engine.EnumNetEvents(n, start, end, conds, fn)
}

// NewWatcher returns a Watcher on the local engine: the newest
// FwpmNetEventSubscribe the DLL exports, found with LazyProc.Find.
func NewWatcher(cfg Config) (*Watcher, error) {
	return &Watcher{
		Open: func() (Engine, error) {
			e, err := wfp.Open(wfp.OpenOptions{})
			if err != nil {
				return nil, err
			}
			return engineAdapter{e}, nil
		},
		HasSubscribe: wfp.HasNetEventSubscribe,
		HasEnum:      wfp.HasNetEventEnum,
		Mem:          LiveMemory,
		Cfg:          cfg,
	}, nil
}

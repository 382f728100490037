package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/wfpwatch/wfpwatch/internal/audit"
	"github.com/wfpwatch/wfpwatch/internal/event"
	"github.com/wfpwatch/wfpwatch/internal/source/netevent"
	"github.com/wfpwatch/wfpwatch/internal/wfp"
)

// winSelftestEnv adds the self-test filters in a dynamic session of the
// real engine and trips them with real sockets.
type winSelftestEnv struct {
	eng   *wfp.Engine
	appID []byte
}

func (w *winSelftestEnv) AddFilters(cases []wfp.SelftestCase) ([]uint64, error) {
	eng, err := wfp.Open(wfp.OpenOptions{Dynamic: true, Name: "wfpwatch selftest"})
	if err != nil {
		return nil, err
	}
	w.eng = eng
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("finding this program's path: %w", err)
	}
	if w.appID, err = wfp.AppIDFromFileName(exe); err != nil {
		return nil, err
	}
	if err := eng.Begin(); err != nil {
		return nil, err
	}
	// Its own sublayer, weighted highest, and hard blocks: a third party's
	// hard permit in another sublayer cannot hide the self-test's blocks.
	sublayer := wfp.RandomGUID()
	if err := eng.AddSubLayer(wfp.SelftestSubLayer(sublayer)); err != nil {
		eng.Abort()
		return nil, fmt.Errorf("adding the self-test sublayer: %w", err)
	}
	ids := make([]uint64, 0, len(cases))
	for _, c := range cases {
		id, err := eng.AddFilter(c.Filter(sublayer, w.appID))
		if err != nil {
			eng.Abort()
			return nil, fmt.Errorf("adding the %s filter: %w", c.Name, err)
		}
		ids = append(ids, id)
	}
	if err := eng.Commit(); err != nil {
		return nil, err
	}
	return ids, nil
}

func (w *winSelftestEnv) Trigger(c wfp.SelftestCase) string {
	netw, udp := "tcp4", "udp4"
	if c.V6 {
		netw, udp = "tcp6", "udp6"
	}
	addr := net.JoinHostPort(c.Loopback().String(), strconv.Itoa(int(c.Port)))
	outcome := func(err error) string {
		if err != nil {
			return c.Trigger + ": failed (" + shortErr(err) + ")"
		}
		return c.Trigger + ": succeeded"
	}
	switch c.Trigger {
	case "listen":
		ln, err := net.Listen(netw, addr)
		if err == nil {
			ln.Close()
		}
		return outcome(err)
	case "connect":
		// From the client port the filter matches: this socket only.
		d := net.Dialer{Timeout: 2 * time.Second, LocalAddr: &net.TCPAddr{IP: net.IP(c.Loopback().AsSlice()), Port: int(c.ClientPort)}}
		conn, err := d.Dial(netw, addr)
		if err == nil {
			conn.Close()
		}
		return outcome(err)
	case "accept":
		ln, err := net.Listen(netw, addr)
		if err != nil {
			return "accept: could not listen (" + shortErr(err) + ")"
		}
		defer ln.Close()
		conn, err := net.DialTimeout(netw, addr, 2*time.Second)
		if err == nil {
			conn.Close()
		}
		return outcome(err)
	case "bind":
		pc, err := net.ListenPacket(udp, addr)
		if err == nil {
			pc.Close()
		}
		return outcome(err)
	}
	return "unknown trigger"
}

func shortErr(err error) string {
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return op.Err.Error()
	}
	return err.Error()
}

func (w *winSelftestEnv) RemoveFilters(ids []uint64) error {
	if w.eng == nil {
		return nil
	}
	var errs []error
	for _, id := range ids {
		if err := w.eng.DeleteFilter(id); err != nil && wfp.Status(err) != wfp.ErrFilterNotFound {
			errs = append(errs, err)
		}
	}
	errs = append(errs, w.eng.Close())
	w.eng = nil
	return errors.Join(errs...)
}

func (w *winSelftestEnv) Gone(ids []uint64) ([]bool, error) {
	eng, err := wfp.Open(wfp.OpenOptions{})
	if err != nil {
		return nil, err
	}
	defer eng.Close()
	out := make([]bool, len(ids))
	for i, id := range ids {
		_, err := eng.FilterByID(id)
		out[i] = wfp.Status(err) == wfp.ErrFilterNotFound
	}
	return out, nil
}

func selftest(ctx context.Context, o selftestOptions, w io.Writer) (bool, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var sources []selftestSource
	var wait []chan error
	for _, name := range o.sources {
		switch name {
		case "netevent":
			ch := make(chan event.Event, 256)
			ready := make(chan netevent.Version, 1)
			watcher, err := netevent.NewWatcher(netevent.Config{
				Interval: 2 * time.Second,
				Options:  engineOptionState(audit.DefaultStatePath(), "selftest"),
				Log:      func(f string, a ...any) { fmt.Fprintf(w, f+"\n", a...) },
				OnSubscribed: func(v netevent.Version) {
					select {
					case ready <- v:
					default:
					}
				},
			})
			if err != nil {
				sources = append(sources, selftestSource{name: name, err: err})
				continue
			}
			done := make(chan error, 1)
			wait = append(wait, done)
			go func() {
				done <- watcher.Run(ctx, func(e *event.Event) {
					select {
					case ch <- *e:
					default:
					}
				})
				close(ch)
			}()
			select {
			case v := <-ready:
				fmt.Fprintf(w, "netevent: subscribed (FWPM_NET_EVENT%d)\n", v)
				sources = append(sources, selftestSource{name: name, events: ch})
			case err := <-done:
				if err == nil {
					err = ctx.Err()
				}
				sources = append(sources, selftestSource{name: name, err: err})
			case <-time.After(10 * time.Second):
				sources = append(sources, selftestSource{name: name, err: errors.New("no subscription after 10 s")})
			}
		case "evtlog":
			if selftestEvtlog == nil {
				sources = append(sources, selftestSource{name: name, err: errors.New("the live Security-log source is not part of this build")})
				continue
			}
			ch, done, err := selftestEvtlog(ctx, func(f string, a ...any) { fmt.Fprintf(w, f+"\n", a...) })
			if done != nil {
				d := make(chan error, 1)
				wait = append(wait, d)
				go func() { d <- <-done }()
			}
			sources = append(sources, selftestSource{name: name, events: ch, err: err})
		default:
			return false, fmt.Errorf("%w: unknown source %q (netevent, evtlog)", errUsage, name)
		}
	}
	ok, err := runSelftest(ctx, &winSelftestEnv{}, sources, o, w)
	cancel()
	for _, d := range wait {
		<-d // the watcher restores engine options before returning
	}
	return ok, err
}

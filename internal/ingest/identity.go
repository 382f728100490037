package ingest

import (
	"time"

	"github.com/wfpwatch/wfpwatch/internal/event"
)

// fingerprints gives every event of one input that has no record identity
// of its own (event.HasRecordIdentity) and no Fingerprint from its reader
// a content fingerprint, so that the history store keeps one copy of a
// record however often it is read. Records of the same content and time
// within the input are numbered (the second is occurrence 1…), so that
// real repeats are all kept. Repeats are counted only among records of the
// same time, which inputs keep together (they are in time order, forward
// or backward); the count is cleared when the time changes, so memory stays
// small.
type fingerprints struct {
	at   time.Time
	seen map[uint64]uint32
}

// wrap returns emit with fingerprints added.
func (f *fingerprints) wrap(emit Emit) Emit {
	return func(e *event.Event) error {
		if e.Fingerprint == 0 && !event.HasRecordIdentity(e) {
			fp := event.Fingerprint(e, 0)
			switch {
			case f.seen == nil:
				f.seen = make(map[uint64]uint32)
			case e.Time.Equal(f.at):
			case len(f.seen) > 1024: // a burst grew it: let it go
				f.seen = make(map[uint64]uint32)
			case len(f.seen) > 0:
				clear(f.seen)
			}
			f.at = e.Time
			n := f.seen[fp]
			f.seen[fp] = n + 1
			e.Fingerprint = event.Occurrence(fp, n)
		}
		return emit(e)
	}
}

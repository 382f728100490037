package store

import "github.com/wfpwatch/wfpwatch/internal/event"

// DimValue returns the value that Top counts e under for a dimension
// (DimApp, DimPort, DimRemote, DimRule), so that a top-N over events in
// memory ('wfpwatch analyze --top') counts as the history does.
func DimValue(e *event.Event, dim int) string { return dimValue(e, dim) }

//go:build !windows

package enrich

// New returns an Enricher for live events; off Windows it has only the
// \device\mup\ and \??\ rules (there are no volumes to ask).
func New() *Enricher {
	return &Enricher{Paths: &PathMap{}}
}

package wfpstate

import (
	"fmt"

	"github.com/wfpwatch/wfpwatch/internal/xmlguard"
)

// Bounds on what one input may make Read hold, whatever the input. A state
// dump is about ten levels deep and its largest text a filter description,
// so anything near these is damage or an attack.
const (
	// MaxDepth is the deepest element nesting Read follows.
	MaxDepth = 64
	// MaxToken is the largest single piece of markup or text (a tag with
	// its attributes, a text node, a comment, a CDATA section).
	MaxToken = 1 << 20
	// MaxFilters is the most filters one dump may hold; real engines
	// carry a few thousand.
	MaxFilters = 1 << 20
)

var (
	// errTooDeep and errTokenLarge are what the xmlguard.Reader under the
	// decoder wraps.
	errTooDeep    = xmlguard.ErrTooDeep
	errTokenLarge = xmlguard.ErrTokenTooLarge
	errTooMany    = fmt.Errorf("more than %d filters: not a WFP state dump, or damaged", MaxFilters)
)

// guardLimits bound the bytes under the decoder.
var guardLimits = xmlguard.Limits{MaxToken: MaxToken, MaxDepth: MaxDepth, What: "a WFP state dump"}

package diag

import (
	"math"
	"testing"
	"time"
)

// inputValue is one model input's reading in a check test's fake bus.
type inputValue struct {
	in int // InPackI, ...
	v  float64
}

// readInputs is a check's Read over the readings vals: a path that is not
// among them, or a NaN reading, is missing.
func readInputs(path string, vals []inputValue) (float64, bool) {
	for _, x := range vals {
		if ModelInputPaths[x.in] == path {
			return x.v, !math.IsNaN(x.v)
		}
	}
	return 0, false
}

// finiteEvidence fails the test when a change's evidence holds a value
// that is not a number (NaN or ±Inf): the store and uplink carry it as JSON.
func finiteEvidence(t *testing.T, ch *CheckChange) {
	t.Helper()
	if ch == nil {
		return
	}
	for key, val := range ch.Evidence {
		if math.IsNaN(val) || math.IsInf(val, 0) {
			t.Fatalf("evidence %s = %v", key, val)
		}
	}
}

// noAllocSteps fails the test when stepping c once a second over reads
// (3000 steps, after a first) allocates.
func noAllocSteps(t *testing.T, c Check, reads []Read) {
	t.Helper()
	s := 0
	if n := testing.AllocsPerRun(len(reads)-2, func() {
		c.Step(t0.Add(time.Duration(s)*time.Second), reads[s])
		s++
	}); n != 0 {
		t.Errorf("%s: %v allocations a step", c.Name(), n)
	}
}

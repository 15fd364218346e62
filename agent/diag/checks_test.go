package diag

import "math"

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

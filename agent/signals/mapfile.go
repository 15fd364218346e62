package signals

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/evedge/evedge/agent/config"
)

// Mapping names one DBC signal in the vehicle's common vocabulary.
type Mapping struct {
	// Message and Signal name the DBC signal.
	Message string `toml:"message"`
	Signal  string `toml:"signal"`
	// VSS is a COVESA VSS path ("Vehicle.Speed") or, where VSS has no
	// such signal, "Vehicle.Private.<Vendor>.<Name>".
	VSS string `toml:"vss"`
	// Unit of the mapped value, in VSS unit spelling ("km/h", "percent", "V").
	Unit string `toml:"unit"`
	// Rate is the expected period of the signal on the bus; a value older
	// than three periods is stale. Empty means "event driven".
	Rate Duration `toml:"rate"`
	// Scale and Add convert the DBC value to the mapped unit:
	// vss = dbc*scale + add. Scale defaults to 1.
	Scale float64 `toml:"scale"`
	Add   float64 `toml:"add"`
	// Values maps the states of an enumerated signal onto VSS values, for
	// a state the DBC encodes as a number ("0 open 1 precharge 2 closed")
	// where VSS wants another (IsPowerConnected: 0 or 1). Keys name the
	// DBC's raw values, as integers ("2") or by their value-table (VAL_)
	// names ("closed"). A raw value not listed gives no value (the VSS
	// value goes stale). It replaces the DBC's factor and offset, so it
	// cannot be combined with scale or add.
	Values map[string]float64 `toml:"values"`
	// Description is free text for people.
	Description string `toml:"description"`

	states []state // Values resolved against the DBC by Database.Apply, by raw
}

// state is one resolved entry of Mapping.Values.
type state struct {
	raw   int64
	value float64
}

// lookup returns the VSS value of raw, or false when the map lists none.
// It does not allocate (a handful of states: a linear scan).
func (mp *Mapping) lookup(raw int64) (float64, bool) {
	for _, s := range mp.states {
		if s.raw == raw {
			return s.value, true
		}
	}
	return 0, false
}

// Duration is a time.Duration that reads "100ms", "1s" in TOML.
type Duration struct{ time.Duration }

// UnmarshalText parses a Go duration string.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("expected a duration like \"100ms\" or \"1s\", got %q", b)
	}
	if v < 0 {
		return fmt.Errorf("expected a positive duration, got %q", b)
	}
	d.Duration = v
	return nil
}

// MarshalText formats the duration.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// Map is a vehicle's signal map file.
type Map struct {
	File    string    `toml:"-"`
	Vehicle VehicleID `toml:"vehicle"`
	Signals []Mapping `toml:"signal"`

	lines []int // line of each [[signal]] header
}

// VehicleID describes the vehicle a map is for.
type VehicleID struct {
	Name   string `toml:"name"`
	Vendor string `toml:"vendor"`
	// DBC is the DBC file the map was written against (informational; the
	// agent takes the DBC from --dbc or the board profile).
	DBC string `toml:"dbc"`
}

// LoadMap reads a signal map file.
func LoadMap(path string) (*Map, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("signal map: %w", err)
	}
	return ParseMap(path, data)
}

// ParseMap parses signal map TOML; name is used in error messages. Unknown
// keys are errors, so a typo never silently drops a signal.
func ParseMap(name string, data []byte) (*Map, error) {
	m := &Map{File: name}
	if err := config.DecodeStrict(name, data, m); err != nil {
		return nil, fmt.Errorf("signal map: %w", err)
	}
	m.lines = headerLines(data, "[[signal]]")
	seen := map[string]int{}
	for i := range m.Signals {
		s := &m.Signals[i]
		where := m.where(i)
		if s.Values != nil {
			if err := checkValues(s); err != nil {
				return nil, fmt.Errorf("signal map: %s: %v", where, err)
			}
		}
		if s.Scale == 0 {
			s.Scale = 1
		}
		switch {
		case s.Message == "":
			return nil, fmt.Errorf("signal map: %s: field \"message\" is missing (expected the DBC message name)", where)
		case s.Signal == "":
			return nil, fmt.Errorf("signal map: %s: field \"signal\" is missing (expected the DBC signal name)", where)
		case s.VSS == "":
			return nil, fmt.Errorf("signal map: %s: field \"vss\" is missing (expected a VSS path such as Vehicle.Speed)", where)
		}
		if err := ValidVSSPath(s.VSS); err != nil {
			return nil, fmt.Errorf("signal map: %s: field \"vss\": %v", where, err)
		}
		if j, dup := seen[s.VSS]; dup {
			return nil, fmt.Errorf("signal map: %s: field \"vss\": %s is already mapped by %s", where, s.VSS, m.where(j))
		}
		seen[s.VSS] = i
	}
	return m, nil
}

// checkValues checks what can be checked of a values table without the DBC.
func checkValues(s *Mapping) error {
	if s.Scale != 0 || s.Add != 0 {
		return fmt.Errorf("field \"values\" cannot be combined with scale or add (the table gives the VSS value of each state)")
	}
	if len(s.Values) == 0 {
		return fmt.Errorf("field \"values\" is empty (expected states such as { open = 0, closed = 1 })")
	}
	for _, k := range sortedKeys(s.Values) {
		v := s.Values[k]
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("field \"values\": %q: %v is not a value", k, v)
		}
		if strings.TrimSpace(k) == "" {
			return fmt.Errorf("field \"values\": an empty key (expected a raw value such as \"2\" or a value-table name such as \"closed\")")
		}
	}
	return nil
}

func sortedKeys(m map[string]float64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// resolveValues turns e.Values into raw states of signal s: a key is one of
// the signal's value-table names (any case) or an integer raw value the
// signal can carry.
func resolveValues(e *Mapping, s *Signal) error {
	if s.Kind == Float32 || s.Kind == Float64 {
		return fmt.Errorf("field \"values\": %s.%s is a floating-point signal, not a state", s.Message.Name, s.Name)
	}
	lo, hi := int64(0), int64(-1)
	if s.Size >= 64 {
		lo, hi = math.MinInt64, math.MaxInt64
	} else if s.Kind == Signed {
		lo, hi = -(int64(1) << (s.Size - 1)), int64(1)<<(s.Size-1)-1
	} else if s.Size == 63 {
		lo, hi = 0, math.MaxInt64
	} else {
		lo, hi = 0, int64(1)<<s.Size-1
	}
	byName := map[string]int64{}
	for raw, name := range s.Labels {
		byName[strings.ToLower(strings.TrimSpace(name))] = raw
	}
	seen := map[int64]string{}
	e.states = e.states[:0]
	for _, k := range sortedKeys(e.Values) {
		raw, ok := byName[strings.ToLower(strings.TrimSpace(k))]
		if !ok {
			n, err := strconv.ParseInt(strings.TrimSpace(k), 0, 64)
			if err != nil {
				names := make([]string, 0, len(s.Labels))
				for _, name := range s.Labels {
					names = append(names, strconv.Quote(name))
				}
				sort.Strings(names)
				if len(names) == 0 {
					return fmt.Errorf("field \"values\": %q is not an integer and %s.%s has no value table (VAL_) to name states", k, s.Message.Name, s.Name)
				}
				return fmt.Errorf("field \"values\": %q is neither an integer nor a state of %s.%s (its value table: %s)", k, s.Message.Name, s.Name, strings.Join(names, ", "))
			}
			if n < lo || n > hi {
				return fmt.Errorf("field \"values\": %q is outside the raw range %d..%d of the %d-bit signal %s.%s", k, lo, hi, s.Size, s.Message.Name, s.Name)
			}
			raw = n
		}
		if other, dup := seen[raw]; dup {
			return fmt.Errorf("field \"values\": %q and %q name the same raw value %d", other, k, raw)
		}
		seen[raw] = k
		e.states = append(e.states, state{raw: raw, value: e.Values[k]})
	}
	return nil
}

func (m *Map) where(i int) string {
	if i < len(m.lines) {
		return fmt.Sprintf("%s:%d: signal[%d]", m.File, m.lines[i], i)
	}
	return fmt.Sprintf("%s: signal[%d]", m.File, i)
}

// headerLines returns the 1-based line numbers of lines that start with h.
func headerLines(data []byte, h string) []int {
	var out []int
	for n, line := range bytes.Split(data, []byte("\n")) {
		if bytes.HasPrefix(bytes.TrimSpace(line), []byte(h)) {
			out = append(out, n+1)
		}
	}
	return out
}

// ValidVSSPath checks the shape of a VSS path: "Vehicle." followed by
// dot-separated branch names of letters, digits and underscores.
func ValidVSSPath(p string) error {
	if !strings.HasPrefix(p, "Vehicle.") {
		return fmt.Errorf("%q: expected a path starting with \"Vehicle.\"", p)
	}
	for _, part := range strings.Split(p, ".") {
		if part == "" {
			return fmt.Errorf("%q: empty path element", p)
		}
		for _, r := range part {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_') {
				return fmt.Errorf("%q: character %q not allowed (letters, digits, _ and . only)", p, r)
			}
		}
	}
	return nil
}

// Apply attaches the map to the database's signals. Every entry must name
// a message and signal of the DBC; the error names the map file, line and
// entry otherwise.
func (db *Database) Apply(m *Map) error {
	for i := range m.Signals {
		e := &m.Signals[i]
		msg := db.Message(e.Message)
		if msg == nil {
			return fmt.Errorf("signal map: %s: field \"message\": %q is not a message of %s", m.where(i), e.Message, db.File)
		}
		s := msg.Signal(e.Signal)
		if s == nil {
			return fmt.Errorf("signal map: %s: field \"signal\": %q is not a signal of message %s in %s", m.where(i), e.Signal, e.Message, db.File)
		}
		if s.Mapping != nil && s.Mapping != e {
			return fmt.Errorf("signal map: %s: %s.%s is already mapped to %s", m.where(i), e.Message, e.Signal, s.Mapping.VSS)
		}
		if e.Values != nil {
			if err := resolveValues(e, s); err != nil {
				return fmt.Errorf("signal map: %s: %v", m.where(i), err)
			}
		}
		s.Mapping = e
	}
	return nil
}

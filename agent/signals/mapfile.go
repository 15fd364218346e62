package signals

import (
	"bytes"
	"fmt"
	"os"
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
	// Description is free text for people.
	Description string `toml:"description"`
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
		s.Mapping = e
	}
	return nil
}

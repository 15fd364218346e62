package dialog

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/evedge/evedge/agent/signals"
	"github.com/evedge/evedge/agent/voice/intent"
)

// State gives the car's live values by VSS path, in VSS units, with their
// age (how long ago the value was measured). ok is false for a path never
// seen. The agent's last-known-value table (signals.Table) is one; a state
// file (StaticState) is another.
type State interface {
	Value(path string) (v float64, age time.Duration, ok bool)
}

// Fault is an active diagnosis or trouble code as the driver hears it.
type Fault struct {
	// Code is the trouble code ("P0AA6"), or "" for a diagnosis without one.
	Code string
	// Title is its meaning in the request's language.
	Title string
}

// Faults gives the faults active now, with their meaning in lang. An
// error means the fault memory cannot be read (the answer says so).
type Faults interface {
	ActiveFaults(lang intent.Language) ([]Fault, error)
}

// StaticState is a fixed state read from a JSON file: values by VSS path,
// each with an optional age, plus the active faults (ids of the diagnostic
// knowledge base, agent/diag/kb) and trouble codes. It implements State.
//
//	{
//	  "values": {
//	    "Vehicle.Speed": 42.5,
//	    "Vehicle.Cabin.IsWindowChildLockEngaged": true,
//	    "Vehicle.Powertrain.Transmission.SelectedGear": {"value": -1, "age_s": 0.2},
//	    "Vehicle.Powertrain.Range": null
//	  },
//	  "faults": ["insulation"],
//	  "dtcs": ["P0AA6", "P0A7F-1B"]
//	}
//
// A value is a number, true/false (1/0), null (not reported: the same as
// leaving it out) or {"value": V, "age_s": S}; plain values are fresh (age 0).
type StaticState struct {
	File   string
	Values map[string]StaticValue
	Faults []string
	DTCs   []string
}

// StaticValue is one value of a StaticState.
type StaticValue struct {
	Value float64
	Age   time.Duration
}

// Value implements State.
func (s *StaticState) Value(path string) (float64, time.Duration, bool) {
	v, ok := s.Values[path]
	return v.Value, v.Age, ok
}

// LoadState reads a state file.
func LoadState(path string) (*StaticState, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("state: %w", err)
	}
	return ParseState(path, data)
}

// dtcRE is the shape of an SAE J2012 trouble code, with an optional
// failure type byte.
var dtcRE = regexp.MustCompile(`^[PCBU][0-3][0-9A-F]{3}(-[0-9A-F]{2})?$`)

// ParseState parses a state file; name is used in errors, which read
// "NAME:LINE:COL: field: what was expected".
func ParseState(name string, data []byte) (*StaticState, error) {
	p := &stateParser{name: name, data: data, dec: json.NewDecoder(bytes.NewReader(data))}
	p.dec.UseNumber()
	st, err := p.parse()
	if err != nil {
		return nil, err
	}
	st.File = name
	return st, nil
}

type stateParser struct {
	name string
	data []byte
	dec  *json.Decoder
	off  int64 // offset of the last token read
}

func (p *stateParser) errorf(off int64, field, format string, args ...any) error {
	line, col := lineCol(p.data, off)
	msg := fmt.Sprintf(format, args...)
	if field != "" {
		return fmt.Errorf("state: %s:%d:%d: %s: %s", p.name, line, col, field, msg)
	}
	return fmt.Errorf("state: %s:%d:%d: %s", p.name, line, col, msg)
}

// lineCol turns a byte offset into a 1-based line and column.
func lineCol(data []byte, off int64) (int, int) {
	off = max(0, min(off, int64(len(data))))
	before := data[:off]
	line := bytes.Count(before, []byte{'\n'}) + 1
	col := int(off) - (bytes.LastIndexByte(before, '\n') + 1) + 1
	return line, col
}

// token reads the next token, remembering where it started.
func (p *stateParser) token() (json.Token, error) {
	// Skip white space so that the offset points at the token.
	off := p.dec.InputOffset()
	for off < int64(len(p.data)) && strings.IndexByte(" \t\r\n,:", p.data[off]) >= 0 {
		off++
	}
	p.off = off
	t, err := p.dec.Token()
	if err != nil {
		var se *json.SyntaxError
		switch {
		case errors.As(err, &se):
			return nil, p.errorf(se.Offset, "", "%v", se)
		case errors.Is(err, io.EOF):
			return nil, p.errorf(int64(len(p.data)), "", "unexpected end of file")
		}
		return nil, p.errorf(p.off, "", "%v", err)
	}
	return t, nil
}

func (p *stateParser) delim(want json.Delim, field, what string) error {
	t, err := p.token()
	if err != nil {
		return err
	}
	if d, ok := t.(json.Delim); !ok || d != want {
		return p.errorf(p.off, field, "want %s, got %s", what, describe(t))
	}
	return nil
}

func describe(t json.Token) string {
	switch x := t.(type) {
	case json.Delim:
		switch x {
		case '{':
			return "an object"
		case '[':
			return "a list"
		}
		return fmt.Sprintf("%q", string(x))
	case string:
		return fmt.Sprintf("the string %q", x)
	case json.Number:
		return "the number " + x.String()
	case bool:
		return fmt.Sprintf("%v", x)
	case nil:
		return "null"
	}
	return fmt.Sprintf("%v", t)
}

func (p *stateParser) parse() (*StaticState, error) {
	st := &StaticState{Values: map[string]StaticValue{}}
	if err := p.delim('{', "", "a JSON object with \"values\", \"faults\" and \"dtcs\""); err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for p.dec.More() {
		t, err := p.token()
		if err != nil {
			return nil, err
		}
		key, _ := t.(string)
		keyOff := p.off
		if seen[key] {
			return nil, p.errorf(keyOff, key, "given twice")
		}
		seen[key] = true
		switch key {
		case "values":
			err = p.values(st)
		case "faults":
			st.Faults, err = p.stringList("faults", func(i int, s string) error {
				if strings.TrimSpace(s) == "" || s != strings.TrimSpace(s) {
					return fmt.Errorf("fault id %q: expected an id of agent/diag/kb/faults.yaml such as \"insulation\"", s)
				}
				return nil
			})
		case "dtcs":
			st.DTCs, err = p.stringList("dtcs", func(i int, s string) error {
				if !dtcRE.MatchString(s) {
					return fmt.Errorf("%q: expected an SAE J2012 trouble code such as P0AA6 or P0A7F-1B", s)
				}
				return nil
			})
		default:
			return nil, p.errorf(keyOff, "", "unknown field %q (expected values, faults, dtcs)", key)
		}
		if err != nil {
			return nil, err
		}
	}
	if err := p.delim('}', "", "the end of the object"); err != nil {
		return nil, err
	}
	if _, err := p.dec.Token(); !errors.Is(err, io.EOF) {
		return nil, p.errorf(p.dec.InputOffset(), "", "unexpected data after the object")
	}
	return st, nil
}

func (p *stateParser) values(st *StaticState) error {
	if err := p.delim('{', "values", "an object of VSS path to value"); err != nil {
		return err
	}
	for p.dec.More() {
		t, err := p.token()
		if err != nil {
			return err
		}
		path, _ := t.(string)
		field := fmt.Sprintf("values[%q]", path)
		if err := signals.ValidVSSPath(path); err != nil {
			return p.errorf(p.off, field, "%v", err)
		}
		if _, dup := st.Values[path]; dup {
			return p.errorf(p.off, field, "given twice")
		}
		v, ok, err := p.value(field)
		if err != nil {
			return err
		}
		if ok {
			st.Values[path] = v
		}
	}
	return p.delim('}', "values", "the end of the object")
}

const valueHelp = `a number, true, false, null or {"value": N, "age_s": S}`

// value reads one value; ok is false for null.
func (p *stateParser) value(field string) (StaticValue, bool, error) {
	t, err := p.token()
	if err != nil {
		return StaticValue{}, false, err
	}
	switch x := t.(type) {
	case nil:
		return StaticValue{}, false, nil
	case bool, json.Number:
		v, err := p.number(x, field)
		return StaticValue{Value: v}, err == nil, err
	case json.Delim:
		if x != '{' {
			break
		}
		var sv StaticValue
		have := map[string]bool{}
		for p.dec.More() {
			kt, err := p.token()
			if err != nil {
				return sv, false, err
			}
			k, _ := kt.(string)
			kOff := p.off
			if have[k] {
				return sv, false, p.errorf(kOff, field+"."+k, "given twice")
			}
			have[k] = true
			vt, err := p.token()
			if err != nil {
				return sv, false, err
			}
			switch k {
			case "value":
				if sv.Value, err = p.number(vt, field+".value"); err != nil {
					return sv, false, err
				}
			case "age_s":
				n, ok := vt.(json.Number)
				a, err := n.Float64()
				if !ok || err != nil || math.IsNaN(a) || a < 0 || a > 1e6 {
					return sv, false, p.errorf(p.off, field+".age_s", "want seconds 0..1000000, got %s", describe(vt))
				}
				sv.Age = time.Duration(a * float64(time.Second))
			default:
				return sv, false, p.errorf(kOff, field, "unknown field %q (expected value, age_s)", k)
			}
		}
		if err := p.delim('}', field, "the end of the object"); err != nil {
			return sv, false, err
		}
		if !have["value"] {
			return sv, false, p.errorf(p.off, field, "missing \"value\"")
		}
		return sv, true, nil
	}
	return StaticValue{}, false, p.errorf(p.off, field, "want %s, got %s", valueHelp, describe(t))
}

func (p *stateParser) number(t json.Token, field string) (float64, error) {
	switch x := t.(type) {
	case bool:
		if x {
			return 1, nil
		}
		return 0, nil
	case json.Number:
		v, err := x.Float64()
		if err != nil || math.IsInf(v, 0) || math.IsNaN(v) {
			return 0, p.errorf(p.off, field, "number %s out of range", x)
		}
		return v, nil
	}
	return 0, p.errorf(p.off, field, "want %s, got %s", valueHelp, describe(t))
}

func (p *stateParser) stringList(field string, check func(int, string) error) ([]string, error) {
	if err := p.delim('[', field, "a list of strings"); err != nil {
		return nil, err
	}
	out := []string{}
	for i := 0; p.dec.More(); i++ {
		t, err := p.token()
		if err != nil {
			return nil, err
		}
		f := fmt.Sprintf("%s[%d]", field, i)
		s, ok := t.(string)
		if !ok {
			return nil, p.errorf(p.off, f, "want a string, got %s", describe(t))
		}
		if err := check(i, s); err != nil {
			return nil, p.errorf(p.off, f, "%v", err)
		}
		out = append(out, s)
	}
	return out, p.delim(']', field, "the end of the list")
}

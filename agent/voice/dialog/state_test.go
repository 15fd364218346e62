package dialog

import (
	"strings"
	"testing"
	"time"
)

func TestParseState(t *testing.T) {
	st, err := ParseState("s.json", []byte(`{
  "values": {
    "Vehicle.Speed": 42.5,
    "Vehicle.Cabin.IsWindowChildLockEngaged": true,
    "Vehicle.Body.Lights.Beam.Low.IsOn": false,
    "Vehicle.Powertrain.Transmission.SelectedGear": {"value": -1, "age_s": 0.25},
    "Vehicle.Powertrain.Range": null
  },
  "faults": ["insulation"],
  "dtcs": ["P0AA6", "P0A7F-1B"]
}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path string
		v    float64
		age  time.Duration
		ok   bool
	}{
		{"Vehicle.Speed", 42.5, 0, true},
		{"Vehicle.Cabin.IsWindowChildLockEngaged", 1, 0, true},
		{"Vehicle.Body.Lights.Beam.Low.IsOn", 0, 0, true},
		{"Vehicle.Powertrain.Transmission.SelectedGear", -1, 250 * time.Millisecond, true},
		{"Vehicle.Powertrain.Range", 0, 0, false},
		{"Vehicle.Nothing", 0, 0, false},
	} {
		v, age, ok := st.Value(c.path)
		if v != c.v || age != c.age || ok != c.ok {
			t.Errorf("%s: %v %v %v, want %v %v %v", c.path, v, age, ok, c.v, c.age, c.ok)
		}
	}
	if st.File != "s.json" || len(st.Faults) != 1 || st.Faults[0] != "insulation" || len(st.DTCs) != 2 || st.DTCs[1] != "P0A7F-1B" {
		t.Errorf("state %+v", st)
	}
	if st, err := ParseState("e.json", []byte(`{}`)); err != nil || len(st.Values) != 0 {
		t.Errorf("empty object: %v %v", st, err)
	}
}

// TestParseStateErrors: each mistake is named with file, line, column and
// field.
func TestParseStateErrors(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{``, "s.json:1:1: unexpected end of file"},
		{`[]`, `s.json:1:1: want a JSON object with "values", "faults" and "dtcs", got a list`},
		{"{\n  \"value\": {}\n}", `s.json:2:3: unknown field "value" (expected values, faults, dtcs)`},
		{"{\"values\": {\n  \"Vehicle.Speed\": \"fast\"\n}}", `s.json:2:20: values["Vehicle.Speed"]: want a number, true, false, null or {"value": N, "age_s": S}, got the string "fast"`},
		{`{"values": {"Speed": 1}}`, `s.json:1:13: values["Speed"]: "Speed": expected a path starting with "Vehicle."`},
		{`{"values": {"Vehicle.Speed": 1, "Vehicle.Speed": 2}}`, `s.json:1:33: values["Vehicle.Speed"]: given twice`},
		{`{"values": {"Vehicle.Speed": {"age_s": 1}}}`, `values["Vehicle.Speed"]: missing "value"`},
		{`{"values": {"Vehicle.Speed": {"value": 1, "age_s": -2}}}`, `values["Vehicle.Speed"].age_s: want seconds 0..1000000, got the number -2`},
		{`{"values": {"Vehicle.Speed": {"value": 1, "age": 2}}}`, `values["Vehicle.Speed"]: unknown field "age" (expected value, age_s)`},
		{`{"values": {"Vehicle.Speed": [1]}}`, `got a list`},
		{`{"values": {"Vehicle.Speed": 1e999}}`, `values["Vehicle.Speed"]: number 1e999 out of range`},
		{`{"values": []}`, `values: want an object of VSS path to value, got a list`},
		{`{"faults": "insulation"}`, `s.json:1:12: faults: want a list of strings, got the string "insulation"`},
		{`{"faults": [" x"]}`, `faults[0]: fault id " x"`},
		{`{"dtcs": ["P0AA6", "Q123"]}`, `s.json:1:20: dtcs[1]: "Q123": expected an SAE J2012 trouble code`},
		{`{"dtcs": [7]}`, `dtcs[0]: want a string, got the number 7`},
		{`{"dtcs": [], "dtcs": []}`, `dtcs: given twice`},
		{`{"values": {}} {}`, `unexpected data after the object`},
		{"{\"values\": {\"Vehicle.Speed\": 1,}}", "s.json:1:32: invalid character '}'"},
		{`{"values": {"Vehicle.Speed": 1}`, "unexpected end of file"},
	} {
		_, err := ParseState("s.json", []byte(c.in))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v\n  want %q", c.in, err, c.want)
		}
	}
	if _, err := LoadState("/nonexistent/s.json"); err == nil || !strings.Contains(err.Error(), "/nonexistent/s.json") {
		t.Errorf("LoadState: %v", err)
	}
}

// FuzzParseState: any input parses or fails with the file named; what
// parses has valid paths and finite values.
func FuzzParseState(f *testing.F) {
	f.Add([]byte(`{"values": {"Vehicle.Speed": 42.5, "Vehicle.X": true, "Vehicle.Y": {"value": -1, "age_s": 0.2}, "Vehicle.Z": null}, "faults": ["insulation"], "dtcs": ["P0AA6"]}`))
	f.Add([]byte(`{"values": {"Vehicle.Speed": {"value": 1, "age_s": 1e6}}}`))
	f.Add([]byte("{\n}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := ParseState("f.json", data)
		if err != nil {
			if !strings.Contains(err.Error(), "f.json:") {
				t.Fatalf("error without file and line: %v", err)
			}
			return
		}
		for p, v := range st.Values {
			if !strings.HasPrefix(p, "Vehicle.") || v.Value != v.Value || v.Age < 0 {
				t.Fatalf("bad value %q %+v", p, v)
			}
		}
		for _, d := range st.DTCs {
			if !dtcRE.MatchString(d) {
				t.Fatalf("bad dtc %q", d)
			}
		}
	})
}

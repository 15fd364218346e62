package obd

import (
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

const ssShared = "../../../shared/data"

func ssNeed(t testing.TB, rel string) string {
	t.Helper()
	p := filepath.Join(ssShared, rel)
	if _, err := os.Stat(p); err != nil {
		if os.Getenv("EVEDGE_REQUIRE_SHARED") != "" {
			t.Fatalf("real vehicle data %s not present (expected beside the repository in ../shared/data): %v", p, err)
		}
		t.Skipf("real vehicle data %s not present (expected beside the repository in ../shared/data): %v", p, err)
	}
	return p
}

func approxEqual(got, want float64) bool {
	// pytest.approx: relative 1e-6, absolute 1e-12.
	return math.Abs(got-want) <= math.Max(1e-6*math.Abs(want), 1e-12)
}

// TestKiaEV9Cases decodes every recorded raw answer of the Kia EV9 test
// cases (real ELM327 output) through ParseAnswer and DecodeResponses, the
// poller's path, and compares with the expected values recorded with them.
func TestKiaEV9Cases(t *testing.T) {
	dir := ssNeed(t, "obd/kia-ev9")
	set, err := LoadSignalset(filepath.Join(dir, "signalset.json"))
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "tests/test_cases/*/commands/*.yaml"))
	if len(files) == 0 {
		t.Fatal("no test case files")
	}
	cases, values := 0, 0
	for _, path := range files {
		cf, err := LoadCaseFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if set.CommandFor(cf) == nil {
			t.Errorf("%s: command %s not found in the signalset", path, cf.CommandID)
			continue
		}
		for i, c := range cf.Cases {
			d := set.DecodeCase(cf, i)
			cases++
			keys := make([]string, 0, len(c.Expected))
			for k := range c.Expected {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				want := c.Expected[k]
				v, ok := d.ByID[k]
				if !ok {
					t.Errorf("%s case %d: %s not decoded (problems: %v)", filepath.Base(path), i, k, d.Problems)
					continue
				}
				values++
				switch w := want.(type) {
				case int:
					if !approxEqual(v.Num, float64(w)) || v.Enum {
						t.Errorf("%s case %d: %s = %v, want %v", filepath.Base(path), i, k, v.JSON(), w)
					}
				case float64:
					if !approxEqual(v.Num, w) || v.Enum {
						t.Errorf("%s case %d: %s = %v, want %v", filepath.Base(path), i, k, v.JSON(), w)
					}
				case string:
					if v.Str != w {
						t.Errorf("%s case %d: %s = %v, want %q", filepath.Base(path), i, k, v.JSON(), w)
					}
				case nil:
					if v.JSON() != nil {
						t.Errorf("%s case %d: %s = %v, want null", filepath.Base(path), i, k, v.JSON())
					}
				default:
					t.Errorf("%s case %d: %s: unexpected expected type %T", filepath.Base(path), i, k, want)
				}
			}
		}
	}
	t.Logf("%d files, %d cases, %d values checked", len(files), cases, values)
	if cases < 20 {
		t.Errorf("only %d cases found", cases)
	}
}

// TestSignalsetBits checks the bit extraction against values worked by hand
// from the OBDb definition: bix 0 is the most significant bit of the first
// byte after the service and parameter bytes.
func TestSignalsetBits(t *testing.T) {
	src := `{"commands":[{"hdr":"7E4","rax":"7EC","cmd":{"22":"0101"},"freq":1,"signals":[
	 {"id":"A","name":"a","fmt":{"bix":0,"len":1,"max":1,"unit":"offon"}},
	 {"id":"B","name":"b","fmt":{"bix":1,"len":7,"max":127,"unit":"scalar"}},
	 {"id":"C","name":"c","fmt":{"bix":8,"len":16,"max":6553.5,"div":10,"unit":"volts"}},
	 {"id":"D","name":"d","fmt":{"bix":24,"len":8,"max":127,"min":-128,"sign":true,"unit":"celsius"}},
	 {"id":"E","name":"e","fmt":{"bix":4,"len":8,"max":255,"unit":"scalar"}},
	 {"id":"F","name":"f","fmt":{"bix":8,"len":16,"blsb":true,"max":65535,"unit":"scalar"}},
	 {"id":"G","name":"g","fmt":{"bix":24,"len":8,"max":100,"min":0,"unit":"percent"}},
	 {"id":"H","name":"h","fmt":{"bix":32,"len":8,"map":{"1":{"value":"ON","description":"on"}}}},
	 {"id":"I","name":"i","fmt":{"bix":32,"len":8,"max":51,"div":5,"nullmin":0,"unit":"psi"}}
	]}]}`
	set, err := ParseSignalset("inline", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	c := set.Command("7E4.7EC.220101")
	if c == nil {
		t.Fatalf("command id: have %v", set.Commands[0].ID())
	}
	// 62 01 01 | 9A 14 E1 F6 00
	// A: 0x9A = 1001 1010 -> first bit 1; B: low 7 bits 0x1A = 26;
	// C: 0x14E1 = 5345 / 10 = 534.5; D: 0xF6 = -10;
	// E: bits 4..11 = low nibble of 0x9A (A) and high nibble of 0x14 (1) = 0xA1 = 161;
	// F: bytes 14 E1 reversed = 0xE114 = 57620; G: 0xF6 = 246 clamped to 100;
	// H: 0 is not in the map; I: 0 / 5 = 0 -> null (nullmin 0).
	d := set.DecodeResponses(c, []Response{{ID: 0x7EC, Data: []byte{0x62, 0x01, 0x01, 0x9A, 0x14, 0xE1, 0xF6, 0x00}}})
	want := map[string]float64{"A": 1, "B": 26, "C": 534.5, "D": -10, "E": 161, "F": 57620, "G": 100}
	for k, w := range want {
		if v := d.ByID[k]; !approxEqual(v.Num, w) {
			t.Errorf("%s = %v, want %v", k, v.Num, w)
		}
	}
	if h := d.ByID["H"]; h.JSON() != nil || !h.Enum {
		t.Errorf("H = %v, want null enum", h.JSON())
	}
	if i := d.ByID["I"]; !i.Null || i.Num != 0 {
		t.Errorf("I = %+v, want null 0", i)
	}
	if len(d.Problems) != 0 {
		t.Errorf("problems: %v", d.Problems)
	}
	// An answer from another ECU with the same DID is not this command's.
	d = set.DecodeResponses(c, []Response{{ID: 0x7E8, Data: []byte{0x62, 0x01, 0x01, 0x9A, 0x14, 0xE1, 0xF6, 0x00}}})
	if len(d.Values) != 0 {
		t.Errorf("decoded an answer from 7E8 for a 7EC command: %v", d.Values)
	}
	// A short answer decodes what fits and names what does not.
	d = set.DecodeResponses(c, []Response{{ID: 0x7EC, Data: []byte{0x62, 0x01, 0x01, 0x9A, 0x14}}})
	if _, ok := d.ByID["B"]; !ok || len(d.Problems) != 1 || !strings.Contains(d.Problems[0], "C") {
		t.Errorf("short answer: values %v problems %v", d.ByID, d.Problems)
	}
	// A negative answer is a problem, not a value.
	d = set.DecodeResponses(c, []Response{{ID: 0x7EC, Data: []byte{0x7F, 0x22, 0x31}}})
	if len(d.Values) != 0 || len(d.Problems) != 1 || !strings.Contains(d.Problems[0], "request out of range") {
		t.Errorf("negative answer: %v %v", d.Values, d.Problems)
	}
}

func TestCommandIDs(t *testing.T) {
	src := `{"commands":[
	 {"hdr":"7E4","rax":"7EC","fcm1":true,"cmd":{"22":"0101"},"freq":1,"signals":[{"id":"A","name":"a","fmt":{"len":8,"max":1,"unit":"scalar"}}]},
	 {"hdr":"6F1","rax":"607","eax":"07","fcm1":true,"cmd":{"22":"DD68"},"freq":1,"signals":[{"id":"B","name":"b","fmt":{"len":8,"max":1,"unit":"scalar"}}]},
	 {"hdr":"DA10","rax":"10","cmd":{"22":"0101"},"freq":5,"signals":[{"id":"C","name":"c","fmt":{"len":8,"max":1,"unit":"scalar"}}]},
	 {"hdr":"7E0","rax":"7E8","tmo":"FA","cmd":{"01":"0D"},"freq":1,"filter":{"from":2019,"to":2022},"signals":[{"id":"D","name":"d","fmt":{"len":8,"max":1,"unit":"scalar"}}]}
	]}`
	set, err := ParseSignalset("inline", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		id       string
		tx, rx   uint32
		ext29    bool
		extAddr  bool
		fc       bool
		txExt    byte
		data     []byte
		lookupAs string
	}{
		{"7E4.7EC.220101|fc=1", 0x7E4, 0x7EC, false, false, true, 0, []byte{0x22, 0x01, 0x01}, "7e4.7ec.220101|FC=1"},
		{"6F1.607.22DD68|e=07,fc=1", 0x6F1, 0x607, false, true, true, 0x07, []byte{0x22, 0xDD, 0x68}, "6F1.607.22DD68|fc=1,e=07"},
		{"DA10.10.220101", 0x18DA10F1, 0x18DAF110, true, false, false, 0, []byte{0x22, 0x01, 0x01}, "DA10.10.220101"},
		{"7E0.7E8.010D|t=FA,f=2019-2022", 0x7E0, 0x7E8, false, false, false, 0, []byte{0x01, 0x0D}, "7E0.7E8.010D|f=2019-2022,t=FA"},
	}
	for _, tc := range tests {
		c := set.Command(tc.id)
		if c == nil {
			var ids []string
			for _, c := range set.Commands {
				ids = append(ids, c.ID())
			}
			t.Errorf("no command %s; have %v", tc.id, ids)
			continue
		}
		if set.LookupCommand(tc.lookupAs) != c {
			t.Errorf("LookupCommand(%q) did not find %s", tc.lookupAs, tc.id)
		}
		r := c.Request()
		if r.TxID != tc.tx || r.RxID != tc.rx || r.Extended != tc.ext29 || r.ExtAddr != tc.extAddr || r.FlowControl != tc.fc || r.TxExtAddr != tc.txExt || string(r.Data) != string(tc.data) {
			t.Errorf("%s: request %+v", tc.id, r)
		}
	}
	if y := set.CommandsFor(2018); len(y) != 3 {
		t.Errorf("model year 2018: %d commands, want 3 (the 2019-2022 one filtered)", len(y))
	}
}

func TestSignalsetErrors(t *testing.T) {
	for name, src := range map[string]string{
		"syntax":   "{\"commands\": [\n{\"hdr\": }",
		"unknown":  `{"commands":[{"hdr":"7E0","cmd":{"01":"0D"},"freq":1,"bogus":1,"signals":[{"id":"A","name":"a","fmt":{"len":8,"max":1,"unit":"x"}}]}]}`,
		"freq":     `{"commands":[{"hdr":"7E0","cmd":{"01":"0D"},"freq":0,"signals":[{"id":"A","name":"a","fmt":{"len":8,"max":1,"unit":"x"}}]}]}`,
		"len":      `{"commands":[{"hdr":"7E0","cmd":{"01":"0D"},"freq":1,"signals":[{"id":"A","name":"a","fmt":{"len":65,"max":1,"unit":"x"}}]}]}`,
		"div0":     `{"commands":[{"hdr":"7E0","cmd":{"01":"0D"},"freq":1,"signals":[{"id":"A","name":"a","fmt":{"len":8,"div":0,"max":1,"unit":"x"}}]}]}`,
		"hdr":      `{"commands":[{"hdr":"7G0","cmd":{"01":"0D"},"freq":1,"signals":[{"id":"A","name":"a","fmt":{"len":8,"max":1,"unit":"x"}}]}]}`,
		"did":      `{"commands":[{"hdr":"7E0","cmd":{"22":"0D"},"freq":1,"signals":[{"id":"A","name":"a","fmt":{"len":8,"max":1,"unit":"x"}}]}]}`,
		"nomax":    `{"commands":[{"hdr":"7E0","cmd":{"01":"0D"},"freq":1,"signals":[{"id":"A","name":"a","fmt":{"len":8,"unit":"x"}}]}]}`,
		"nosignal": `{"commands":[{"hdr":"7E0","cmd":{"01":"0D"},"freq":1,"signals":[]}]}`,
	} {
		_, err := ParseSignalset("bad.json", []byte(src))
		if err == nil {
			t.Errorf("%s: no error", name)
			continue
		}
		if !strings.HasPrefix(err.Error(), "bad.json: ") {
			t.Errorf("%s: error does not name the file: %v", name, err)
		}
		if name == "syntax" && !strings.Contains(err.Error(), "line 2") {
			t.Errorf("syntax error does not name the line: %v", err)
		}
	}
}

func FuzzSignalsetDecode(f *testing.F) {
	f.Add([]byte(`{"commands":[{"hdr":"7E4","rax":"7EC","cmd":{"22":"0101"},"freq":1,"signals":[{"id":"A","name":"a","fmt":{"bix":3,"len":13,"sign":true,"max":100,"min":-5,"mul":3,"div":7,"add":-1,"unit":"x"}}]}]}`),
		[]byte{0x62, 0x01, 0x01, 0xFF, 0x00, 0x12})
	f.Add([]byte(`{"commands":[{"hdr":"7E4","cmd":{"21":"01"},"freq":1,"signals":[{"id":"A","name":"a","fmt":{"bix":60,"len":64,"blsb":true,"max":1,"unit":"x"}}]}]}`),
		[]byte{0x61, 0x01, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16})
	f.Fuzz(func(t *testing.T, js []byte, answer []byte) {
		set, err := ParseSignalset("fuzz", js)
		if err != nil {
			return
		}
		for _, c := range set.Commands {
			d := set.DecodeResponses(c, []Response{{ID: c.Request().RxID, Data: answer}})
			for _, v := range d.Values {
				if math.IsNaN(v.Num) {
					t.Fatalf("NaN for %s", v.Signal.ID)
				}
				f := v.Signal.Fmt
				if f.Map == nil && f.Max != nil && *f.Max > f64(f.Min, 0) && (v.Num > *f.Max || v.Num < f64(f.Min, 0)) {
					t.Fatalf("%s = %v outside [%v, %v]", v.Signal.ID, v.Num, f64(f.Min, 0), *f.Max)
				}
			}
		}
	})
}

// BenchmarkDecodeEV9 decodes the 24 signals of a Kia EV9 22 0101 answer.
func BenchmarkDecodeEV9(b *testing.B) {
	set, err := LoadSignalset(ssNeed(b, "obd/kia-ev9/signalset.json"))
	if err != nil {
		b.Fatal(err)
	}
	c := set.Command("7E4.7EC.220101|fc=1")
	no := false
	a := ParseAnswer(ev9Answer, AnswerOptions{Headers: true, IDs29: &no})
	rs := a.Messages
	b.ReportAllocs()
	for b.Loop() {
		d := set.DecodeResponses(c, rs)
		if len(d.Values) != 24 {
			b.Fatal(len(d.Values), d.Problems)
		}
	}
}

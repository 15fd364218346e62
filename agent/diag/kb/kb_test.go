package kb

import (
	"errors"
	"strings"
	"testing"
	"unicode"

	"github.com/evedge/evedge/agent/diag"
)

// wantIDs are the faults the knowledge base must cover: the GB/T 32960.3
// alarm items of package diag and the fault classes of the models.
var wantIDs = []string{
	"temperature_difference", "battery_high_temperature", "pack_over_voltage", "pack_under_voltage",
	"soc_low", "cell_over_voltage", "cell_under_voltage", "soc_high", "soc_jump", "pack_mismatch",
	"cell_consistency", "insulation", "dcdc_temperature", "brake_system", "dcdc_status",
	"motor_controller_temperature", "hv_interlock", "motor_temperature", "over_charge",
	"cell_internal_short", "cell_capacity_outlier", "cooling_loss", "thermal_runaway_precursor",
	"insulation_degradation", "weak_12v_battery", "contactor_precharge_fault",
	"motor_inverter_overheating", "sensor_fault", "charger_fault",
	"signal_lost",
}

func TestLoadCoversAllFaults(t *testing.T) {
	k, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if got := k.IDs(); len(got) != len(wantIDs) {
		t.Errorf("have %d entries, want %d", len(got), len(wantIDs))
	}
	for _, id := range wantIDs {
		if _, _, ok := k.Lookup(id, "en"); !ok {
			t.Errorf("missing %s", id)
		}
	}
	if e, _, ok := k.Lookup(diag.SignalLostID, "en"); !ok || e.Kind != "monitor" {
		t.Errorf("%s: ok=%v kind=%q, want a monitor entry", diag.SignalLostID, ok, e.Kind)
	}
	// The alarm entries are exactly diag's items.
	for i := diag.Item(0); i < diag.NumItems; i++ {
		e, _, ok := k.Lookup(i.String(), "en")
		if !ok || e.Kind != "alarm" {
			t.Errorf("diag item %s: ok=%v kind=%q, want an alarm entry", i, ok, e.Kind)
		}
	}
}

func hasCJK(s string) bool {
	for _, r := range s {
		if unicode.Is(unicode.Han, r) {
			return true
		}
	}
	return false
}

func TestLanguages(t *testing.T) {
	k, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(Languages(), ","); got != "en,zh,de,es,fr" {
		t.Fatalf("Languages() = %s", got)
	}
	for _, id := range k.IDs() {
		_, en, _ := k.Lookup(id, "en")
		if hasCJK(en.Title + en.Summary) {
			t.Errorf("%s: English text has CJK characters", id)
		}
		_, zh, _ := k.Lookup(id, "zh")
		if !hasCJK(zh.Title) || !hasCJK(zh.Summary) || !hasCJK(zh.Checks[0]) {
			t.Errorf("%s: zh text is not Chinese: %q", id, zh.Title)
		}
		for _, l := range []string{"de", "es", "fr"} {
			_, x, _ := k.Lookup(id, l)
			if x.Title == en.Title || x.Summary == en.Summary || x.Causes[0] == en.Causes[0] || x.Repair[0] == en.Repair[0] {
				t.Errorf("%s: %s text repeats the English", id, l)
			}
			if hasCJK(x.Summary) {
				t.Errorf("%s: %s text has CJK characters", id, l)
			}
		}
	}
	// Spot checks of terminology.
	for _, c := range []struct{ id, lang, word string }{
		{"insulation", "zh", "绝缘电阻"},
		{"hv_interlock", "zh", "高压互锁"},
		{"cell_over_voltage", "zh", "单体"},
		{"insulation", "de", "Isolationswiderstand"},
		{"insulation", "es", "resistencia de aislamiento"},
		{"insulation", "fr", "résistance d'isolement"},
	} {
		_, x, _ := k.Lookup(c.id, c.lang)
		all := strings.Join(append(append([]string{x.Title, x.Summary}, x.Causes...), x.Checks...), " ")
		if !strings.Contains(all, c.word) {
			t.Errorf("%s/%s: no %q", c.id, c.lang, c.word)
		}
	}
}

func TestLookup(t *testing.T) {
	k, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	e, en, ok := k.Lookup("insulation", "en")
	if !ok || e.Component != "hv_isolation" || len(e.DTCs) == 0 || e.DTCs[0] != "P0AA6" || len(e.Evidence) == 0 {
		t.Fatalf("Lookup(insulation) = %+v, %v", e, ok)
	}
	for _, l := range []string{"xx", "", "ja"} {
		if _, x, _ := k.Lookup("insulation", l); x.Title != en.Title {
			t.Errorf("lang %q: want English fallback, got %q", l, x.Title)
		}
	}
	_, zh, _ := k.Lookup("insulation", "zh")
	for _, l := range []string{"zh-CN", "ZH_cn", "zh"} {
		if _, x, _ := k.Lookup("insulation", l); x.Title != zh.Title {
			t.Errorf("lang %q: got %q, want %q", l, x.Title, zh.Title)
		}
	}
	if _, _, ok := k.Lookup("no_such_fault", "en"); ok {
		t.Error("unknown id found")
	}
	// The result is a copy: changing it leaves the KB alone.
	e.Text["en"] = Text{Title: "changed"}
	if _, x, _ := k.Lookup("insulation", "en"); x.Title != en.Title {
		t.Error("Lookup result aliases the KB")
	}
	c, name, ok := k.Component("hv_isolation", "de")
	if !ok || !c.HV || name == "" {
		t.Errorf("Component(hv_isolation) = %+v, %q, %v", c, name, ok)
	}
}

// valid is a minimal valid file; the tests below break it at known lines.
const valid = `components:
  battery:
    hv: true
    name: {en: Battery, zh: 电池, de: Batterie, es: Batería, fr: Batterie}
faults:
  - id: one
    kind: alarm
    component: battery
    severity: 2
    dtcs: [P0AA6]
    evidence: [Vehicle.Speed]
    text:
      en: &t
        title: T
        summary: S
        likely_causes: [a, b]
        checks: [c, d]
        repair: [r]
        safety: [s]
      zh: *t
      de: *t
      es: *t
      fr: *t
`

func TestParseValid(t *testing.T) {
	k, err := Parse("valid.yaml", []byte(valid))
	if err != nil {
		t.Fatal(err)
	}
	if ids := k.IDs(); len(ids) != 1 || ids[0] != "one" {
		t.Fatalf("IDs() = %v", ids)
	}
}

func TestParseErrors(t *testing.T) {
	for _, c := range []struct {
		name, old, new string
		want           []string // substrings of the error
	}{
		{"missing language", "      fr: *t\n", "", []string{"x.yaml:12:", "text", `missing language "fr"`}},
		{"unknown key", "    severity: 2\n", "    severity: 2\n    colour: red\n", []string{"x.yaml:10:", "colour"}},
		{"unknown key in text", "        repair: [r]\n", "        repair: [r]\n        notes: [n]\n", []string{"x.yaml:19:", "notes"}},
		{"duplicate id", "      fr: *t\n", "      fr: *t\n  - id: one\n    kind: model\n    component: battery\n    severity: 1\n    evidence: [Vehicle.Speed]\n    text: {en: *t, zh: *t, de: *t, es: *t, fr: *t}\n", []string{"x.yaml:24:", `duplicate id "one"`, "first at line 6"}},
		{"empty summary", "        summary: S\n", "        summary: \"\"\n", []string{"x.yaml:15:", "text.en.summary", "empty"}},
		{"few causes", "likely_causes: [a, b]", "likely_causes: [a]", []string{"x.yaml:16:", "text.en.likely_causes", "at least 2"}},
		{"no safety on HV", "        safety: [s]\n", "", []string{"x.yaml:13:", "text.en.safety", "high voltage"}},
		{"unknown component", "component: battery", "component: batery", []string{"x.yaml:8:", "component", `"batery"`}},
		{"bad dtc", "[P0AA6]", "[X123]", []string{"x.yaml:10:", "dtcs[0]"}},
		{"bad evidence", "[Vehicle.Speed]", "[speed]", []string{"x.yaml:11:", "evidence[0]"}},
		{"unknown language", "      fr: *t\n", "      fr: *t\n      it: *t\n", []string{"x.yaml:24:", `unknown language "it"`}},
		{"severity", "severity: 2", "severity: 4", []string{"x.yaml:9:", "severity"}},
		{"syntax", "    kind: alarm\n", "    kind: [alarm\n", []string{"x.yaml:"}},
		{"empty", valid, "", []string{"x.yaml", "empty"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			src := strings.Replace(valid, c.old, c.new, 1)
			if src == valid {
				t.Fatal("test case does not change the input")
			}
			_, err := Parse("x.yaml", []byte(src))
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Errorf("error %T is not *Error", err)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(valid))
	f.Add(faultsYAML[:len(faultsYAML)/3])
	f.Add([]byte("faults: [{id: a, text: {en: {title: x}}}]"))
	f.Add([]byte("a: &a [*a]"))
	f.Fuzz(func(t *testing.T, b []byte) {
		k, err := Parse("fuzz.yaml", b)
		if err == nil {
			for _, id := range k.IDs() {
				if _, _, ok := k.Lookup(id, "de"); !ok {
					t.Fatalf("%s listed but not found", id)
				}
			}
		}
	})
}

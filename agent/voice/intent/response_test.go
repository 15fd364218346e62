package intent

import (
	"reflect"
	"testing"
)

func TestFill(t *testing.T) {
	for _, tc := range []struct {
		tmpl string
		vals map[string]any
		want string
		err  bool
	}{
		{"Battery at {soc} percent, about {range} km", map[string]any{"soc": 80, "range": 312.5}, "Battery at 80 percent, about 312.5 km", false},
		{"no placeholders", nil, "no placeholders", false},
		{"{a}{b}", map[string]any{"a": "x", "b": "y"}, "xy", false},
		{"at {soc} and {missing}", map[string]any{"soc": 1}, "at 1 and {missing}", true},
	} {
		got, err := Fill(tc.tmpl, tc.vals)
		if got != tc.want || (err != nil) != tc.err {
			t.Errorf("Fill(%q) = %q, %v; want %q (error %v)", tc.tmpl, got, err, tc.want, tc.err)
		}
	}
	ps, err := Placeholders("I can't do that now: {reason} ({code})")
	if err != nil || !reflect.DeepEqual(ps, []string{"reason", "code"}) {
		t.Errorf("Placeholders = %v, %v", ps, err)
	}
	for _, bad := range []string{"{", "}", "{a b}", "{}", "{a{b}}"} {
		if _, err := Placeholders(bad); err == nil {
			t.Errorf("Placeholders(%q): no error", bad)
		}
	}
}

func TestRespond(t *testing.T) {
	c := mustParse(t, `language: en
intents:
  OpenWindow:
    templates: ["open [the] {window} window", "open {all:window} windows", "open my window"]
    response: "Opening {window}."
  SetTemperature:
    templates: ["set temperature to {t}"]
    response: "Setting {t} degrees, battery at {soc} percent."
  Quiet:
    templates: ["hush"]
slots:
  window: [{in: [front left, left front], out: front_left, say: "the front left window"}]
  all: [{in: all, out: all, say: "all windows"}]
  t: {from: 16, to: 28}
responses:
  cancel: "OK."
`)
	for _, tc := range []struct {
		text string
		live map[string]any
		want string
		err  bool
	}{
		{"open the left front window", nil, "Opening the front left window.", false},
		{"open all windows", nil, "Opening all windows.", false},
		{"open my window", nil, "Opening {window}.", true},
		{"open my window", map[string]any{"window": "the window"}, "Opening the window.", false},
		{"set temperature to twenty", map[string]any{"soc": 55}, "Setting twenty degrees, battery at 55 percent.", false},
		{"hush", nil, "", true},
	} {
		r, ok := c.Match(tc.text)
		if !ok {
			t.Fatalf("no match for %q", tc.text)
		}
		got, err := c.Respond(r, tc.live)
		if got != tc.want || (err != nil) != tc.err {
			t.Errorf("Respond(%q) = %q, %v; want %q (error %v)", tc.text, got, err, tc.want, tc.err)
		}
	}
	if got := c.Response("cancel"); got != "OK." {
		t.Errorf("Response(cancel) = %q", got)
	}
	if got := c.Say("", "window", "front_left"); got != "the front left window" {
		t.Errorf("Say = %q", got)
	}
}

package intent

import (
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// FuzzParse feeds arbitrary files to Parse: it must not panic, and a
// context that parses must match its own sentences back to their intent.
func FuzzParse(f *testing.F) {
	f.Add([]byte(enGrammar))
	f.Add([]byte(zhGrammar))
	f.Add([]byte("language: fr\nintents:\n  A:\n    templates: [\"quelle est l'autonomie\"]\n"))
	f.Add([]byte("language: en\nintents:\n  A:\n    templates: [\"{s} [x|y]\"]\nslots:\n  s: {from: 0, to: 999, step: 7}\n"))
	f.Add([]byte("language: de\nintents: {A: {templates: [\"(a|b\"]}}\n"))
	f.Add([]byte("language: es\nslots: {s: [{in: [a, b], out: 3, say: c}]}\nintents: {A: {templates: [\"{s:t}\"], response: \"{t}\"}}\n"))
	f.Add([]byte("language: en\nintents: {A: {templates: [\"a {d}\"]}}\nslots: {d: [latte]}\npronounce: {latte: [lah tay, lat], a: eh}\n"))
	f.Add([]byte("&a [*a]"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("fuzz.yaml", data)
		if err != nil {
			if c != nil {
				t.Fatal("context and error")
			}
			return
		}
		for _, s := range c.Sentences(20) {
			r, ok := c.Match(s.Text)
			if !ok {
				t.Fatalf("sentence %q of %s does not match", s.Text, s.Intent)
			}
			if c.Intent(r.Intent) == nil {
				t.Fatalf("Match(%q) gave unknown intent %q", s.Text, r.Intent)
			}
			c.Pronounce(s.Text)
		}
		rng := rand.New(rand.NewPCG(uint64(len(data)), 1))
		for range 5 {
			if s, ok := c.RandomSentence(rng); ok {
				if _, ok := c.Match(s.Text); !ok {
					t.Fatalf("random sentence %q of %s does not match", s.Text, s.Intent)
				}
			}
		}
		c.Vocabulary()
	})
}

// FuzzTemplate feeds arbitrary templates to the template parser, through
// a context so slot references resolve: no panic; a template that parses
// compiles to a graph whose sentence count is the expansion count and
// whose sentences match back with the slots they were made with (only
// the intent when two sentences have the same text).
func FuzzTemplate(f *testing.F) {
	for _, s := range []string{
		"what's my range", "how (far|much further) can I (drive|go)", "open [the] {window} window",
		"make it {n:temperature} degrees", "[a|b] ((c|d) [e]) {n}", "(a|)", "[]", "{", "}", "a|b",
		"((((a))))", "{window:}", "l'autonomie (vingt-et-un|x)", "打开 {window}", "[[[x]]] y",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, tmpl string) {
		if len(tmpl) > 200 {
			return
		}
		doc := map[string]any{
			"language": "en",
			"intents":  map[string]any{"A": map[string]any{"templates": []string{tmpl}}},
			"slots": map[string]any{
				"window": []string{"front left", "rear right"},
				"n":      map[string]int{"from": 1, "to": 3},
			},
		}
		data, err := yaml.Marshal(doc)
		if err != nil {
			return
		}
		_, terr := parseTemplate(English, tmpl)
		c, err := Parse("fuzz.yaml", data)
		if terr == nil && err != nil && !strings.Contains(err.Error(), "unknown slot list") {
			t.Fatalf("template parses alone but not in a context: %v", err)
		}
		if err != nil {
			return
		}
		if c.Count() > 5000 {
			return
		}
		ss := c.Sentences(0)
		if len(ss) != c.Count() {
			t.Fatalf("%d sentences, Count %d", len(ss), c.Count())
		}
		for _, s := range ss {
			r, ok := c.Match(s.Text)
			if !ok || r.Intent != "A" {
				t.Fatalf("Match(%q) = %v %v", s.Text, r, ok)
			}
			if !reflect.DeepEqual(r.Slots, s.Slots) && !ambiguous(c, s.Text) {
				t.Fatalf("Match(%q) slots %v, want %v", s.Text, r.Slots, s.Slots)
			}
		}
	})
}

// ambiguous reports whether text is the text of two sentences.
func ambiguous(c *Context, text string) bool {
	n := 0
	for _, s := range c.Sentences(0) {
		if s.Text == text {
			n++
		}
	}
	return n > 1
}

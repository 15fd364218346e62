package intent

import (
	"errors"
	"strings"
	"testing"
)

// TestParseErrors: each bad file gives an *Error naming the line and the
// field of the problem.
func TestParseErrors(t *testing.T) {
	const intents = "intents:\n  A:\n    templates: [\"hello\"]\n"
	for _, tc := range []struct {
		name  string
		yaml  string
		line  int
		field string
		msg   string
	}{
		{"unsupported language", "language: it\n" + intents, 1, "language", "unsupported language \"it\""},
		{"missing language", intents, 1, "language", "missing language"},
		{"unknown top field", "language: en\nintent: {}\n" + intents, 2, "intent", "unknown field"},
		{"missing intents", "language: en\n", 1, "intents", "missing intents"},
		{"no intents", "language: en\nintents: {}\n", 2, "intents", "no intents"},
		{"unknown slot", "language: en\nintents:\n  A:\n    templates:\n      - \"hello\"\n      - \"open {windw}\"\n", 6, "intents.A.templates[1]", "unknown slot list \"windw\""},
		{"unbalanced (", "language: en\nintents:\n  A:\n    templates: [\"open (a|b\"]\n", 4, "intents.A.templates[0]", "unbalanced '('"},
		{"unbalanced ]", "language: en\nintents:\n  A:\n    templates: [\"open a]\"]\n", 4, "intents.A.templates[0]", "unbalanced ']'"},
		{"unbalanced {", "language: en\nintents:\n  A:\n    templates: [\"open {a\"]\n", 4, "intents.A.templates[0]", "unbalanced '{'"},
		{"unbalanced }", "language: en\nintents:\n  A:\n    templates: [\"open a}\"]\n", 4, "intents.A.templates[0]", "unbalanced '}'"},
		{"mismatched", "language: en\nintents:\n  A:\n    templates: [\"open (a]\"]\n", 4, "intents.A.templates[0]", "closed by"},
		{"empty alternative", "language: en\nintents:\n  A:\n    templates: [\"open (a|)\"]\n", 4, "intents.A.templates[0]", "empty alternative"},
		{"empty group", "language: en\nintents:\n  A:\n    templates: [\"open ()\"]\n", 4, "intents.A.templates[0]", "empty alternative"},
		{"empty optional", "language: en\nintents:\n  A:\n    templates: [\"open []\"]\n", 4, "intents.A.templates[0]", "empty optional"},
		{"bar outside group", "language: en\nintents:\n  A:\n    templates: [\"open a|b\"]\n", 4, "intents.A.templates[0]", "'|' outside"},
		{"empty template", "language: en\nintents:\n  A:\n    templates: [\"  \"]\n", 4, "intents.A.templates[0]", "empty template"},
		{"matches empty", "language: en\nintents:\n  A:\n    templates: [\"[please]\"]\n", 4, "intents.A.templates[0]", "empty sentence"},
		{"slot twice", "language: en\nintents:\n  A:\n    templates: [\"{n} and {n}\"]\nslots:\n  n: {from: 1, to: 2}\n", 4, "intents.A.templates[0]", "filled twice"},
		{"renamed slot twice", "language: en\nintents:\n  A:\n    templates: [\"{n} and {m:n}\"]\nslots:\n  n: {from: 1, to: 2}\n  m: [x]\n", 4, "intents.A.templates[0]", "filled twice"},
		{"bad slot name", "language: en\nintents:\n  A:\n    templates: [\"{n:two words}\"]\nslots:\n  n: {from: 1, to: 2}\n", 4, "intents.A.templates[0]", "bad slot name"},
		{"duplicate intent", "language: en\nintents:\n  A:\n    templates: [a]\n  A:\n    templates: [b]\n", 5, "intents.A", "duplicate intent"},
		{"bad intent name", "language: en\nintents:\n  Get Range:\n    templates: [a]\n", 3, "intents.Get Range", "bad intent name"},
		{"unknown intent field", "language: en\nintents:\n  A:\n    templates: [a]\n    respons: hi\n", 5, "intents.A.respons", "unknown field"},
		{"templates not a list", "language: en\nintents:\n  A:\n    templates: hello\n", 4, "intents.A.templates", "non-empty list"},
		{"missing templates", "language: en\nintents:\n  A:\n    response: hi\n", 4, "intents.A.templates", "missing templates"},
		{"bad response", "language: en\nintents:\n  A:\n    templates: [a]\n    response: \"at {soc percent\"\n", 5, "intents.A.response", "unbalanced '{'"},
		{"bad shared response", "language: en\n" + intents + "responses:\n  cancel: \"ok {}\"\n", 6, "responses.cancel", "bad placeholder"},
		{"range from > to", "language: en\n" + intents + "slots:\n  t:\n    {from: 28, to: 16}\n", 7, "slots.t", "bad range: from 28 is above to 16"},
		{"range step", "language: en\n" + intents + "slots:\n  t: {from: 1, to: 3, step: 0}\n", 6, "slots.t.step", "step 0"},
		{"range too big", "language: en\n" + intents + "slots:\n  t: {from: 1, to: 1000}\n", 6, "slots.t", "0..999"},
		{"range not integer", "language: en\n" + intents + "slots:\n  t: {from: one, to: 3}\n", 6, "slots.t.from", "want an integer"},
		{"range missing to", "language: en\n" + intents + "slots:\n  t: {from: 1}\n", 6, "slots.t.to", "missing to"},
		{"range unknown field", "language: en\n" + intents + "slots:\n  t: {from: 1, to: 2, by: 1}\n", 6, "slots.t.by", "unknown field"},
		{"empty slot list", "language: en\n" + intents + "slots:\n  s: []\n", 6, "slots.s", "empty slot list"},
		{"slot missing out", "language: en\n" + intents + "slots:\n  s:\n    - {in: driver}\n", 7, "slots.s[0].out", "missing value"},
		{"slot missing in", "language: en\n" + intents + "slots:\n  s:\n    - {out: driver}\n", 7, "slots.s[0].in", "missing phrases"},
		{"slot unknown field", "language: en\n" + intents + "slots:\n  s:\n    - {in: a, out: b, value: c}\n", 7, "slots.s[0].value", "unknown field"},
		{"phrase two values", "language: en\n" + intents + "slots:\n  s:\n    - {in: driver, out: a}\n    - {in: Driver, out: b}\n", 8, "slots.s[1]", "already means a"},
		{"phrase no words", "language: en\n" + intents + "slots:\n  s: [\"?!\"]\n", 6, "slots.s[0]", "no words"},
		{"slot list not list", "language: en\n" + intents + "slots:\n  s: driver\n", 6, "slots.s", "want a list of phrases"},
		{"lexicon outside zh", "language: en\n" + intents + "lexicon: {a: a1}\n", 5, "lexicon", "only for zh"},
		{"zh without lexicon", "language: zh\nintents:\n  A:\n    templates: [\"打开\"]\n", 1, "lexicon", "need a lexicon"},
		{"zh template word without pinyin", "language: zh\nintents:\n  A:\n    templates: [\"打开 车窗\"]\nlexicon:\n  打开: da3 kai1\n", 4, "intents.A.templates[0]", "word \"车窗\" has no pinyin"},
		{"zh slot word without pinyin", "language: zh\nintents:\n  A:\n    templates: [\"打开 {w}\"]\nslots:\n  w: [{in: 左前 车窗, out: front_left}]\nlexicon:\n  打开: da3 kai1\n  左前: zuo3 qian2\n", 6, "slots.w[0]", "word \"车窗\" of phrase"},
		{"zh pinyin syllable count", "language: zh\nintents:\n  A:\n    templates: [\"打开\"]\nlexicon:\n  打开: da3\n", 6, "lexicon.打开", "2 characters but 1 pinyin"},
		{"zh pinyin tone", "language: zh\nintents:\n  A:\n    templates: [\"打开\"]\nlexicon:\n  打开: da kai1\n", 6, "lexicon.打开", "tone number"},
		{"wake not a list", "language: en\n" + intents + "wake: hey car\n", 5, "wake", "non-empty list"},
		{"wake with a slot", "language: en\n" + intents + "wake: [\"hey {n}\"]\nslots:\n  n: [car]\n", 5, "wake[0]", "no slots"},
		{"wake bad template", "language: en\n" + intents + "wake: [\"hey (car\"]\n", 5, "wake[0]", "unbalanced '('"},
		{"wake reserved intent", "language: en\nintents:\n  Wake:\n    templates: [a]\nwake: [\"hey car\"]\n", 5, "wake", "reserved"},
		{"zh wake without pinyin", "language: zh\nintents:\n  A:\n    templates: [\"打开\"]\nlexicon:\n  打开: da3 kai1\nwake: [\"你好 汽车\"]\n", 7, "wake[0]", "word \"你好\" has no pinyin"},
		{"pronounce in zh", "language: zh\nintents:\n  A:\n    templates: [\"打开\"]\nlexicon:\n  打开: da3 kai1\npronounce: {打开: da kai}\n", 7, "pronounce", "lexicon's pinyin"},
		{"pronounce unknown word", "language: en\n" + intents + "pronounce:\n  helo: heh low\n", 6, "pronounce.helo", "\"helo\" is not a word"},
		{"pronounce two words", "language: en\n" + intents + "pronounce:\n  hello there: heh low\n", 6, "pronounce.hello there", "one word"},
		{"pronounce empty list", "language: en\n" + intents + "pronounce:\n  hello: []\n", 6, "pronounce.hello", "1 to 4 pronunciations"},
		{"pronounce five", "language: en\n" + intents + "pronounce:\n  hello: [a, b, c, d, e]\n", 6, "pronounce.hello", "1 to 4 pronunciations"},
		{"pronounce not text", "language: en\n" + intents + "pronounce:\n  hello: {a: b}\n", 6, "pronounce.hello", "want a string"},
		{"pronounce blank", "language: en\n" + intents + "pronounce:\n  hello: \"  \"\n", 6, "pronounce.hello", "1 to 100 bytes"},
		{"pronounce punctuation", "language: en\n" + intents + "pronounce:\n  hello: \"heh low!\"\n", 6, "pronounce.hello", "no punctuation"},
		{"pronounce no words", "language: en\n" + intents + "pronounce:\n  hello: \"...\"\n", 6, "pronounce.hello", "1 to 100 bytes"},
		{"pronounce twice", "language: en\n" + intents + "pronounce:\n  hello: heh low\n  Hello: hah low\n", 7, "pronounce.Hello", "given twice"},
		{"yaml syntax", "language: en\nintents:\n  A: [\n", 3, "", "did not find"},
		{"empty file", "", 0, "", "empty file"},
		{"not a mapping", "- a\n- b\n", 1, "", "want a mapping"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse("test.yaml", []byte(tc.yaml))
			if err == nil {
				t.Fatalf("no error; intents %v", c.Intents)
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T %v is not an *Error", err, err)
			}
			if e.File != "test.yaml" || e.Line != tc.line || e.Field != tc.field || !strings.Contains(e.Msg, tc.msg) {
				t.Errorf("got %q (line %d, field %q), want line %d, field %q, message with %q", e, e.Line, e.Field, tc.line, tc.field, tc.msg)
			}
		})
	}
}

// TestParseAllErrors: one pass reports every problem, not just the first.
func TestParseAllErrors(t *testing.T) {
	_, err := Parse("x.yaml", []byte(`language: en
intents:
  A:
    templates: ["open {nope}", "close (a|"]
  B:
    templates: ["[x]"]
slots:
  t: {from: 3, to: 1}
`))
	if err == nil {
		t.Fatal("no error")
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != 4 {
		t.Fatalf("want 4 errors, got:\n%v", err)
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, "x.yaml:") {
			t.Errorf("error without file and line: %q", l)
		}
	}
}

func TestParseValues(t *testing.T) {
	c, err := Parse("v.yaml", []byte(`language: en
intents:
  A:
    templates: ["{s} {n}"]
    response: "{s} at {n}"
slots:
  s:
    - plain phrase
    - {in: driver, out: driver}
    - {in: [co-driver, passenger], out: passenger, say: "the passenger"}
    - {in: max, out: 3}
  n: {from: 10, to: 20, step: 5}
responses: {cancel: OK}
`))
	if err != nil {
		t.Fatal(err)
	}
	s := c.Slots["s"]
	want := []SlotValue{
		{In: []string{"plain phrase"}, Out: "plain phrase", Say: "plain phrase"},
		{In: []string{"driver"}, Out: "driver", Say: "driver"},
		{In: []string{"co-driver", "passenger"}, Out: "passenger", Say: "the passenger"},
		{In: []string{"max"}, Out: 3, Say: "max"},
	}
	if len(s.Values) != len(want) {
		t.Fatalf("values %v", s.Values)
	}
	for i := range want {
		if s.Values[i].Out != want[i].Out || s.Values[i].Say != want[i].Say || strings.Join(s.Values[i].In, "|") != strings.Join(want[i].In, "|") {
			t.Errorf("value %d = %+v, want %+v", i, s.Values[i], want[i])
		}
	}
	n := c.Slots["n"]
	if n.Range == nil || *n.Range != (Range{10, 20, 5}) || len(n.Values) != 3 || n.Values[2].Out != 20 || n.Values[1].Say != "fifteen" {
		t.Errorf("range %+v %+v", n.Range, n.Values)
	}
	if c.Responses["cancel"] != "OK" || c.Response("A") != "{s} at {n}" || c.Response("cancel") != "OK" {
		t.Errorf("responses %v", c.Responses)
	}
	if got := c.Intent("A").SlotNames; strings.Join(got, ",") != "n,s" {
		t.Errorf("SlotNames %v", got)
	}
}

// TestWakeGraph walks the wake graph by hand: the wake phrase alone ends
// in WakeIntent, the wake phrase and a sentence in the sentence's intent,
// a sentence without the wake phrase nowhere.
func TestWakeGraph(t *testing.T) {
	c, err := Parse("w.yaml", []byte("language: en\nintents:\n  Open:\n    templates: [\"open [the] window\"]\nwake: [\"(hey|okay) car\"]\n"))
	if err != nil {
		t.Fatal(err)
	}
	g := c.WakeGraph()
	if g == nil || len(c.Wake) != 1 {
		t.Fatalf("wake graph %v, wake %q", g, c.Wake)
	}
	// closure of a node set over epsilon arcs
	closure := func(set map[int]bool) map[int]bool {
		for changed := true; changed; {
			changed = false
			for n := range set {
				for _, a := range g.Nodes[n].Arcs {
					if a.Word == "" && !set[a.To] {
						set[a.To], changed = true, true
					}
				}
			}
		}
		return set
	}
	walk := func(words ...string) []string {
		set := closure(map[int]bool{g.Start: true})
		for _, w := range words {
			next := map[int]bool{}
			for n := range set {
				for _, a := range g.Nodes[n].Arcs {
					if a.Word == w {
						next[a.To] = true
					}
				}
			}
			set = closure(next)
		}
		var intents []string
		for n := range set {
			if g.Nodes[n].Intent != "" {
				intents = append(intents, g.Nodes[n].Intent)
			}
		}
		return intents
	}
	for _, tc := range []struct {
		words []string
		want  string
	}{
		{[]string{"hey", "car"}, WakeIntent},
		{[]string{"okay", "car", "open", "the", "window"}, "Open"},
		{[]string{"hey", "car", "open", "window"}, "Open"},
		{[]string{"open", "the", "window"}, ""},
		{[]string{"car", "open", "window"}, ""},
	} {
		got := walk(tc.words...)
		if (tc.want == "" && len(got) != 0) || (tc.want != "" && (len(got) != 1 || got[0] != tc.want)) {
			t.Errorf("%v: intents %v, want %q", tc.words, got, tc.want)
		}
	}
	var phrases []string
	for _, s := range c.IntentSentences(WakeIntent, 0) {
		phrases = append(phrases, s.Text)
	}
	if strings.Join(phrases, ",") != "hey car,okay car" {
		t.Errorf("wake phrases %q", phrases)
	}
	voc := strings.Join(c.Vocabulary(), " ")
	if voc != "car hey okay open the window" {
		t.Errorf("vocabulary %q", voc)
	}
	if p, _ := Parse("n.yaml", []byte("language: en\nintents:\n  Open:\n    templates: [open]\n")); p.WakeGraph() != nil {
		t.Error("a context without a wake phrase has a wake graph")
	}
}

// TestParseSaysAs: pronounce entries are folded like graph words, one
// text or a list each, and keep their order (the first is the main form).
func TestParseSaysAs(t *testing.T) {
	c, err := Parse("p.yaml", []byte(`language: en
intents:
  Order:
    templates: ["a {drink} please", "charge my Ioniq"]
slots:
  drink: [latte, flat white]
pronounce:
  Latte: [lah tay, la tay]
  ioniq: "  eye   on ick "
`))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{"latte": {"lah tay", "la tay"}, "ioniq": {"eye on ick"}}
	if len(c.SaysAs) != len(want) {
		t.Fatalf("SaysAs = %v, want %v", c.SaysAs, want)
	}
	for w, forms := range want {
		if strings.Join(c.SaysAs[w], "|") != strings.Join(forms, "|") {
			t.Errorf("SaysAs[%q] = %q, want %q", w, c.SaysAs[w], forms)
		}
	}
	for in, want := range map[string]string{
		"A Latte, please.":     "A lah tay, please.",
		"charge my Ioniq!":     "charge my eye on ick!",
		"lattes and ioniq's":   "lattes and ioniq's", // other words are left alone
		"nothing to change  x": "nothing to change  x",
		"Ioniq-5/Latte\n\tok":  "eye on ick-5/lah tay\n\tok", // hyphens, slashes, spacing kept
	} {
		if got := c.Pronounce(in); got != want {
			t.Errorf("Pronounce(%q) = %q, want %q", in, got, want)
		}
	}
	fr, err := Parse("fr.yaml", []byte(`language: fr
intents:
  A:
    templates: ["quelle est l'autonomie de la ioniq"]
pronounce:
  autonomie: otonomi
  ioniq: aïonik
`))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fr.Pronounce("Il reste l'autonomie de la Ioniq-5."), "Il reste l'otonomi de la aïonik-5."; got != want {
		t.Errorf("fr Pronounce = %q, want %q", got, want)
	}
	if _, ok := c.Match("a latte please"); !ok {
		t.Error(`"a latte please" no longer matches: pronounce must not change the words`)
	}
}

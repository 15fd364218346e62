package asr

import (
	"math"
	"slices"
	"testing"

	"github.com/evedge/evedge/agent/voice/intent"
)

const testContext = `language: en
intents:
  OpenWindow:
    templates: ["open [the] {window} window"]
  Digit:
    templates: ["{digit}"]
slots:
  window: [front left, rear left]
  digit: {from: 1, to: 3}
`

var testLex = Lexicon{
	"open": ParseIPA("o_ʊ_p_ə_n"), "the": ParseIPA("ð_ə"), "window": ParseIPA("w_ɪ_n_d_o_ʊ"),
	"front": ParseIPA("f_ɹ_ʌ_n_t"), "rear": ParseIPA("ɹ_ɪ_ɹ"), "left": ParseIPA("l_ɛ_f_t"),
	"one": ParseIPA("w_ʌ_n"), "two": ParseIPA("t_u"), "three": ParseIPA("θ_ɹ_i"),
}

// emissions renders a phone sequence as frames whose best class is the
// phone, 4 frames each, with silence around.
func emissions(phones []Class) [][]float32 {
	var out [][]float32
	add := func(c Class, n int) {
		for range n {
			em := make([]float32, NumClasses)
			for i := range em {
				em[i] = -6
			}
			em[c] = -0.1
			out = append(out, em)
		}
	}
	add(0, 5)
	for _, p := range phones {
		add(p, 4)
	}
	add(0, 5)
	return out
}

func TestDecoder(t *testing.T) {
	c := mustContext(t, "test.yaml", testContext)
	n, err := NewNet(c, testLex, DefaultDurations)
	if err != nil {
		t.Fatal(err)
	}
	d := NewDecoder(n)
	for _, tc := range []struct {
		words  []string
		intent string
		slot   string
		value  any
	}{
		{[]string{"open", "the", "rear", "left", "window"}, "OpenWindow", "window", "rear left"},
		{[]string{"open", "front", "left", "window"}, "OpenWindow", "window", "front left"},
		{[]string{"three"}, "Digit", "digit", 3},
	} {
		var ph []Class
		for _, w := range tc.words {
			ph = append(ph, testLex[w]...)
		}
		d.Reset()
		for _, em := range emissions(ph) {
			d.Step(em)
		}
		r := d.Result()
		if r.Final < 0 {
			t.Fatalf("%v: no path", tc.words)
		}
		rec := &Recognizer{Net: n, Threshold: -1}
		res := rec.result(r)
		if !res.Understood || res.Intent != tc.intent || res.Slots[tc.slot] != tc.value {
			t.Errorf("%v: got %+v, want %s %s=%v", tc.words, res, tc.intent, tc.slot, tc.value)
		}
		if got := len(r.Words); got != len(tc.words) {
			t.Errorf("%v: words %v", tc.words, r.Words)
		}
		if r.Confidence() > 1e-3 || r.Confidence() < -0.5 {
			t.Errorf("%v: confidence %.3f, want near 0", tc.words, r.Confidence())
		}
	}
	// Out of grammar: "front two window" fits nothing well.
	d.Reset()
	for _, em := range emissions(append(append(testLex["two"], testLex["front"]...), testLex["three"]...)) {
		d.Step(em)
	}
	if conf := d.Result().Confidence(); conf > -1 {
		t.Errorf("out of grammar: confidence %.3f, want well below 0", conf)
	}
}

func TestNetMissingWord(t *testing.T) {
	c := mustContext(t, "test.yaml", testContext)
	lex := Lexicon{"open": testLex["open"]}
	if _, err := NewNet(c, lex, DefaultDurations); err == nil {
		t.Fatal("NewNet with a missing word: no error")
	}
}

func TestDecoderStepNoAlloc(t *testing.T) {
	c := mustContext(t, "test.yaml", testContext)
	n, err := NewNet(c, testLex, DefaultDurations)
	if err != nil {
		t.Fatal(err)
	}
	d := NewDecoder(n)
	ems := emissions(testLex["three"])
	run := func() {
		d.Reset()
		for _, em := range ems {
			d.Step(em)
		}
	}
	run() // grows the history pool once
	if a := testing.AllocsPerRun(10, run); a != 0 {
		t.Errorf("%.1f allocations per utterance in steady state, want 0", a)
	}
}

// TestDecoderComplete checks Decoding.Complete against the grammar worked
// by hand: a sentence is complete when no template goes on from its words
// ("[please]" may follow "window" in OpenWindow, nothing follows "window"
// in Close or a digit; "stop" ends Cancel but begins "stop the window").
func TestDecoderComplete(t *testing.T) {
	const ctx = `language: en
intents:
  OpenWindow:
    templates: ["open [the] {window} window [please]"]
  CloseWindow:
    templates: ["close [the] window"]
  Digit:
    templates: ["{digit}"]
  Cancel:
    templates: ["stop"]
  StopWindow:
    templates: ["stop the window"]
slots:
  window: [front left, rear left, rear]
  digit: {from: 1, to: 3}
`
	c := mustContext(t, "test.yaml", ctx)
	lex := Lexicon{"please": ParseIPA("p_l_i_z"), "close": ParseIPA("k_l_o_ʊ_z"), "stop": ParseIPA("s_t_ɑ_p")}
	for w, p := range testLex {
		lex[w] = p
	}
	n, err := NewNet(c, lex, DefaultDurations)
	if err != nil {
		t.Fatal(err)
	}
	d := NewDecoder(n)
	for _, tc := range []struct {
		words    []string
		complete bool
	}{
		{[]string{"open", "the", "rear", "left", "window"}, false},
		{[]string{"open", "rear", "window"}, false},
		{[]string{"open", "rear", "window", "please"}, true},
		{[]string{"close", "the", "window"}, true},
		{[]string{"close", "window"}, true},
		{[]string{"three"}, true},
		// Cancel ends at "stop", StopWindow goes on: not complete.
		{[]string{"stop"}, false},
		{[]string{"stop", "the", "window"}, true},
	} {
		var ph []Class
		for _, w := range tc.words {
			ph = append(ph, lex[w]...)
		}
		d.Reset()
		for _, em := range emissions(ph) {
			d.Step(em)
		}
		r := d.Result()
		if len(r.Words) != len(tc.words) {
			t.Fatalf("%v: decoded %v", tc.words, r.Words)
		}
		if r.Complete != tc.complete {
			t.Errorf("%v: complete %v, want %v", tc.words, r.Complete, tc.complete)
		}
	}
}

// TestWakeConfidence: on the wake graph, "hey car open the front left
// window" has its wake phrase near confidence 0; "open the front left
// window" without it must force the wake phrase onto other phones, which
// WakeConfidence shows even where the whole path's confidence does not.
func TestWakeConfidence(t *testing.T) {
	c := mustContext(t, "test.yaml", testContext+"wake: [\"hey car\"]\n")
	lex := Lexicon{"hey": ParseIPA("h_e_ɪ"), "car": ParseIPA("k_ɑ_ɹ")}
	for w, p := range testLex {
		lex[w] = p
	}
	n, err := NewNetGraph(c.WakeGraph(), lex, DefaultDurations)
	if err != nil {
		t.Fatal(err)
	}
	d := NewDecoder(n)
	decode := func(words ...string) Decoding {
		var ph []Class
		for _, w := range words {
			ph = append(ph, lex[w]...)
		}
		d.Reset()
		for _, em := range emissions(ph) {
			d.Step(em)
		}
		return d.Result()
	}
	with := decode("hey", "car", "open", "the", "front", "left", "window")
	if with.WakeConfidence < -0.5 || with.WakeConfidence > 1e-3 {
		t.Errorf("with the wake phrase: wake confidence %.2f, want near 0 (words %v)", with.WakeConfidence, with.Words)
	}
	without := decode("open", "the", "front", "left", "window")
	if without.WakeConfidence > -2 {
		t.Errorf("without the wake phrase: wake confidence %.2f (whole path %.2f), want well below 0", without.WakeConfidence, without.Confidence())
	}
	t.Logf("wake confidence with %.2f, without %.2f (whole path %.2f)", with.WakeConfidence, without.WakeConfidence, without.Confidence())
	plain, _ := NewNet(c, lex, DefaultDurations)
	d = NewDecoder(plain)
	if r := decode("open", "window"); !math.IsInf(r.WakeConfidence, -1) {
		t.Errorf("plain graph: wake confidence %v, want -Inf", r.WakeConfidence)
	}
}

// TestDecoderVariants: a word with a second pronunciation (word#1) is
// recognised said either way, and reported as the word itself; without
// the variant, the reduced form loses to another sentence.
func TestDecoderVariants(t *testing.T) {
	const ctx = `language: en
intents:
  Order:
    templates: ["(a|the) {thing}"]
slots:
  thing: [lot, cat]
`
	c := mustContext(t, "variants.yaml", ctx)
	lex := Lexicon{"a": ParseIPA("eɪ"), "the": ParseIPA("ð_ə"), "lot": ParseIPA("l_ɑː_t"), "cat": ParseIPA("k_æ_t")}
	reduced := append(ParseIPA("ə"), ParseIPA("l_ɑː_t")...) // "a lot" said ə lɑːt
	decode := func(lex Lexicon, said []Class) []string {
		n, err := NewNet(c, lex, DefaultDurations)
		if err != nil {
			t.Fatal(err)
		}
		d := NewDecoder(n)
		d.Reset()
		for _, em := range emissions(said) {
			d.Step(em)
		}
		return d.Result().Words
	}
	if got := decode(lex, reduced); slices.Equal(got, []string{"a", "lot"}) {
		t.Errorf("without the variant: %v, want the reduced a read as another word", got)
	}
	lex["a#1"] = ParseIPA("ə")
	if got := decode(lex, reduced); !slices.Equal(got, []string{"a", "lot"}) {
		t.Errorf("with a#1 = ə: %v, want [a lot]", got)
	}
	strong := append(ParseIPA("eɪ"), ParseIPA("k_æ_t")...)
	if got := decode(lex, strong); !slices.Equal(got, []string{"a", "cat"}) {
		t.Errorf("strong form with the variant listed: %v, want [a cat]", got)
	}
	if got := len(lex.Variants("a")); got != 2 {
		t.Errorf("Variants(a): %d pronunciations, want 2", got)
	}
}

// mustContext parses a test context or fails the test.
func mustContext(t testing.TB, name, yaml string) *intent.Context {
	t.Helper()
	c, err := intent.Parse(name, []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

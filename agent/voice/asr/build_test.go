package asr

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/evedge/evedge/agent/voice/asr/noise"
	voicemodel "github.com/evedge/evedge/models/voice"
)

func TestEmbeddedModel(t *testing.T) {
	m, err := ParseModel(voicemodel.AM, voicemodel.Meta)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.AM.Verify(); err != nil {
		t.Fatal(err)
	}
	if n := len(voicemodel.AM); n > MaxModelSize {
		t.Errorf("model is %d bytes, the budget is %d", n, MaxModelSize)
	}
}

func TestBuildBadContext(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "bad.yaml")
	os.WriteFile(p, []byte("language: en\nintents:\n  A:\n    templates: [\"open {nothing}\"]\n"), 0o644)
	_, err := Build(context.Background(), Espeak{}, p, voicemodel.AM, voicemodel.Meta, filepath.Join(dir, "out"))
	if err == nil || !strings.Contains(err.Error(), "bad.yaml:4") {
		t.Fatalf("Build(bad context) = %v, want an error naming bad.yaml:4", err)
	}
}

// TestBuildInfer builds a small context with espeak-ng and recognises
// espeak speech of a voice variant the model was not trained on.
func TestBuildInfer(t *testing.T) {
	if _, err := exec.LookPath("espeak-ng"); err != nil {
		t.Skip("espeak-ng not installed")
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "ctx.yaml")
	os.WriteFile(p, []byte(testContext), 0o644)
	out := filepath.Join(dir, "model")
	if _, err := Build(context.Background(), Espeak{}, p, voicemodel.AM, voicemodel.Meta, out); err != nil {
		t.Fatal(err)
	}
	rec, err := Open(out)
	if err != nil {
		t.Fatal(err)
	}
	right := 0
	cases := []struct{ text, intent, slot string }{
		{"open the rear left window", "OpenWindow", "rear left"},
		{"open front left window", "OpenWindow", "front left"},
		{"two", "Digit", "2"},
	}
	for i, tc := range cases {
		r := rec.Recognize(Trim(speak(t, dir, "en-us+Andrea", tc.text)))
		t.Logf("%d %q → %+v", i, tc.text, r)
		var slot string
		for _, v := range r.Slots {
			slot = strings.TrimSpace(strings.Trim(strings.ReplaceAll(strings.TrimSpace(fmtAny(v)), "_", " "), " "))
		}
		if r.Understood && r.Intent == tc.intent && slot == tc.slot {
			right++
		}
	}
	if right < 2 {
		t.Errorf("%d of %d understood, want at least 2", right, len(cases))
	}
}

func fmtAny(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case int:
		return string(rune('0' + v%10))
	}
	return ""
}

// TestModelOffsets: a model's meta may name its frame offsets; they must
// match the network's input width, and a meta without them must have the
// default context and width.
func TestModelOffsets(t *testing.T) {
	var meta map[string]any
	if err := json.Unmarshal(voicemodel.Meta, &meta); err != nil {
		t.Fatal(err)
	}
	m0, err := ParseModel(voicemodel.AM, voicemodel.Meta)
	if err != nil {
		t.Fatal(err)
	}
	n := len(m0.AM.Inputs) / Bands // frames the committed network takes
	span := func(from, count int) []int {
		o := make([]int, count)
		for i := range o {
			o[i] = from + i
		}
		return o
	}
	with := func(kv ...any) []byte {
		m := maps.Clone(meta)
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == nil {
				delete(m, kv[i].(string))
			} else {
				m[kv[i].(string)] = kv[i+1]
			}
		}
		b, _ := json.Marshal(m)
		return b
	}
	for _, offs := range [][]int{m0.Meta.Offsets, span(-n/2, n), span(-(n - 1), n)} {
		m, err := ParseModel(voicemodel.AM, with("offsets", offs))
		if err != nil || fmt.Sprint(m.Meta.Offsets) != fmt.Sprint(offs) {
			t.Errorf("offsets %v: %v", offs, err)
		}
	}
	outside := span(-n/2, n)
	outside[0] = -40
	for _, c := range []struct {
		kv   []any
		want string
	}{
		{[]any{"offsets", span(-n/2, n+1)}, fmt.Sprintf("%d inputs", n*Bands)},
		{[]any{"offsets", span(1, n)}, "lack the current frame"},
		{[]any{"offsets", outside}, "outside"},
		{[]any{"offsets", nil, "context", 7}, "context 7 without offsets"},
		{[]any{"offsets", nil, "context", Context}, fmt.Sprintf("want %d", Inputs)},
	} {
		_, err := ParseModel(voicemodel.AM, with(c.kv...))
		if n*Bands == Inputs && c.want == fmt.Sprintf("want %d", Inputs) {
			continue // the committed model has the default width
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want an error with %q", c.kv, err, c.want)
		}
	}
}

// TestOtherDomain builds a context of another domain, never seen in
// training (testdata/coffee.en.yaml: coffee orders with up to six slots
// in several orders, the domain of the speech-to-intent benchmark), the
// way `evedge voice build` does, and recognises random sentences of it
// (intent.RandomSentence) read by voices the model never heard:
//   - espeak-ng voice variants held out of training, at random speeds
//     (120..219 words a minute) and pitches;
//   - festival's ked_diphone, a speaker of another synthesiser that no
//     training voice has (festival festvox-kdlpc16k; required when
//     EVEDGE_REQUIRE_FESTIVAL is set, as in CI).
//
// The expected intent and slots are the sentences the synthesiser was
// given, not the recogniser's output. Measured on 2026-11-30: the model
// trained on the car sentences only (round 3, before word salad and
// flite) got 29/40 and 12/40 here, round 4 31/40 and 26/40, round 4 with
// the words' connected-speech forms in the lexicon (Pronounce) 33/40 and
// 30/40 (27 was the festival floor then: round 4 without those forms got
// 26), round 6 (two more rounds of alignment) 34/40 and 32/40. The
// floors, 30 and 29, fail on round 4 without the sentence forms and on
// anything weaker than round 4 with them. The espeak-ng sentences again
// in café and kitchen noise: round 6, trained with steady noise only,
// 25/40; round 7 with café and kitchen noise in training (asrtrain
// -babble) 36/40 (34 and 34 on the other two); the floor, 31, fails on
// round 6.
func TestOtherDomain(t *testing.T) {
	if _, err := exec.LookPath("espeak-ng"); err != nil {
		if os.Getenv("EVEDGE_REQUIRE_ESPEAK") != "" {
			t.Fatal("espeak-ng required (EVEDGE_REQUIRE_ESPEAK) but not installed")
		}
		t.Skip("espeak-ng not installed")
	}
	if testing.Short() || raceEnabled {
		t.Skip("short or race: runs in the plain test pass")
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "model")
	if _, err := Build(context.Background(), Espeak{}, "testdata/coffee.en.yaml", voicemodel.AM, voicemodel.Meta, out); err != nil {
		t.Fatal(err)
	}
	rec, err := Open(out)
	if err != nil {
		t.Fatal(err)
	}
	score := func(name string, min int, say func(i int, rng *rand.Rand, text string) []float32) {
		rng := rand.New(rand.NewPCG(42, 1))
		const n = 40
		right := 0
		for i := range n {
			s, ok := rec.Context.RandomSentence(rng)
			if !ok {
				t.Fatal("no sentence")
			}
			r := rec.Recognize(Trim(say(i, rng, s.Text)))
			if r.Understood && r.Intent == s.Intent && maps.EqualFunc(r.Slots, s.Slots, func(a, b any) bool { return fmt.Sprint(a) == fmt.Sprint(b) }) {
				right++
			} else {
				t.Logf("%s: %q → %v %s %v %q", name, s.Text, r.Understood, r.Intent, r.Slots, r.Words)
			}
		}
		t.Logf("%s: %d of %d right", name, right, n)
		if right < min {
			t.Errorf("%s: %d of %d coffee orders right, want at least %d", name, right, n, min)
		}
	}
	// Held-out variants (asrtrain's splitVariants: every fifth of
	// espeak-ng's variant list, from the third).
	voices := []string{"en-us+david", "en+max", "en-gb-x-rp+f4", "en+m7", "en-us+victor"}
	score("espeak-ng", 30, func(i int, rng *rand.Rand, text string) []float32 {
		return speakAt(t, dir, voices[i%len(voices)], text, 120+rng.IntN(100), 20+rng.IntN(60))
	})
	// The same sentences and voices in café and kitchen noise (package
	// noise), each in one of the speech-to-intent benchmark's 16
	// conditions (24..3 dB peak-frame SNR × café, kitchen), 0.25 s of
	// noise before and after (40 sentences: the café conditions come three
	// times, the kitchen ones twice). The café's talkers read none of the
	// sentences (other texts, four of them in other languages).
	var talkers [][]float32
	for i, tv := range [][2]string{
		{"de+m3", "Die Werkstatt prüft die Batterie und den Kühlkreislauf vor der nächsten Fahrt."},
		{"fr+f2", "Nous avons réservé une table près de la fenêtre pour huit personnes ce soir."},
		{"es+m1", "El tren de las nueve llega tarde porque hubo niebla en la montaña."},
		{"en-gb-scotland+m2", "They said the museum would open again after the holidays, but nobody knows when."},
		{"en-us+f1", "My sister bought a new bicycle and rides it to the office every morning."},
		{"de+f3", "Am Wochenende fahren wir an den See, wenn das Wetter hält."},
	} {
		talkers = append(talkers, noise.Normalise(Trim(speakAt(t, dir, tv[0], tv[1], 140+10*i, 30+8*i))))
	}
	nrng := rand.New(rand.NewPCG(7, 3))
	snrs := []float64{24, 21, 18, 15, 12, 9, 6, 3}
	score("espeak-ng in café and kitchen noise", 31, func(i int, rng *rand.Rand, text string) []float32 {
		x := speakAt(t, dir, voices[i%len(voices)], text, 120+rng.IntN(100), 20+rng.IntN(60))
		pad := SampleRate / 4
		y := make([]float32, pad+len(x)+pad)
		copy(y[pad:], x)
		kind := noise.Cafe
		if i%16 >= 8 {
			kind = noise.Kitchen
		}
		n := noise.Make(nrng, kind, len(y), talkers)
		k := noise.PeakSNRScale(y, n, snrs[i%8])
		for j := range y {
			y[j] += k * n[j]
		}
		return y
	})
	if _, err := os.Stat("/usr/share/festival/voices/english/ked_diphone"); err != nil {
		if os.Getenv("EVEDGE_REQUIRE_FESTIVAL") != "" {
			t.Fatal("festival's ked_diphone voice required (EVEDGE_REQUIRE_FESTIVAL) but not installed (apt install festival festvox-kdlpc16k)")
		}
		t.Log("festival's ked_diphone not installed: unseen-speaker part skipped")
		return
	}
	score("festival ked_diphone", 29, func(i int, rng *rand.Rand, text string) []float32 {
		return festival(t, dir, "ked_diphone", text, 0.85+0.4*rng.Float64())
	})
}

// TestConnectedVariants: espeak-ng says "a" alone in its strong form (eɪ)
// and inside "a lot of" reduced (ɐ, class ə; `espeak-ng -q --ipa -v en-us
// "a"` and "a lot of"): Pronounce keeps the strong form and adds the
// reduced one as a#1; a word said alike alone and in the sentences
// ("milk") gets no variant.
// TestPronounceSaysAs: a context's pronounce entries replace espeak-ng's
// reading of the word (the first form is the word, the others variants)
// and the word takes no sentence forms. The expected phones are what
// espeak-ng -q --ipa prints for the respellings ("lah tay" l_ˈɑː t_ˈeɪ,
// "lat" l_ˈæ_t, "eh" ˈeɪ), copied from the command line.
func TestPronounceSaysAs(t *testing.T) {
	if _, err := exec.LookPath("espeak-ng"); err != nil {
		t.Skip("espeak-ng not installed")
	}
	c := mustContext(t, "order.yaml", `language: en
intents:
  Order:
    templates: ["[can i have] a {drink} with a lot of milk"]
slots:
  drink: [latte, mocha, coffee]
pronounce:
  latte: [lah tay, lat, lah  tay]
  a: eh
`)
	lex, err := Pronounce(context.Background(), Espeak{}, c)
	if err != nil {
		t.Fatal(err)
	}
	for w, want := range map[string]string{"latte": "lɑteɪ", "latte#1": "læt", "a": "eɪ"} {
		if got := lex[w]; !slices.Equal(got, ParseIPA(want)) {
			t.Errorf("%s: %v, want %s", w, got, want)
		}
	}
	for _, w := range []string{"latte#2", "a#1"} {
		if ph, ok := lex[w]; ok {
			t.Errorf("%s: %v; a word with the context's pronunciations takes no other forms", w, ph)
		}
	}
	if got := len(lex.Variants("latte")); got != 2 {
		t.Errorf("latte has %d pronunciations, want 2 (the third form repeats the first)", got)
	}
	// A respelling of two groups ("lah tay") does not keep the sentences
	// with "latte" from giving the other words their forms: here every
	// sentence has latte, and "a" still gets its form in "a lot of" (ɐ).
	c = mustContext(t, "order.yaml", `language: en
intents:
  Order:
    templates: ["[can i have] {drink} with a lot of milk", "is it a lot of {drink}"]
slots:
  drink: [latte]
pronounce:
  latte: lah tay
`)
	if lex, err = Pronounce(context.Background(), Espeak{}, c); err != nil {
		t.Fatal(err)
	}
	if _, ok := lex["a#1"]; !ok {
		t.Errorf("a has no sentence form; lexicon %v", lex)
	}
}

func TestConnectedVariants(t *testing.T) {
	if _, err := exec.LookPath("espeak-ng"); err != nil {
		t.Skip("espeak-ng not installed")
	}
	c := mustContext(t, "order.yaml", "language: en\nintents:\n  Order:\n    templates: [\"[can i have] a {drink} with a lot of milk\"]\nslots:\n  drink: [latte, mocha, coffee]\n")
	lex, err := Pronounce(context.Background(), Espeak{}, c)
	if err != nil {
		t.Fatal(err)
	}
	if got := lex["a"]; !slices.Equal(got, ParseIPA("eɪ")) {
		t.Errorf("a: %v, want eɪ", got)
	}
	if got := lex["a#1"]; !slices.Equal(got, ParseIPA("ɐ")) {
		t.Errorf("a#1: %v, want ɐ (ə)", got)
	}
	if _, ok := lex["milk#1"]; ok {
		t.Errorf("milk has a variant: %v", lex["milk#1"])
	}
	// espeak-ng says "battery" bˈæɾɚɹi alone and in sentences: ɚ then ɹ
	// reads as ə ɹ ɹ. The sentence forms merge runs of a class, which
	// makes the same pronunciation no new form of the word.
	c = mustContext(t, "battery.yaml", "language: en\nintents:\n  Check:\n    templates: [\"(check|show) [the] battery {what}\"]\nslots:\n  what: [level, state, health, charge]\n")
	if lex, err = Pronounce(context.Background(), Espeak{}, c); err != nil {
		t.Fatal(err)
	}
	if ph, ok := lex["battery#1"]; ok {
		t.Errorf("battery#1 = %v: the word's own form %v with a run merged", ph, lex["battery"])
	}
	// espeak-ng says "21" as two groups (twenty one) and joins "in the"
	// into one: "play track 21 in the car" has one group per word all the
	// same, and read that way "in" would get "one"'s form. Sentences with
	// a word said as several groups are not read.
	c = mustContext(t, "track.yaml", "language: en\nintents:\n  Play:\n    templates: [\"play track {n} in the car\"]\nslots:\n  n: [\"21\", \"22\", \"23\"]\n")
	if lex, err = Pronounce(context.Background(), Espeak{}, c); err != nil {
		t.Fatal(err)
	}
	for w, ph := range lex {
		if strings.Contains(w, "#") {
			t.Errorf("%s: variant %v from sentences whose words shift", w, ph)
		}
	}
}

package adapt

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/evedge/evedge/agent/voice/asr"
	"github.com/evedge/evedge/agent/voice/intent"
)

// TestSpokenAndPhones: a synthesiser reads a sentence word by word as the
// lexicon pronounced it (a respelled word as its respelling, French
// elisions as their own words), and the phones it is aligned to are the
// words' in order; a word missing from the lexicon drops the sentence.
func TestSpokenAndPhones(t *testing.T) {
	c, err := intent.Parse("t.en.yaml", []byte(`language: en
intents:
  Drive:
    templates: ["drive my ioniq"]
pronounce:
  ioniq: eye on ick
`))
	if err != nil {
		t.Fatal(err)
	}
	s, ok := c.RandomSentence(rand.New(rand.NewPCG(1, 2)))
	if !ok {
		t.Fatal("no sentence")
	}
	if got := spoken(c, s); got != "drive my eye on ick" {
		t.Errorf("spoken %q", got)
	}
	lex := asr.Lexicon{"drive": {1, 2}, "my": {3}, "ioniq": {4, 5, 6}}
	if got := PhonesOf(lex, s.Words); !slices.Equal(got, []asr.Class{1, 2, 3, 4, 5, 6}) {
		t.Errorf("phones %v", got)
	}
	delete(lex, "my")
	if got := PhonesOf(lex, s.Words); got != nil {
		t.Errorf("a word missing from the lexicon: phones %v, want none", got)
	}
	fr, err := intent.Parse("t.fr.yaml", []byte(`language: fr
intents:
  Go:
    templates: ["jusqu'à l'école"]
`))
	if err != nil {
		t.Fatal(err)
	}
	s, _ = fr.RandomSentence(rand.New(rand.NewPCG(1, 2)))
	if len(s.Words) < 3 {
		t.Fatalf("French elisions not split into words: %q", s.Words)
	}
}

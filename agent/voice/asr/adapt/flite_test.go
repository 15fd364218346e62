package adapt

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/evedge/evedge/agent/voice/asr"
)

// names gives classes as their IPA names, for readable failures.
func names(cs []asr.Class) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.String())
	}
	return out
}

// TestArpabetClasses reads flite -ps lines into classes. The expected
// classes are the CMU dictionary's ARPAbet symbols written in IPA by hand
// (the CMUdict documentation's table), then split into the recogniser's
// classes as phones.go splits espeak-ng's IPA (diphthongs two classes,
// ʌ and ə one, ɚ as ə ɹ).
func TestArpabetClasses(t *testing.T) {
	for _, c := range []struct {
		ps   string
		want []string
	}{
		// "hello there", flite kal
		{"pau hh ax l ow dh eh r pau \n", []string{"h", "ə", "l", "o", "ʊ", "ð", "ɛ", "ɹ"}},
		// "latte" as flite says it: /læt/
		{"pau l ae t pau", []string{"l", "æ", "t"}},
		// "a lot of milk", flite slt
		{"pau ax l aa t ah v m ih l k pau", []string{"ə", "l", "ɑ", "t", "ə", "v", "m", "ɪ", "l", "k"}},
		// the diphthongs, r-coloured vowel, affricates, flap
		{"ay aw oy ey er ch jh dx ng zh th y", []string{"a", "ɪ", "a", "ʊ", "ɔ", "ɪ", "e", "ɪ", "ə", "ɹ", "tʃ", "dʒ", "r", "ŋ", "ʒ", "θ", "j"}},
		// stress digits (CMUdict style) are ignored
		{"k aa1 f iy0", []string{"k", "ɑ", "f", "i"}},
	} {
		if got := names(arpabetClasses(c.ps)); !slices.Equal(got, c.want) {
			t.Errorf("arpabetClasses(%q) = %v, want %v", c.ps, got, c.want)
		}
	}
	if got := arpabetClasses("pau l qq t pau"); got != nil {
		t.Errorf("an unknown phone gave %v, want nil (the utterance is skipped)", names(got))
	}
}

// TestFlitePhones runs flite (skipped where it is not installed, unless
// EVEDGE_REQUIRE_FLITE is set, as in CI) and checks
// that every phone its voices say maps: a phone missing from arpabet would
// silently drop that voice's utterances from training.
func TestFlitePhones(t *testing.T) {
	if _, err := exec.LookPath("flite"); err != nil {
		if os.Getenv("EVEDGE_REQUIRE_FLITE") != "" {
			t.Fatal("flite required (EVEDGE_REQUIRE_FLITE) but not installed (apt install flite)")
		}
		t.Skip("flite not installed (apt install flite)")
	}
	text := "the quick brown fox jumps over the lazy dog, while we measure a hundred and twenty joules of heat in the garage"
	for _, v := range FliteVoices {
		x, ph, err := FliteSay(context.Background(), filepath.Join(t.TempDir(), v+".wav"), v, text, 1, 0, true)
		if err != nil {
			t.Fatal(err)
		}
		if len(x) < 16000 || len(ph) < 60 {
			t.Errorf("flite %s: %d samples, %d phones; want a few seconds and 60 phones or more", v, len(x), len(ph))
		}
	}
}

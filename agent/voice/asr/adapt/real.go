package adapt

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/evedge/evedge/agent/voice/asr"
	"github.com/evedge/evedge/agent/voice/intent"
)

// Real speech: recordings of the Free Spoken Digit Dataset (FSDD), named
// digit_speaker_index.wav. Their words are known from the file names;
// frame labels come from a forced alignment of the word's espeak-ng
// pronunciation against the audio with an existing acoustic model, the
// classic bootstrap of HMM training.

// DigitWords are the English digits, 0..9.
var DigitWords = []string{"zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"}

// FSDDFile parses "7_theo_23.wav" into digit and speaker.
func FSDDFile(path string) (digit int, speaker string, ok bool) {
	parts := strings.Split(strings.TrimSuffix(filepath.Base(path), ".wav"), "_")
	if len(parts) != 3 {
		return 0, "", false
	}
	d, err := strconv.Atoi(parts[0])
	if err != nil || d < 0 || d > 9 {
		return 0, "", false
	}
	return d, parts[1], true
}

// LoadFSDD aligns the FSDD recordings in dir of the speakers (all when
// nil) with model m, and returns them with their file names.
// Recordings too short for their word's phones are left out.
func LoadFSDD(ctx context.Context, e asr.Espeak, dir string, speakers map[string]bool, m *asr.Model) ([]Utt, []string, error) {
	c, err := intent.Parse("digits.en.yaml", []byte("language: en\nintents:\n  Digit:\n    templates: [\"{digit}\"]\nslots:\n  digit: {from: 0, to: 9}\n"))
	if err != nil {
		return nil, nil, err
	}
	lex, err := asr.Pronounce(ctx, e, c)
	if err != nil {
		return nil, nil, err
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.wav"))
	if err != nil {
		return nil, nil, err
	}
	f := asr.NewFeatures()
	em := asr.NewEmitter(m)
	var us []Utt
	var names []string
	for _, p := range files {
		d, spk, ok := FSDDFile(p)
		if !ok || (speakers != nil && !speakers[spk]) {
			continue
		}
		phones := lex[DigitWords[d]]
		if len(phones) == 0 {
			return nil, nil, fmt.Errorf("adapt: no pronunciation for %q", DigitWords[d])
		}
		x, err := ReadWAV(p)
		if err != nil {
			return nil, nil, err
		}
		segs, ok := AlignSegs(f, em, x, phones)
		if !ok {
			continue
		}
		us = append(us, Utt{Samples: x, Segs: segs})
		names = append(names, filepath.Base(p))
	}
	return us, names, nil
}

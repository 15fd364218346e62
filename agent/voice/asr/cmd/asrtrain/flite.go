package main

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"

	"github.com/evedge/evedge/agent/voice/asr"
	"github.com/evedge/evedge/agent/voice/intent"
)

// Flite speech in training: Debian's flite (apt install flite) reads
// English with five voices made differently from espeak-ng's formant
// synthesis (kal and kal16: diphone concatenation of a real speaker;
// awb, rms, slt: statistical parametric voices trained on real
// speakers), so they sound more like people than espeak does. flite
// gives no phone timing that matches our classes, so its utterances are
// force-aligned with an existing acoustic model like the real FSDD
// recordings (alignSegs), from the espeak pronunciation of their words.

// fliteVoices are the voices of Debian's flite 2.2 (flite -lv).
var fliteVoices = []string{"kal", "kal16", "awb", "rms", "slt"}

// numbersContext is English 0..99, the words numberWords reads.
func numbersContext() *intent.Context {
	c, err := intent.Parse("numbers.en.yaml", []byte("language: en\nintents:\n  Number:\n    templates: [\"{n}\"]\nslots:\n  n: {from: 0, to: 99}\n"))
	if err != nil {
		panic(err)
	}
	return c
}

// loadFlite synthesises n English utterances per flite voice into dir
// (isolated digits, number sequences and car sentences, at random speed
// and pitch) and aligns them with model m.
//
// With word lists (-words), a third of the utterances are word salad
// (wordLists.salad), pronounced by espeak-ng as a whole.
func loadFlite(rng *rand.Rand, dir string, n, threads int, m *asr.Model, words *wordLists, ownPhones bool) ([]utt, error) {
	if _, err := exec.LookPath("flite"); err != nil {
		return nil, fmt.Errorf("-flite needs flite (apt install flite): %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	car := loadCar(intent.English)
	lex := asr.Lexicon{}
	for _, c := range []*intent.Context{car, numbersContext()} {
		l, err := asr.Pronounce(context.Background(), asr.Espeak{}, c)
		if err != nil {
			return nil, err
		}
		for w, ph := range l {
			lex[w] = ph
		}
	}
	sents := car.Sentences(0)
	digits := []string{"zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"}
	type fjob struct {
		job
		stretch float64
		f0      int
		phones  []asr.Class
	}
	var jobs []fjob
	var salad []string
	if words != nil && words.n > 0 {
		w := &wordLists{n: (n*len(fliteVoices)/3 + 1) / 2, words: words.words} // salad doubles English
		salad = w.salad(rng, intent.English, car)
	}
	for _, v := range fliteVoices {
		for i := 0; i < n; i++ {
			var text string
			if len(salad) > 0 && rng.IntN(3) == 0 {
				text = salad[rng.IntN(len(salad))]
				ipa, err := asr.Espeak{}.IPA(context.Background(), asr.EspeakVoice(intent.English), text)
				if err != nil {
					return nil, err
				}
				if ph := asr.ParseIPA(ipa); len(ph) > 0 {
					jobs = append(jobs, fjob{job: job{ID: fmt.Sprintf("fl-%s-%d", v, i), Voice: v, Text: text, Lang: intent.English},
						stretch: 0.75 + 0.6*rng.Float64(), f0: 80 + rng.IntN(140), phones: ph})
				}
				continue
			}
			switch r := rng.Float64(); {
			case r < 0.4:
				text = digits[rng.IntN(10)]
			case r < 0.7:
				text = numberWords(rng, numbersContext())
			default:
				text = sents[rng.IntN(len(sents))].Text
			}
			var ph []asr.Class
			for _, w := range strings.Fields(text) {
				p, ok := lex[w]
				if !ok {
					ph = nil
					break
				}
				ph = append(ph, p...)
			}
			if len(ph) == 0 {
				continue
			}
			jobs = append(jobs, fjob{job: job{ID: fmt.Sprintf("fl-%s-%d", v, i), Voice: v, Text: text, Lang: intent.English},
				stretch: 0.75 + 0.6*rng.Float64(), f0: 80 + rng.IntN(140), phones: ph})
		}
	}
	us := make([]utt, len(jobs))
	ok := make([]bool, len(jobs))
	errs := make([]error, len(jobs))
	var wg sync.WaitGroup
	for w := range max(threads, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f := asr.NewFeatures()
			em := asr.NewEmitter(m)
			for i := w; i < len(jobs); i += max(threads, 1) {
				j := jobs[i]
				p := filepath.Join(dir, j.ID+".wav")
				x, said, err := fliteSay(p, j.Voice, j.Text, j.stretch, j.f0, ownPhones)
				if err != nil {
					errs[i] = err
					continue
				}
				phones := j.phones
				if ownPhones {
					if phones = said; len(phones) == 0 {
						continue
					}
				}
				segs, good := alignSegs(f, em, x, phones)
				if !good {
					continue
				}
				us[i], ok[i] = utt{job: j.job, Samples: x, Segs: segs}, true
			}
		}()
	}
	wg.Wait()
	var out []utt
	for i := range jobs {
		if errs[i] != nil {
			return nil, errs[i]
		}
		if ok[i] {
			out = append(out, us[i])
		}
	}
	return out, nil
}

// fliteSay synthesises text with flite voice v into the WAV file p (speed
// stretch, mean F0 in Hz; f0 <= 0 keeps the voice's own) and reads it back
// at the recogniser's rate. With phones it also returns the phones flite
// said (its -ps segment list, ARPAbet, mapped by arpabetClasses; nil
// when one is unknown), which is what the voice really spoke: flite's
// lexicon and post-lexical rules, not espeak-ng's.
func fliteSay(p, v, text string, stretch float64, f0 int, phones bool) ([]float32, []asr.Class, error) {
	args := []string{"-voice", v, "--setf", fmt.Sprintf("duration_stretch=%.3f", stretch)}
	if f0 > 0 {
		args = append(args, "--setf", fmt.Sprintf("int_f0_target_mean=%d", f0))
	}
	if phones {
		args = append(args, "-ps")
	}
	cmd := exec.Command("flite", append(args, "-t", text, "-o", p)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, nil, fmt.Errorf("flite %s %q: %v: %s", v, text, err, stderr.Bytes())
	}
	x, err := readWAV(p)
	if err != nil || !phones {
		return x, nil, err
	}
	return x, arpabetClasses(stdout.String()), nil
}

// arpabet gives flite's (CMU) phone names in IPA, read into classes by
// asr.Phoneme as espeak-ng's IPA for the same sounds is (diphthongs are
// two classes, ʌ and the schwa one, ɚ is ə ɹ).
var arpabet = map[string]string{
	"aa": "ɑ", "ae": "æ", "ah": "ʌ", "ao": "ɔ", "aw": "aʊ", "ax": "ə", "ay": "aɪ", "eh": "ɛ",
	"er": "ɚ", "ey": "eɪ", "ih": "ɪ", "iy": "i", "ow": "oʊ", "oy": "ɔɪ", "uh": "ʊ", "uw": "u",
	"b": "b", "ch": "tʃ", "d": "d", "dh": "ð", "dx": "ɾ", "f": "f", "g": "ɡ", "hh": "h",
	"jh": "dʒ", "k": "k", "l": "l", "m": "m", "n": "n", "ng": "ŋ", "p": "p", "r": "ɹ",
	"s": "s", "sh": "ʃ", "t": "t", "th": "θ", "v": "v", "w": "w", "y": "j", "z": "z", "zh": "ʒ",
}

// arpabetClasses reads flite's -ps output ("pau l ae t pau") into classes;
// pauses are dropped (the aligner puts silence where it hears it). nil
// when a phone is not in arpabet.
func arpabetClasses(ps string) []asr.Class {
	var out []asr.Class
	for _, ph := range strings.Fields(ps) {
		if ph == "pau" || ph == "h#" || ph == "brth" {
			continue
		}
		ipa, ok := arpabet[strings.TrimRight(ph, "012")]
		if !ok {
			return nil
		}
		out = append(out, asr.Phoneme(ipa)...)
	}
	return out
}

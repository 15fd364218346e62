package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"

	"github.com/evedge/evedge/agent/voice/asr"
	"github.com/evedge/evedge/agent/voice/asr/adapt"
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
	var jobs []fjob
	var salad []string
	if words != nil && words.n > 0 {
		w := &wordLists{n: (n*len(adapt.FliteVoices)/3 + 1) / 2, words: words.words} // salad doubles English
		salad = w.salad(rng, intent.English, car)
	}
	for _, v := range adapt.FliteVoices {
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
						FliteJob: adapt.FliteJob{ID: fmt.Sprintf("fl-%s-%d", v, i), Voice: v, Text: text, Stretch: 0.75 + 0.6*rng.Float64(), F0: 80 + rng.IntN(140), Phones: ph}})
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
			ph := adapt.PhonesOf(lex, strings.Fields(text))
			if len(ph) == 0 {
				continue
			}
			jobs = append(jobs, fjob{job: job{ID: fmt.Sprintf("fl-%s-%d", v, i), Voice: v, Text: text, Lang: intent.English},
				FliteJob: adapt.FliteJob{ID: fmt.Sprintf("fl-%s-%d", v, i), Voice: v, Text: text, Stretch: 0.75 + 0.6*rng.Float64(), F0: 80 + rng.IntN(140), Phones: ph}})
		}
	}
	return fliteAlign(jobs, dir, threads, m, ownPhones)
}

// fjob is one flite utterance to synthesise, with what it says.
type fjob struct {
	job
	adapt.FliteJob
}

// fliteAlign synthesises and aligns jobs (adapt.AlignFlite); those that do
// not align are left out.
func fliteAlign(jobs []fjob, dir string, threads int, m *asr.Model, ownPhones bool) ([]utt, error) {
	fj := make([]adapt.FliteJob, len(jobs))
	for i, j := range jobs {
		fj[i] = j.FliteJob
	}
	us, ok, err := adapt.AlignFlite(context.Background(), fj, dir, threads, m, ownPhones)
	if err != nil {
		return nil, err
	}
	var out []utt
	for i := range jobs {
		if ok[i] {
			out = append(out, utt{job: jobs[i].job, Utt: us[i]})
		}
	}
	return out, nil
}

package main

import (
	"bytes"
	"context"
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/evedge/evedge/agent/voice/asr"
	"github.com/evedge/evedge/agent/voice/asr/adapt"
	"github.com/evedge/evedge/agent/voice/intent"
)

// A context from another domain (-other FILE.yaml, English), the way a
// user brings one: built with the same code as `evedge voice build` (its
// words pronounced by espeak-ng, no training) and scored on random
// sentences of it read by voices of three synthesisers:
//   - espeak-ng with held-out voice variants (the synthesiser the model
//     is trained on);
//   - flite's five English voices (kal, kal16, awb, rms, slt), in
//     training since the word-salad model (-flite), so no longer a test
//     of unseen voices;
//   - festival's two diphone voices, never used in training, when
//     festival is installed: ked_diphone, a speaker no training voice
//     has, and kal_diphone, flite kal's speaker through another
//     synthesiser.
//
// Scored like the speech-to-intent benchmark: right when understood with
// the right intent and every slot right.

// otherEngines are the synthesisers -other reads sentences with.
var otherEngines = []struct {
	name, engine, voice string // voice: festival's; "" for the others
}{
	{"espeak-ng (held-out variants)", "espeak-ng", ""},
	{"flite (its 5 voices, in training)", "flite", ""},
	{"festival ked_diphone (unseen speaker)", "festival", "ked_diphone"},
	{"festival kal_diphone (flite kal's speaker)", "festival", "kal_diphone"},
}

func evalOther(cfg evalCfg, m *asr.Model, held []string) error {
	if cfg.n <= 0 {
		return fmt.Errorf("-other-n %d: want at least 1 sentence", cfg.n)
	}
	b, err := os.ReadFile(cfg.other)
	if err != nil {
		return err
	}
	c, err := intent.Parse(cfg.other, b)
	if err != nil {
		return err
	}
	if c.Language != intent.English {
		return fmt.Errorf("-other: %s is %s; flite and festival read English only", cfg.other, c.Language)
	}
	rec, err := recognizer(c, m)
	if err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(cfg.seed+3000, 17))
	sents := make([]intent.Sentence, cfg.n)
	for i := range sents {
		s, ok := c.RandomSentence(rng)
		if !ok {
			return fmt.Errorf("-other: %s has no sentences", cfg.other)
		}
		sents[i] = s
	}
	dir := filepath.Join(cfg.work, "other")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	// Café and kitchen noise at the benchmark's SNRs: talkers from the
	// held-out variants, and their own random streams, so that the other
	// columns stay as they were without this one.
	nrng := rand.New(rand.NewPCG(cfg.seed+5000, 23))
	if err := evalTalkers(cfg, held); err != nil {
		return err
	}
	fmt.Printf("\nContext %s (%d sentences of it per synthesiser; intent and every slot right; café/kitchen: each sentence in one of the 16 conditions of %v dB × café, kitchen, peak-frame SNR as the speech-to-intent benchmark mixes):\n| synthesiser | clean | 5 dB cabin noise | café/kitchen 24..3 dB | ms/utt | RTF |\n|---|---|---|---|---|---|\n", filepath.Base(cfg.other), cfg.n, rhinoSNRs)
	for ei, e := range otherEngines {
		installed := false
		switch e.engine {
		case "festival":
			installed = festivalVoice(e.voice)
		default:
			_, err := exec.LookPath(e.engine)
			installed = err == nil
		}
		if !installed {
			fmt.Printf("| %s | not installed | | | | |\n", e.name)
			continue
		}
		var clean, noise, place []outcome
		var sec float64
		var dur time.Duration
		for i, s := range sents {
			p := filepath.Join(dir, fmt.Sprintf("o%d-%d.wav", ei, i))
			var x []float32
			switch e.engine {
			case "espeak-ng":
				os.Remove(p)
				v := heldVoice(rng, intent.English, held)
				if out, err := exec.Command("espeak-ng", "-v", v, "-s", fmt.Sprint(120+rng.IntN(100)), "-p", fmt.Sprint(20+rng.IntN(60)), "-w", p, s.Text).CombinedOutput(); err != nil {
					return fmt.Errorf("espeak-ng -v %s %q: %v: %s", v, s.Text, err, out)
				}
				x, err = adapt.ReadWAV(p)
			case "flite":
				x, _, err = adapt.FliteSay(context.Background(), p, adapt.FliteVoices[i%len(adapt.FliteVoices)], s.Text, 0.8+0.5*rng.Float64(), 0, false)
			default:
				x, err = festivalSay(p, e.voice, s.Text, 0.8+0.5*rng.Float64())
			}
			if err != nil {
				return err
			}
			r, sc, d := run(rec, x)
			sec += sc
			dur += d
			ok := r.Understood && r.Intent == s.Intent && sameSlots(r.Slots, s.Slots)
			if !ok && cfg.verbose {
				log.Printf("%s miss %q → %v %s %v %q", e.name, s.Text, r.Understood, r.Intent, r.Slots, r.Words)
			}
			clean = append(clean, outcome{ok: ok, conf: r.Confidence})
			y, _, _ := augm.Apply(rng, noisy5dB, x)
			r, _, _ = run(rec, y)
			noise = append(noise, outcome{ok: r.Understood && r.Intent == s.Intent && sameSlots(r.Slots, s.Slots), conf: r.Confidence})
			y, _, _ = augm.Apply(nrng, rhinoAug(i), x)
			r, _, _ = run(rec, y)
			ok = r.Understood && r.Intent == s.Intent && sameSlots(r.Slots, s.Slots)
			if !ok && cfg.verbose {
				log.Printf("%s miss (%s) %q → %v %s %v %q", e.name, describe(rhinoAug(i)), s.Text, r.Understood, r.Intent, r.Slots, r.Words)
			}
			place = append(place, outcome{ok: ok, conf: r.Confidence})
		}
		fmt.Printf("| %s | %s | %s | %s | %.1f | %.4f |\n", e.name, rate(clean), rate(noise), rate(place),
			float64(dur.Milliseconds())/float64(len(sents)), dur.Seconds()/sec)
	}
	return nil
}

// rhinoSNRs are the speech-to-intent benchmark's noise levels.
var rhinoSNRs = []float64{24, 21, 18, 15, 12, 9, 6, 3}

// rhinoAug is the i-th sentence's café or kitchen condition: the 16
// (noise, SNR) pairs in turn, so that a run's rate averages over them as
// the benchmark's does (evenly when the sentence count is a multiple of
// 16; with 100 the four easiest café conditions get 7 sentences, the
// others 6). One noise stream serves the synthesisers in turn, so a
// missing synthesiser changes the noise of the ones after it.
func rhinoAug(i int) adapt.Aug {
	k := i % (2 * len(rhinoSNRs))
	kind := noiseCafe
	if k >= len(rhinoSNRs) {
		kind = noiseKitchen
	}
	return adapt.Aug{Warp: 1, SNR: rhinoSNRs[k%len(rhinoSNRs)], PeakSNR: true, Noise: kind, PadStart: asr.SampleRate / 4, PadEnd: asr.SampleRate / 4}
}

// String names the condition, for the misses' log.
func describe(a adapt.Aug) string {
	name := map[int]string{noiseCafe: "café", noiseKitchen: "kitchen"}[a.Noise]
	if name == "" {
		name = fmt.Sprintf("noise %d", a.Noise)
	}
	return fmt.Sprintf("%s %g dB", name, a.SNR)
}

// festivalSay synthesises text with festival's voice v (text2wave) into
// the WAV file p at the given duration stretch and reads it back at the
// recogniser's rate. text2wave exits 0 and writes nothing when the voice
// is missing ("SIOD ERROR: unbound variable"), so p is removed first and
// its output checked.
func festivalSay(p, v, text string, stretch float64) ([]float32, error) {
	os.Remove(p)
	cmd := exec.Command("text2wave", "-eval", "(voice_"+v+")", "-eval", fmt.Sprintf("(Parameter.set 'Duration_Stretch %.2f)", stretch), "-o", p)
	cmd.Stdin = strings.NewReader(text)
	out, err := cmd.CombinedOutput()
	if err != nil || bytes.Contains(out, []byte("SIOD ERROR")) {
		return nil, fmt.Errorf("text2wave %s %q: %v: %s", v, text, err, out)
	}
	return adapt.ReadWAV(p)
}

// festivalVoice says whether festival's English voice v is installed.
func festivalVoice(v string) bool {
	if _, err := exec.LookPath("text2wave"); err != nil {
		return false
	}
	_, err := os.Stat(filepath.Join("/usr/share/festival/voices/english", v))
	return err == nil
}

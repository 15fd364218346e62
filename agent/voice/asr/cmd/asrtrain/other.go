package main

import (
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
	"github.com/evedge/evedge/agent/voice/intent"
	"github.com/evedge/evedge/drivers/audio"
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
	name   string
	voices []string
	cmd    string
}{
	{"espeak-ng (held-out variants)", nil, "espeak-ng"},
	{"flite (its 5 voices, in training)", fliteVoices, "flite"},
	{"festival ked_diphone (unseen speaker)", []string{"ked_diphone"}, "text2wave"},
	{"festival kal_diphone (flite kal's speaker)", []string{"kal_diphone"}, "text2wave"},
}

func evalOther(cfg evalCfg, m *asr.Model, held []string) error {
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
	lex, err := asr.Pronounce(context.Background(), asr.Espeak{}, c)
	if err != nil {
		return err
	}
	rec, err := asr.NewRecognizer(c, lex, m)
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
	fmt.Printf("\nContext %s (%d sentences of it per synthesiser; intent and every slot right):\n| synthesiser | clean | 5 dB cabin noise | ms/utt | RTF |\n|---|---|---|---|---|\n", filepath.Base(cfg.other), cfg.n)
	noisy := aug{Warp: 1, SNR: 5, Noise: 3, PadStart: asr.SampleRate / 4, PadEnd: asr.SampleRate / 4}
	for ei, e := range otherEngines {
		if _, err := exec.LookPath(e.cmd); err != nil {
			fmt.Printf("| %s | not installed | | | |\n", e.name)
			continue
		}
		var clean, noise []outcome
		var sec float64
		var dur time.Duration
		for i, s := range sents {
			p := filepath.Join(dir, fmt.Sprintf("o%d-%d.wav", ei, i))
			var cmd *exec.Cmd
			switch e.cmd {
			case "espeak-ng":
				v := langVoices[intent.English][rng.IntN(len(langVoices[intent.English]))] + "+" + held[rng.IntN(len(held))]
				cmd = exec.Command("espeak-ng", "-v", v, "-s", fmt.Sprint(120+rng.IntN(100)), "-p", fmt.Sprint(20+rng.IntN(60)), "-w", p, s.Text)
			case "flite":
				cmd = exec.Command("flite", "-voice", e.voices[i%len(e.voices)], "--setf", fmt.Sprintf("duration_stretch=%.2f", 0.8+0.5*rng.Float64()), "-t", s.Text, "-o", p)
			default:
				cmd = exec.Command("text2wave", "-eval", "(voice_"+e.voices[i%len(e.voices)]+")",
					"-eval", fmt.Sprintf("(Parameter.set 'Duration_Stretch %.2f)", 0.8+0.5*rng.Float64()), "-o", p)
				cmd.Stdin = strings.NewReader(s.Text)
			}
			if out, err := cmd.CombinedOutput(); err != nil {
				return fmt.Errorf("%s %q: %v: %s", e.cmd, s.Text, err, out)
			}
			w, err := audio.ReadWAVFile(p)
			if err != nil {
				return err
			}
			bu, err := audio.ResampleBuffer(audio.Buffer{Format: audio.Format{SampleRate: w.SampleRate, Channels: 1}, Data: w.Mono(nil)}, asr.SampleRate)
			if err != nil {
				return fmt.Errorf("%s: %w", p, err)
			}
			r, sc, d := run(rec, bu.Data)
			sec += sc
			dur += d
			ok := r.Understood && r.Intent == s.Intent && sameSlots(r.Slots, s.Slots)
			if !ok && cfg.verbose {
				log.Printf("%s miss %q → %v %s %v %q", e.cmd, s.Text, r.Understood, r.Intent, r.Slots, r.Words)
			}
			clean = append(clean, outcome{ok: ok, conf: r.Confidence})
			y, _, _ := noisy.apply(rng, bu.Data)
			r, _, _ = run(rec, y)
			noise = append(noise, outcome{ok: r.Understood && r.Intent == s.Intent && sameSlots(r.Slots, s.Slots), conf: r.Confidence})
		}
		fmt.Printf("| %s | %s | %s | %.1f | %.4f |\n", e.name, rate(clean), rate(noise),
			float64(dur.Milliseconds())/float64(len(sents)), dur.Seconds()/sec)
	}
	return nil
}

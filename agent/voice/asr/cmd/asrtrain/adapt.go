package main

import (
	"context"
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/evedge/evedge/agent/voice/asr"
	"github.com/evedge/evedge/agent/voice/asr/adapt"
	"github.com/evedge/evedge/agent/voice/intent"
)

// Adaptation to a context (asrtrain -init -ctx): fine-tune a trained
// acoustic model on its own recipe's material plus sentences of another
// domain's context read by espeak-ng's training variants (and flite's
// voices), so that the phones of that domain's words in their contexts
// are seen in training. evedge voice build does the same without the
// recipe's material (package adapt); this is the tool to compare recipes.

// contextExamples synthesises cfg.ctxN sentences of cfg.ctx with espeak-ng
// (English voice, training variants) and cfg.ctxFlite a flite voice, and
// featurises them with heavy augmentation.
func contextExamples(cfg trainCfg, rng *rand.Rand, trainVars []string) ([]adapt.Example, string, error) {
	b, err := os.ReadFile(cfg.ctx)
	if err != nil {
		return nil, "", err
	}
	c, err := intent.Parse(cfg.ctx, b)
	if err != nil {
		return nil, "", err
	}
	if c.Language != intent.English {
		return nil, "", fmt.Errorf("-ctx: %s is %s; adaptation reads English only", cfg.ctx, c.Language)
	}
	var jobs []job
	for i := range cfg.ctxN {
		s, ok := c.RandomSentence(rng)
		if !ok {
			return nil, "", fmt.Errorf("-ctx: %s has no sentences", cfg.ctx)
		}
		vs := adapt.LangVoices[intent.English]
		v := vs[rng.IntN(len(vs))]
		if rng.IntN(6) != 0 {
			v += "+" + trainVars[rng.IntN(len(trainVars))]
		}
		jobs = append(jobs, job{ID: fmt.Sprintf("ctx-%d", i), Voice: v, Rate: 85 + rng.IntN(186), Pitch: 15 + rng.IntN(75),
			Text: c.Pronounce(s.Text), Lang: intent.English, Intent: s.Intent, Slots: s.Slots})
	}
	us, err := synth(cfg.script, filepath.Join(cfg.work, "ctx"), jobs)
	if err != nil {
		return nil, "", err
	}
	ex := adapt.Featurize(rng, augm, utts(us), cfg.ctxCopies, true)
	note := fmt.Sprintf(" + %d sentences of %s (espeak-ng, %d copies)", len(us), filepath.Base(cfg.ctx), cfg.ctxCopies)
	log.Printf("context %s: %d espeak-ng sentences, %d augmented copies", cfg.ctx, len(us), len(ex))
	if cfg.ctxFlite > 0 {
		am, err := loadModel(cfg.align)
		if err != nil {
			return nil, "", err
		}
		fus, err := loadFliteContext(rng, filepath.Join(cfg.work, "ctx-flite"), c, cfg.ctxFlite, cfg.threads, am)
		if err != nil {
			return nil, "", err
		}
		fex := adapt.Featurize(rng, augm, utts(fus), cfg.ctxCopies, true)
		log.Printf("context %s: %d flite sentences, %d augmented copies", cfg.ctx, len(fus), len(fex))
		ex = append(ex, fex...)
		note += fmt.Sprintf(" + %d of them read by flite", len(fus))
	}
	return ex, note, nil
}

// loadFliteContext reads n random sentences of c with each flite voice
// (adapt.ContextFliteJobs, as evedge voice build draws them), aligned
// with m to espeak-ng's pronunciation of their words.
func loadFliteContext(rng *rand.Rand, dir string, c *intent.Context, n, threads int, m *asr.Model) ([]utt, error) {
	if _, err := exec.LookPath("flite"); err != nil {
		return nil, fmt.Errorf("-ctx-flite needs flite (apt install flite): %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	lex, err := asr.Pronounce(context.Background(), asr.Espeak{}, c)
	if err != nil {
		return nil, err
	}
	var jobs []fjob
	for _, j := range adapt.ContextFliteJobs(rng, c, lex, n) {
		jobs = append(jobs, fjob{job: job{ID: j.ID, Voice: j.Voice, Text: j.Text, Lang: intent.English}, FliteJob: j})
	}
	return fliteAlign(jobs, dir, threads, m, false)
}

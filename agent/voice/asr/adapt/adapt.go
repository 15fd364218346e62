// Package adapt trains evedge's acoustic model: the float network and its
// training loop, augmentation (speed, band limits, tilt, reverberation,
// cabin, café and kitchen noise), forced alignment, speech from espeak-ng
// and flite, and Adapt, which fine-tunes the shipped model to one context
// (evedge voice build).
//
// The shipped model is phonetic and works for any context without
// training. Adapt makes it better on one: it reads sentences of the
// context with espeak-ng's voice variants and flite's voices, aligns them
// with the model itself, and trains it a little further on them in heavy
// augmentation, so that the phones of the context's words, in the
// company they keep there, are seen in training. Real speech aligned the
// same way (Config.Replay) keeps it from drifting towards synthetic
// voices.
package adapt

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/evedge/evedge/agent/voice/asr"
	"github.com/evedge/evedge/agent/voice/intent"
)

// Config tunes Adapt; zero fields take the defaults in brackets.
type Config struct {
	// Sentences of the context read by espeak-ng [1500].
	Sentences int
	// FliteSentences per flite voice, English contexts only, when flite
	// is installed [200]; negative: none.
	FliteSentences int
	// Copies: augmented copies of each sentence [2].
	Copies int
	// Talkers: clips of background speech for café and kitchen noise
	// [100].
	Talkers int
	// Replay is aligned speech trained on along with the context's
	// (real recordings: LoadFSDD), ReplayCopies copies each [4].
	Replay       []Utt
	ReplayCopies int
	// Epochs of Frames frames [3 × 300 000] at peak learning rate LR
	// [5e-4].
	Epochs, Frames int
	LR             float64
	// Mix is the fine-tuned weights' share in the result, the rest the
	// base's (Net.Mix) [0.5]; 1: the fine-tuned network as it is.
	Mix     float64
	Threads int    // [2]
	Seed    uint64 // [1]
	// Work is the scratch folder for synthesised audio (required).
	Work string
	// Espeak is the espeak-ng binary ["espeak-ng"].
	Espeak string
	// Logf reports progress (nil: quiet).
	Logf func(format string, args ...any)
}

func (c Config) withDefaults() Config {
	def := func(p *int, v int) {
		if *p == 0 {
			*p = v
		}
	}
	def(&c.Sentences, 1500)
	def(&c.FliteSentences, 200)
	def(&c.Copies, 2)
	def(&c.Talkers, 100)
	def(&c.ReplayCopies, 4)
	def(&c.Epochs, 3)
	def(&c.Frames, 300_000)
	def(&c.Threads, 2)
	if c.LR == 0 {
		c.LR = 5e-4
	}
	if c.Mix == 0 {
		c.Mix = 0.5
	}
	if c.Seed == 0 {
		c.Seed = 1
	}
	if c.Espeak == "" {
		c.Espeak = "espeak-ng"
	}
	if c.Logf == nil {
		c.Logf = func(string, ...any) {}
	}
	return c
}

// Report says what Adapt trained on.
type Report struct {
	Espeak, Flite, Replay int // utterances (before augmentation)
	Frames                int // training frames, augmented copies included
	FliteSkipped          string
	Mix                   float64 // Config.Mix
	Took                  time.Duration
}

// String is the report as the model's meta records it.
func (r Report) String() string {
	s := fmt.Sprintf("%d espeak-ng sentences", r.Espeak)
	if r.Flite > 0 {
		s += fmt.Sprintf(", %d flite sentences", r.Flite)
	}
	if r.Replay > 0 {
		s += fmt.Sprintf(", %d real recordings", r.Replay)
	}
	return s + fmt.Sprintf("; %d frames; weights %.2f fine-tuned, the rest the base's", r.Frames, r.Mix)
}

// Adapt fine-tunes base to context c, whose words lex pronounces (as
// asr.Pronounce gives them), and returns the new model; base is not
// changed. It needs espeak-ng, and flite for English contexts (without
// it, espeak-ng alone; the report says so).
func Adapt(ctx context.Context, c *intent.Context, lex asr.Lexicon, base *asr.Model, cfg Config) (*asr.Model, Report, error) {
	t0 := time.Now()
	cfg = cfg.withDefaults()
	var rep Report
	if cfg.Work == "" {
		return nil, rep, fmt.Errorf("adapt: no scratch folder")
	}
	voices := LangVoices[c.Language]
	if len(voices) == 0 {
		return nil, rep, fmt.Errorf("adapt: no espeak-ng voice for %s", c.Language)
	}
	vs, err := Variants(ctx, cfg.Espeak)
	if err != nil {
		return nil, rep, err
	}
	trainVars, _ := SplitVariants(vs) // the held-out ones stay for evaluation (asrtrain)
	if len(trainVars) == 0 {
		return nil, rep, fmt.Errorf("adapt: %s lists no voice variants", cfg.Espeak)
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, 41))
	aug := &Augmenter{Kinds: 6}
	if aug.Talkers, err = Talkers(ctx, cfg.Espeak, filepath.Join(cfg.Work, "talkers"), rand.New(rand.NewPCG(cfg.Seed+4000, 29)), trainVars, cfg.Talkers, cfg.Threads); err != nil {
		return nil, rep, err
	}
	// espeak-ng: the context's sentences, each in one of the language's
	// voices, with a training variant five times in six.
	type ejob struct {
		id, voice, text string
		rate, pitch     int
		phones          []asr.Class
	}
	var ejobs []ejob
	for i := range cfg.Sentences {
		s, ok := c.RandomSentence(rng)
		if !ok {
			return nil, rep, fmt.Errorf("adapt: %s has no sentences", c.Name)
		}
		ph := PhonesOf(lex, s.Words)
		v := voices[rng.IntN(len(voices))]
		if rng.IntN(6) != 0 {
			v += "+" + trainVars[rng.IntN(len(trainVars))]
		}
		rate, pitch := 85+rng.IntN(186), 15+rng.IntN(75)
		if ph == nil {
			continue
		}
		ejobs = append(ejobs, ejob{fmt.Sprintf("ctx-%d", i), v, spoken(c, s), rate, pitch, ph})
	}
	dir := filepath.Join(cfg.Work, "espeak")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, rep, err
	}
	eus := make([]Utt, len(ejobs))
	eok := make([]bool, len(ejobs))
	errs := make([]error, len(ejobs))
	var wg sync.WaitGroup
	for w := range cfg.Threads {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f := asr.NewFeatures()
			em := asr.NewEmitter(base)
			for i := w; i < len(ejobs); i += cfg.Threads {
				if ctx.Err() != nil {
					errs[i] = ctx.Err()
					return
				}
				j := ejobs[i]
				p := filepath.Join(dir, j.id+".wav")
				os.Remove(p)
				if out, err := exec.CommandContext(ctx, cfg.Espeak, "-v", j.voice, "-s", fmt.Sprint(j.rate), "-p", fmt.Sprint(j.pitch), "-w", p, "--", j.text).CombinedOutput(); err != nil {
					errs[i] = fmt.Errorf("espeak-ng -v %s %q: %v: %s", j.voice, j.text, err, bytes.TrimSpace(out))
					continue
				}
				x, err := ReadWAV(p)
				os.Remove(p) // read: only its samples are kept
				if err != nil {
					errs[i] = err
					continue
				}
				if segs, good := AlignSegs(f, em, x, j.phones); good {
					eus[i], eok[i] = Utt{Samples: x, Segs: segs}, true
				}
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, rep, err
	}
	// A sentence espeak-ng fails on is left out (and counted); only when
	// none can be read is it an error.
	var us []Utt
	var failed int
	var firstErr error
	for i := range ejobs {
		if errs[i] != nil {
			failed++
			firstErr = cmp.Or(firstErr, errs[i])
		}
		if eok[i] {
			us = append(us, eus[i])
		}
	}
	rep.Espeak = len(us)
	if rep.Espeak == 0 {
		if firstErr != nil {
			return nil, rep, fmt.Errorf("adapt: no sentence of %s could be read: %w", c.Name, firstErr)
		}
		return nil, rep, fmt.Errorf("adapt: no sentence of %s could be read and aligned", c.Name)
	}
	if failed > 0 {
		cfg.Logf("adapt: espeak-ng failed on %d of %d sentences, left out (the first: %v)", failed, len(ejobs), firstErr)
	}
	cfg.Logf("adapt: %d sentences of %s read by espeak-ng and aligned (%v)", rep.Espeak, c.Name, time.Since(t0).Round(time.Second))
	ex := Featurize(rng, aug, us, cfg.Copies, true)
	// flite: English only.
	switch _, lerr := exec.LookPath("flite"); {
	case cfg.FliteSentences < 0:
		rep.FliteSkipped = "not asked for"
	case c.Language != intent.English:
		rep.FliteSkipped = "flite reads English only"
	case lerr != nil:
		rep.FliteSkipped = "flite is not installed"
	default:
		fj := ContextFliteJobs(rng, c, lex, cfg.FliteSentences)
		fdir := filepath.Join(cfg.Work, "flite")
		if err := os.MkdirAll(fdir, 0o755); err != nil {
			return nil, rep, err
		}
		fus, ok, err := AlignFlite(ctx, fj, fdir, cfg.Threads, base, false)
		if err != nil {
			return nil, rep, err
		}
		var good []Utt
		for i := range fus {
			if ok[i] {
				good = append(good, fus[i])
			}
		}
		rep.Flite = len(good)
		ex = append(ex, Featurize(rng, aug, good, cfg.Copies, true)...)
		cfg.Logf("adapt: %d sentences read by flite and aligned (%v)", rep.Flite, time.Since(t0).Round(time.Second))
	}
	if len(cfg.Replay) > 0 {
		rep.Replay = len(cfg.Replay)
		ex = append(ex, Featurize(rng, aug, cfg.Replay, cfg.ReplayCopies, true)...)
	}
	for _, e := range ex {
		rep.Frames += e.T
	}
	m, err := Dequantise(base.AM)
	if err != nil {
		return nil, rep, err
	}
	offs := base.Meta.Offsets
	if len(offs) == 0 {
		offs = asr.DefaultOffsets
	}
	cfg.Logf("adapt: training on %d frames", rep.Frames)
	err = Fit(ctx, rng, m, ex, FitConfig{Inputs: base.AM.Inputs, Offs: offs, Epochs: cfg.Epochs, Frames: cfg.Frames, LR: cfg.LR, Threads: cfg.Threads,
		Epoch: func(s, steps int, loss, acc float64) {
			cfg.Logf("adapt: step %d/%d, training loss %.3f, frame accuracy %.3f (%v)", s, steps, loss, acc, time.Since(t0).Round(time.Second))
		}})
	if err != nil {
		return nil, rep, err
	}
	if err := ctx.Err(); err != nil {
		return nil, rep, err
	}
	if cfg.Mix != 1 {
		b, err := Dequantise(base.AM)
		if err != nil {
			return nil, rep, err
		}
		if err := m.Mix(b, float32(cfg.Mix)); err != nil {
			return nil, rep, err
		}
	}
	rep.Mix = cfg.Mix
	q, err := Quantize(rng, m, ex, base.AM.Inputs, offs)
	if err != nil {
		return nil, rep, err
	}
	q.Name, q.Version = base.AM.Name, base.AM.Version+"+adapted"
	meta := base.Meta
	meta.Trained += fmt.Sprintf("; adapted to context %s (evedge voice build): %s", c.Name, rep)
	rep.Took = time.Since(t0)
	return &asr.Model{AM: q, Meta: meta}, rep, nil
}

// ContextFliteJobs draws n random sentences of c for each flite voice, at
// a random speed (stretch 0.75..1.35) and mean F0 (80..219 Hz), read as
// the lexicon pronounces their words (spoken) and aligned to those
// phones. A sentence with a word lex lacks is left out.
func ContextFliteJobs(rng *rand.Rand, c *intent.Context, lex asr.Lexicon, n int) []FliteJob {
	var fj []FliteJob
	for _, v := range FliteVoices {
		for i := range n {
			s, ok := c.RandomSentence(rng)
			if !ok {
				return fj
			}
			stretch, f0 := 0.75+0.6*rng.Float64(), 80+rng.IntN(140)
			if ph := PhonesOf(lex, s.Words); ph != nil {
				fj = append(fj, FliteJob{ID: fmt.Sprintf("ctxfl-%s-%d", v, i), Voice: v, Text: spoken(c, s), Stretch: stretch, F0: f0, Phones: ph})
			}
		}
	}
	return fj
}

// spoken is what a synthesiser reads for s: each word as the lexicon
// pronounced it alone (respelled by the context's pronounce entries, or
// in pinyin for zh), so that the audio says the phones it is aligned to.
func spoken(c *intent.Context, s intent.Sentence) string {
	said := make([]string, len(s.Words))
	for k, w := range s.Words {
		said[k] = c.Pronounce(w)
	}
	return strings.Join(said, " ")
}

// PhonesOf is the phones of a sentence's words (intent.Sentence.Words:
// zh and French elisions are not split by spaces in its Text), each
// word's first pronunciation in lex; nil when a word is not in it.
func PhonesOf(lex asr.Lexicon, words []string) []asr.Class {
	var ph []asr.Class
	for _, w := range words {
		p, ok := lex[w]
		if !ok {
			return nil
		}
		ph = append(ph, p...)
	}
	return ph
}

package main

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"

	"github.com/evedge/evedge/agent/diag/kb"
	"github.com/evedge/evedge/agent/voice/asr"
	noisegen "github.com/evedge/evedge/agent/voice/asr/noise"
	"github.com/evedge/evedge/agent/voice/intent"
)

// Café and kitchen noise (package noise) take their voices from talkers:
// espeak-ng reading the knowledge base's prose in English, German,
// Spanish and French (makeTalkers).
const (
	noiseCafe    = int(noisegen.Cafe)
	noiseKitchen = int(noisegen.Kitchen)
)

// talkers is the background speech café and kitchen noise draw from
// (makeTalkers); without it café noise is room tone and clatter only.
var talkers [][]float32

// makeTalkers synthesises n clips of background speech into dir: a
// sentence of the knowledge base's prose in English, German, Spanish or
// French, read by espeak-ng with one of vars' voice variants at a random
// rate and pitch. Clips of 0.5 s or less after trimming are dropped.
func makeTalkers(dir string, rng *rand.Rand, vars []string, n, threads int) ([][]float32, error) {
	if n <= 0 {
		return nil, nil
	}
	if len(vars) == 0 {
		return nil, fmt.Errorf("talkers: no espeak-ng voice variants")
	}
	k, err := kb.Load()
	if err != nil {
		return nil, err
	}
	langs := []intent.Language{intent.English, intent.German, intent.Spanish, intent.French}
	texts := map[intent.Language][]string{}
	for _, lang := range langs {
		if texts[lang] = kbProse(k, lang); len(texts[lang]) == 0 {
			return nil, fmt.Errorf("talkers: the knowledge base has no %s text", lang)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	type req struct {
		path  string
		args  []string
		index int
	}
	reqs := make([]req, n)
	for i := range reqs {
		lang := langs[rng.IntN(len(langs))]
		vs := langVoices[lang]
		v := vs[rng.IntN(len(vs))] + "+" + vars[rng.IntN(len(vars))]
		p := filepath.Join(dir, fmt.Sprintf("talker%d.wav", i))
		ts := texts[lang]
		reqs[i] = req{p, []string{"-v", v, "-s", fmt.Sprint(130 + rng.IntN(70)), "-p", fmt.Sprint(20 + rng.IntN(60)), "-w", p, ts[rng.IntN(len(ts))]}, i}
	}
	out := make([][]float32, n)
	errs := make([]error, n)
	ch := make(chan req)
	var wg sync.WaitGroup
	for range max(1, threads) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range ch {
				os.Remove(r.path)
				if b, err := exec.Command("espeak-ng", r.args...).CombinedOutput(); err != nil {
					errs[r.index] = fmt.Errorf("espeak-ng %s: %v: %s", strings.Join(r.args[:2], " "), err, b)
					continue
				}
				out[r.index], errs[r.index] = readWAV(r.path)
			}
		}()
	}
	for _, r := range reqs {
		ch <- r
	}
	close(ch)
	wg.Wait()
	var clips [][]float32
	for i, x := range out {
		if errs[i] != nil {
			return nil, errs[i]
		}
		if x = asr.Trim(x); len(x) > asr.SampleRate/2 {
			clips = append(clips, noisegen.Normalise(x))
		}
	}
	if len(clips) == 0 {
		return nil, fmt.Errorf("talkers: espeak-ng made no clip longer than 0.5 s")
	}
	return clips, nil
}

// evalTalkers makes the evaluation's talkers once: 60 clips of the
// held-out variants, from their own random stream.
func evalTalkers(cfg evalCfg, held []string) error {
	if talkers != nil {
		return nil
	}
	var err error
	talkers, err = makeTalkers(filepath.Join(cfg.work, "talkers-eval"), rand.New(rand.NewPCG(cfg.seed+4000, 19)), held, 60, 2)
	return err
}

// kbProse is the knowledge base's text in lang, one sentence or list item
// a string: each entry's summary, likely causes, checks and repair steps.
func kbProse(k *kb.KB, lang intent.Language) []string {
	var out []string
	for _, id := range k.IDs() {
		_, t, ok := k.Lookup(id, string(lang))
		if !ok {
			continue
		}
		for _, s := range append(append(append([]string{t.Summary}, t.Causes...), t.Checks...), t.Repair...) {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}

// noiseOnlyExamples are n stretches of noise with no voice in them, 0.4 to
// 3 s long, at -45..-5 dB RMS, every frame labelled silence: one of the
// noise kinds training draws from, café and kitchen without their
// talkers (room tone and clatter; clatter, water and hum). Without them
// the model only ever met noise under a voice, and the always-listening
// loop, which hands it whatever the VAD cut, took a kitchen's clatter for
// commands (about 250 in half an hour of it, always listening; tried
// once, no better: models/voice/README.md).
func noiseOnlyExamples(rng *rand.Rand, n int) []example {
	f := asr.NewFeatures()
	out := make([]example, 0, n)
	for range n {
		x := noisegen.Make(rng, noisegen.Kind(rng.IntN(noiseKinds)), int((0.4+2.6*rng.Float64())*asr.SampleRate), nil)
		noisegen.Normalise(x)
		g := float32(math.Pow(10, (-45+40*rng.Float64())/20))
		for i := range x {
			x[i] *= g
		}
		fr, t := f.Compute(x)
		out = append(out, example{frames: append([]float32(nil), fr...), t: t, lab: make([]uint8, t)})
	}
	return out
}

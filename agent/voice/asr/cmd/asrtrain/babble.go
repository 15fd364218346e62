package main

import (
	"context"
	"math"
	"math/rand/v2"
	"path/filepath"

	"github.com/evedge/evedge/agent/voice/asr"
	"github.com/evedge/evedge/agent/voice/asr/adapt"
	noisegen "github.com/evedge/evedge/agent/voice/asr/noise"
)

// Café and kitchen noise (package noise) take their voices from talkers:
// espeak-ng reading the knowledge base's prose in English, German,
// Spanish and French (makeTalkers).
const (
	noiseCafe    = int(noisegen.Cafe)
	noiseKitchen = int(noisegen.Kitchen)
)

// augm draws and applies the augmentations; its Talkers are the
// background speech café and kitchen noise draw from (adapt.Talkers).
// Training draws from the 4 steady noise kinds, or 6 with -babble.
var augm = &adapt.Augmenter{Kinds: 4}

// evalTalkers makes the evaluation's talkers once: 60 clips of the
// held-out variants, from their own random stream.
func evalTalkers(cfg evalCfg, held []string) error {
	if augm.Talkers != nil {
		return nil
	}
	var err error
	augm.Talkers, err = adapt.Talkers(context.Background(), "espeak-ng", filepath.Join(cfg.work, "talkers-eval"), rand.New(rand.NewPCG(cfg.seed+4000, 19)), held, 60, 2)
	return err
}

// noiseOnlyExamples are n stretches of noise with no voice in them, 0.4 to
// 3 s long, at -45..-5 dB RMS, every frame labelled silence: one of the
// noise kinds training draws from, café and kitchen without their
// talkers (room tone and clatter; clatter, water and hum). Without them
// the model only ever met noise under a voice, and the always-listening
// loop, which hands it whatever the VAD cut, took a kitchen's clatter for
// commands (about 250 in half an hour of it, always listening; tried
// once, no better: models/voice/README.md).
func noiseOnlyExamples(rng *rand.Rand, n int) []adapt.Example {
	f := asr.NewFeatures()
	out := make([]adapt.Example, 0, n)
	for range n {
		x := noisegen.Make(rng, noisegen.Kind(rng.IntN(augm.Kinds)), int((0.4+2.6*rng.Float64())*asr.SampleRate), nil)
		noisegen.Normalise(x)
		g := float32(math.Pow(10, (-45+40*rng.Float64())/20))
		for i := range x {
			x[i] *= g
		}
		fr, t := f.Compute(x)
		out = append(out, adapt.Example{Frames: append([]float32(nil), fr...), T: t, Lab: make([]uint8, t)})
	}
	return out
}

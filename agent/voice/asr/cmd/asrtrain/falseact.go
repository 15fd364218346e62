package main

import (
	"context"
	"fmt"
	"log"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strings"

	"github.com/evedge/evedge/agent/diag/kb"
	"github.com/evedge/evedge/agent/voice/asr"
	"github.com/evedge/evedge/agent/voice/asr/adapt"
	"github.com/evedge/evedge/agent/voice/assistant"
	"github.com/evedge/evedge/agent/voice/intent"
	"github.com/evedge/evedge/drivers/audio"
)

// False activations: the assistant listening all the time (trigger
// "always") to speech that is not meant for the car, and to cabin noise,
// as a stream through the real loop (VAD, recogniser, confidence
// threshold). Speech not meant for the car, per language:
//   - prose: the knowledge base's texts (summaries, causes, checks,
//     repair steps) in that language, read by held-out espeak voices
//     (not zh: espeak reads hanzi only through the context's lexicon);
//   - word salad: random runs of 3..8 words of the car context's own
//     vocabulary, the hardest case (every word is one the recogniser
//     knows, in no template's order).
//
// Utterances are 0.5..2.5 s apart, with cabin noise at 15 dB under the
// speech throughout; then an hour of cabin noise alone (four noise kinds,
// level steps). Every understood turn is a false activation.
func falseActivations(cfg evalCfg, m *asr.Model, langs []intent.Language, held []string) error {
	k, err := kb.Load()
	if err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(cfg.seed+2000, 13))
	trig := "always listening"
	if cfg.wake {
		trig = "wake phrase"
	}
	prng := rand.New(rand.NewPCG(cfg.seed+6000, 31))
	if err := evalTalkers(cfg, held); err != nil {
		return err
	}
	fmt.Printf("\nFalse activations, %s (understood turns per hour):\n| lang | prose | word salad | speech | per hour of speech | cabin noise alone | café and kitchen noise alone |\n|---|---|---|---|---|---|---|\n", trig)
	for _, lang := range langs {
		c := loadCar(lang)
		voc := c.Vocabulary()
		var jobs []job
		voice := func() string {
			return heldVoice(rng, lang, held)
		}
		if lang != intent.Chinese {
			for _, s := range adapt.KBProse(k, lang) {
				if len(jobs) < cfg.n*4 {
					jobs = append(jobs, job{ID: fmt.Sprintf("fa-%s-p%d", lang, len(jobs)), Voice: voice(), Rate: 130 + rng.IntN(60), Pitch: 30 + rng.IntN(40), Text: s, Lang: lang, Intent: "prose"})
				}
			}
		}
		nProse := len(jobs)
		for i := 0; i < cfg.n*2; i++ {
			n := 3 + rng.IntN(6)
			ws := make([]string, n)
			for j := range ws {
				ws[j] = voc[rng.IntN(len(voc))]
			}
			text := strings.Join(ws, " ")
			if lang == intent.Chinese {
				text = c.Pronounce(strings.Join(ws, ""))
			}
			jobs = append(jobs, job{ID: fmt.Sprintf("fa-%s-s%d", lang, i), Voice: voice(), Rate: 130 + rng.IntN(60), Pitch: 30 + rng.IntN(40), Text: text, Lang: lang, Intent: "salad"})
		}
		us, err := synth(cfg.script, filepath.Join(cfg.work, "falseact"), jobs)
		if err != nil {
			return err
		}
		rec, err := recognizer(c, m)
		if err != nil {
			return err
		}
		// The stream, with each utterance's kind by its start.
		var stream []float32
		type mark struct {
			start int
			kind  string
		}
		var marks []mark
		for _, u := range us {
			gap := int((0.5 + 2*rng.Float64()) * asr.SampleRate)
			stream = append(stream, make([]float32, gap)...)
			marks = append(marks, mark{len(stream), u.Intent})
			stream = append(stream, u.Samples...)
		}
		stream = append(stream, make([]float32, asr.SampleRate)...)
		var pw float64
		for _, v := range stream {
			pw += float64(v) * float64(v)
		}
		pw /= float64(len(stream))
		nz := augm.Noise(rng, 3, len(stream))
		var pn float64
		for _, v := range nz {
			pn += float64(v) * float64(v)
		}
		g := float32(math.Sqrt(pw / (pn / float64(len(nz))) / math.Pow(10, 15.0/10)))
		for i := range stream {
			stream[i] += g * nz[i]
		}
		speechH := float64(len(stream)) / asr.SampleRate / 3600
		var wake *asr.Recognizer
		if cfg.wake {
			if wake, err = rec.Wake(); err != nil {
				return err
			}
		}
		prose, salad, _ := countFalse(rec, wake, stream, func(start int) string {
			kind := ""
			for _, mk := range marks {
				if mk.start <= start+asr.SampleRate/2 {
					kind = mk.kind
				}
			}
			return kind
		})
		// An hour of cabin noise alone: 4 kinds, 15 min each, level
		// changing every minute (windows, fan, road surface).
		var noiseOnly []float32
		for kind := range 4 {
			for range 15 {
				x := augm.Noise(rng, kind, 60*asr.SampleRate)
				lvl := float32(0.002 + 0.05*rng.Float64())
				var p float64
				for _, v := range x {
					p += float64(v) * float64(v)
				}
				s := lvl / float32(math.Sqrt(p/float64(len(x))))
				for i := range x {
					x[i] *= s
				}
				noiseOnly = append(noiseOnly, x...)
			}
		}
		_, _, nAct := countFalse(rec, wake, noiseOnly, func(int) string { return "noise" })
		// An hour of café and kitchen noise alone (30 min each, the
		// level changing every minute): background talkers in four
		// languages, clatter, water. Its own random stream, so that the
		// columns before it stay as they were.
		var nPlace [2]int
		for k, kind := range []int{noiseCafe, noiseKitchen} {
			var place []float32
			for range 30 {
				x := augm.Noise(prng, kind, 60*asr.SampleRate) // unit RMS
				lvl := float32(0.002 + 0.05*prng.Float64())
				for i := range x {
					x[i] *= lvl
				}
				place = append(place, x...)
			}
			_, _, nPlace[k] = countFalse(rec, wake, place, func(int) string { return "noise" })
		}
		fmt.Printf("| %s | %d of %d utterances | %d of %d | %.2f h | %.1f | %d in 1 h | %d in 1 h (café %d, kitchen %d) |\n", lang, prose, nProse, salad, len(us)-nProse,
			speechH, float64(prose+salad)/speechH, nAct, nPlace[0]+nPlace[1], nPlace[0], nPlace[1])
	}
	return nil
}

// countFalse runs the always-listening loop over x (16 kHz) and counts
// understood turns by the kind of speech they fell on; heard is all
// understood turns.
func countFalse(rec, wake *asr.Recognizer, x []float32, kindAt func(start int) string) (prose, salad, heard int) {
	d := &falseDialog{}
	var mods []float64
	defer func() { log.Printf("modulation of false activations: %s", pct(mods)) }()
	cfg := assistant.Config{Trigger: assistant.Always}
	if wake != nil {
		cfg = assistant.Config{Trigger: assistant.Wake, WakeRecognizer: wake}
	}
	a, err := assistant.New(cfg, rec, d, nil, func(t assistant.Turn) {
		if !t.Result.Understood {
			return
		}
		heard++
		mods = append(mods, assistant.Modulation(x[int(t.Start*asr.SampleRate):int(t.End*asr.SampleRate)]))
		log.Printf("false activation (%s) at %.1f s: %s %v %q conf %.2f wake conf %.2f speech %.2f len %.2f s", kindAt(int(t.Start*asr.SampleRate)), t.Start, t.Result.Intent, t.Result.Slots, t.Result.Words, t.Result.Confidence, t.Result.WakeConfidence, t.Result.Speech, t.End-t.Start)
		switch kindAt(int(t.Start * asr.SampleRate)) {
		case "prose":
			prose++
		case "salad":
			salad++
		}
	})
	if err != nil {
		panic(err)
	}
	if err := a.Run(context.Background(), audio.NewBufferSource(audio.Buffer{Format: audio.Format{SampleRate: asr.SampleRate, Channels: 1}, Data: x}, asr.SampleRate/100)); err != nil {
		panic(err)
	}
	return prose, salad, heard
}

type falseDialog struct{}

func (falseDialog) Answer(context.Context, assistant.Request) assistant.Reply {
	return assistant.Reply{}
}

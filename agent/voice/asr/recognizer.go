package asr

import (
	"fmt"
	"math"

	"github.com/evedge/evedge/agent/voice/intent"
)

// Result is what the recogniser understood.
type Result struct {
	Understood bool
	Intent     string
	Slots      map[string]any
	Words      []string // the best path's words (also when not understood)
	Confidence float64  // see Decoding.Confidence
	// Complete: no sentence of the context goes on from the words heard
	// (Decoding.Complete).
	Complete bool
	// WakeConfidence is Decoding.WakeConfidence (wake recognisers).
	WakeConfidence float64
	// Speech is the share of frames the acoustic model hears as speech
	// (silence posterior under one half); noise that the VAD let through
	// scores low even when a sentence fits it well.
	Speech float64
}

// Recognizer decodes utterances against one context. Not safe for
// concurrent use; it reuses its buffers between utterances.
type Recognizer struct {
	Context   *intent.Context
	Net       *Net
	Model     *Model
	Threshold float64
	// WakeThreshold applies to WakeConfidence on a wake recogniser.
	WakeThreshold float64
	dec           *Decoder
	feat          *Features
	emit          *Emitter
	em            []float32
	speech        float64 // Result.Speech of the last Decode
	lex           Lexicon
}

// NewRecognizer compiles c with lex for model m.
func NewRecognizer(c *intent.Context, lex Lexicon, m *Model) (*Recognizer, error) {
	return newRecognizer(c, c.Graph(), lex, m)
}

// Wake returns a recogniser of the same context and model that listens
// for the wake phrase: the phrase alone is understood as intent
// intent.WakeIntent, the phrase and a sentence as the sentence. An error
// when the context has no wake phrase.
func (r *Recognizer) Wake() (*Recognizer, error) {
	g := r.Context.WakeGraph()
	if g == nil {
		return nil, fmt.Errorf("asr: context %s has no wake phrase", r.Context.Name)
	}
	return newRecognizer(r.Context, g, r.lex, r.Model)
}

func newRecognizer(c *intent.Context, g *intent.Graph, lex Lexicon, m *Model) (*Recognizer, error) {
	n, err := NewNetGraph(g, lex, m.Meta.Durations)
	if err != nil {
		return nil, err
	}
	d := NewDecoder(n)
	d.WordPenalty = m.Meta.WordPenalty
	wt := m.Meta.WakeThreshold
	if wt == 0 {
		wt = m.Meta.Threshold
	}
	return &Recognizer{Context: c, Net: n, Model: m, Threshold: m.Meta.Threshold, WakeThreshold: wt, dec: d, lex: lex,
		feat: NewFeatures(), emit: NewEmitter(m), em: make([]float32, NumClasses)}, nil
}

// Decode runs the model and the search on 16 kHz mono samples.
func (r *Recognizer) Decode(samples []float32) Decoding {
	frames, t := r.feat.Compute(samples)
	r.dec.Reset()
	silBias := r.Model.Meta.PriorWeight * r.Model.Meta.LogPrior[0]
	speech := 0
	for i := 0; i < t; i++ {
		r.emit.Emit(r.em, frames, t, i)
		if r.em[0]+silBias < -0.6931472 { // log P(sil) < log 1/2
			speech++
		}
		r.dec.Step(r.em)
	}
	r.speech = float64(speech) / float64(max(t, 1))
	return r.dec.Result()
}

// Recognize decodes 16 kHz mono samples (one utterance, trimmed) into an
// intent and slots.
func (r *Recognizer) Recognize(samples []float32) Result {
	return r.result(r.Decode(samples))
}

func (r *Recognizer) result(d Decoding) Result {
	res := Result{Words: d.Words, Confidence: d.Confidence(), Speech: r.speech, Complete: d.Complete, WakeConfidence: d.WakeConfidence}
	if d.Final < 0 {
		res.Confidence = math.Inf(-1)
		return res
	}
	res.Intent = r.Net.g.Nodes[d.Final].Intent
	for _, code := range d.Outs {
		o := r.Net.arcOut(code)
		if res.Slots == nil {
			res.Slots = map[string]any{}
		}
		res.Slots[o.Slot] = o.Value
	}
	res.Understood = res.Confidence >= r.Threshold
	if r.Net.g.WakeNodes > 0 && res.WakeConfidence < r.WakeThreshold {
		res.Understood = false // the wake phrase was not said
	}
	if !res.Understood {
		res.Intent, res.Slots = "", nil
	}
	return res
}

package main

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/evedge/evedge/agent/voice/asr"
	"github.com/evedge/evedge/agent/voice/intent"
)

// Real speech in training: FSDD recordings of the listed speakers (the
// others stay held out for evaluation). Their words are known from the
// file names; frame labels come from a forced alignment of the word's
// espeak pronunciation against the audio with an existing acoustic model
// (models/voice), the classic bootstrap of HMM training.

// fsddFile parses "7_theo_23.wav" into digit and speaker.
func fsddFile(path string) (digit int, speaker string, ok bool) {
	parts := strings.Split(strings.TrimSuffix(filepath.Base(path), ".wav"), "_")
	if len(parts) != 3 {
		return 0, "", false
	}
	d, err := strconv.Atoi(parts[0])
	if err != nil || d < 0 || d > 9 {
		return 0, "", false
	}
	return d, parts[1], true
}

func speakerSet(list string) map[string]bool {
	set := map[string]bool{}
	for _, s := range strings.Split(list, ",") {
		if s = strings.TrimSpace(s); s != "" {
			set[s] = true
		}
	}
	return set
}

// loadReal aligns the FSDD recordings of speakers with model m.
func loadReal(dir string, speakers map[string]bool, m *asr.Model) ([]utt, error) {
	c := digitContext(intent.English)
	lex, err := asr.Pronounce(context.Background(), asr.Espeak{}, c)
	if err != nil {
		return nil, err
	}
	words := []string{"zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"}
	files, _ := filepath.Glob(filepath.Join(dir, "*.wav"))
	f := asr.NewFeatures()
	em := asr.NewEmitter(m)
	var us []utt
	for _, p := range files {
		d, spk, ok := fsddFile(p)
		if !ok || !speakers[spk] {
			continue
		}
		phones := lex[words[d]]
		if len(phones) == 0 {
			return nil, fmt.Errorf("no pronunciation for %q", words[d])
		}
		x, err := readWAV(p)
		if err != nil {
			return nil, err
		}
		segs, ok := alignSegs(f, em, x, phones)
		if !ok {
			continue
		}
		us = append(us, utt{job: job{ID: filepath.Base(p), Lang: intent.English, Text: words[d]}, Samples: x, Segs: segs})
	}
	return us, nil
}

// alignSegs force-aligns phones (optional silence around them) against
// 16 kHz samples with em's model and returns the phone segments in
// samples; false when the utterance is too short for its phones.
func alignSegs(f *asr.Features, em *asr.Emitter, samples []float32, phones []asr.Class) ([]seg, bool) {
	frames, t := f.Compute(samples)
	if t < len(phones)+2 {
		return nil, false
	}
	e := make([][]float32, t)
	for i := range t {
		e[i] = make([]float32, asr.NumClasses)
		em.Emit(e[i], frames, t, i)
	}
	lab := forceAlign(e, phones)
	var segs []seg
	for i, cl := range lab {
		if i == 0 || cl != lab[i-1] {
			start := i*160 + 120
			if i == 0 {
				start = 0
			}
			segs = append(segs, seg{start, cl})
		}
	}
	return segs, true
}

// forceAlign returns the best frame labelling of em (log-likelihoods per
// frame and class) that reads: optional silence, phones in order (each at
// least one frame), optional silence.
func forceAlign(em [][]float32, phones []asr.Class) []asr.Class {
	seq := append(append([]asr.Class{0}, phones...), 0) // sil p1..pK sil
	S, T := len(seq), len(em)
	neg := math.Inf(-1)
	score := make([][]float64, T)
	back := make([][]int8, T) // 0 stay, 1 from s-1, 2 from s-2 (skipping the optional leading silence is only at t=0)
	for t := range score {
		score[t] = make([]float64, S)
		back[t] = make([]int8, S)
		for s := range S {
			score[t][s] = neg
		}
	}
	score[0][0] = float64(em[0][seq[0]])
	score[0][1] = float64(em[0][seq[1]])
	for t := 1; t < T; t++ {
		for s := range S {
			best, from := score[t-1][s], int8(0)
			if s > 0 && score[t-1][s-1] > best {
				best, from = score[t-1][s-1], 1
			}
			// The trailing silence is optional: the last phone may also
			// be the end (handled at the end); nothing to skip here.
			if best == neg {
				continue
			}
			score[t][s] = best + float64(em[t][seq[s]])
			back[t][s] = from
		}
	}
	end := S - 1
	if score[T-1][S-2] > score[T-1][S-1] {
		end = S - 2
	}
	out := make([]asr.Class, T)
	s := end
	for t := T - 1; t >= 0; t-- {
		out[t] = seq[s]
		if t > 0 {
			s -= int(back[t][s])
		}
	}
	return out
}

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/evedge/evedge/agent/voice/asr"
	"github.com/evedge/evedge/agent/voice/asr/adapt"
	"github.com/evedge/evedge/agent/voice/contexts"
	"github.com/evedge/evedge/agent/voice/intent"
	"github.com/evedge/evedge/drivers/audio"
)

// job is one utterance to synthesise.
type job struct {
	ID     string
	Voice  string
	Rate   int
	Pitch  int
	Text   string // what espeak reads (pinyin for zh)
	Lang   intent.Language
	Intent string
	Slots  map[string]any
}

// utt is a synthesised utterance at 16 kHz with per-sample-segment labels.
type utt struct {
	job
	adapt.Utt
}

// utts are us without their jobs.
func utts(us []utt) []adapt.Utt {
	out := make([]adapt.Utt, len(us))
	for i, u := range us {
		out[i] = u.Utt
	}
	return out
}

func loadCar(lang intent.Language) *intent.Context {
	c, err := intent.Load(contexts.FS, "car."+string(lang)+".yaml")
	if err != nil {
		panic(err)
	}
	return c
}

// digitContext is the numbers context used for FSDD and for training
// material: "{digit}" 0..9.
func digitContext(lang intent.Language) *intent.Context {
	y := fmt.Sprintf("language: %s\nintents:\n  Digit:\n    templates: [\"{digit}\"]\nslots:\n  digit: {from: 0, to: 9}\n", lang)
	c, err := intent.Parse("digits."+string(lang)+".yaml", []byte(y))
	if err != nil {
		panic(err)
	}
	return c
}

// numberWords returns a random sequence of 1..4 number words 0..19 in lang,
// as espeak text.
func numberWords(rng *rand.Rand, c *intent.Context) string {
	n := 1 + rng.IntN(4)
	var ws []string
	for range n {
		k := rng.IntN(10)
		if rng.IntN(4) == 0 {
			k = rng.IntN(100)
		}
		w, err := intent.Number(c.Language, k)
		if err != nil {
			panic(err)
		}
		ws = append(ws, w)
	}
	return c.Pronounce(strings.Join(ws, " "))
}

// synth runs scripts/voice/espeak_align.py on the jobs into dir and reads
// the results back at 16 kHz.
func synth(script, dir string, jobs []job) ([]utt, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var in bytes.Buffer
	for _, j := range jobs {
		fmt.Fprintf(&in, "%s\t%s\t%d\t%d\t%s\n", j.ID, j.Voice, j.Rate, j.Pitch, strings.ReplaceAll(j.Text, "\t", " "))
	}
	cmd := exec.Command("/usr/bin/python3", script, dir)
	cmd.Stdin = &in
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", script, err)
	}
	rate := 0
	ok := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 2 && f[0] == "rate" {
			rate, _ = strconv.Atoi(f[1])
		} else if len(f) >= 2 && f[0] == "ok" {
			ok[f[1]] = true
		}
	}
	if rate <= 0 {
		return nil, fmt.Errorf("%s: no sample rate", script)
	}
	var us []utt
	for _, j := range jobs {
		if !ok[j.ID] {
			continue
		}
		u, err := readUtt(dir, j, rate)
		if err != nil {
			return nil, err
		}
		if len(u.Samples) > asr.SampleRate/5 {
			us = append(us, u)
		}
	}
	return us, nil
}

func readUtt(dir string, j job, rate int) (utt, error) {
	raw, err := os.ReadFile(filepath.Join(dir, j.ID+".raw"))
	if err != nil {
		return utt{}, err
	}
	pcm := make([]int16, len(raw)/2)
	binary.Read(bytes.NewReader(raw), binary.LittleEndian, pcm)
	x := audio.Int16ToFloat32(nil, pcm)
	y, err := audio.Resample(x, rate, asr.SampleRate)
	if err != nil {
		return utt{}, err
	}
	ali, err := os.ReadFile(filepath.Join(dir, j.ID+".ali"))
	if err != nil {
		return utt{}, err
	}
	segs, err := parseAli(string(ali), float64(asr.SampleRate)/float64(rate), len(y))
	if err != nil {
		return utt{}, fmt.Errorf("%s.ali: %w", j.ID, err)
	}
	return utt{job: j, Utt: adapt.Utt{Samples: y, Segs: segs}}, nil
}

// parseAli reads "sample<TAB>ipa" lines into class segments: a phoneme with
// k classes is split into k equal parts; pauses and the time before the
// first phoneme are silence.
func parseAli(s string, scale float64, n int) ([]adapt.Seg, error) {
	type ev struct {
		at  int
		ipa string
	}
	var evs []ev
	for i, l := range strings.Split(s, "\n") {
		if l == "" {
			continue
		}
		a, b, ok := strings.Cut(l, "\t")
		at, err := strconv.Atoi(a)
		if !ok || err != nil || at < 0 {
			return nil, fmt.Errorf("line %d: want sample<TAB>ipa", i+1)
		}
		evs = append(evs, ev{int(float64(at) * scale), b})
	}
	segs := []adapt.Seg{{Start: 0, C: 0}}
	for i, e := range evs {
		end := n
		if i+1 < len(evs) {
			end = max(evs[i+1].at, e.at)
		}
		cs := asr.Phoneme(e.ipa)
		if len(cs) == 0 {
			segs = append(segs, adapt.Seg{Start: e.at, C: 0})
			continue
		}
		for k, c := range cs {
			segs = append(segs, adapt.Seg{Start: e.at + (end-e.at)*k/len(cs), C: c})
		}
	}
	return segs, nil
}

// heldVoice is a random espeak-ng voice of lang with a held-out variant.
func heldVoice(rng *rand.Rand, lang intent.Language, held []string) string {
	return adapt.LangVoices[lang][rng.IntN(len(adapt.LangVoices[lang]))] + "+" + held[rng.IntN(len(held))]
}

// recognizer builds c's recogniser for m, its words pronounced by
// espeak-ng as evedge voice build does.
func recognizer(c *intent.Context, m *asr.Model) (*asr.Recognizer, error) {
	lex, err := asr.Pronounce(context.Background(), asr.Espeak{}, c)
	if err != nil {
		return nil, err
	}
	return asr.NewRecognizer(c, lex, m)
}

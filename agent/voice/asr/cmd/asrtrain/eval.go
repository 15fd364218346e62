package main

import (
	"context"
	"fmt"
	"log"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/evedge/evedge/agent/voice/asr"
	"github.com/evedge/evedge/agent/voice/asr/adapt"
	"github.com/evedge/evedge/agent/voice/assistant"
	"github.com/evedge/evedge/agent/voice/intent"
)

type evalCfg struct {
	model, work, script, fsdd, langs string
	fsddSpk                          string
	wake                             bool
	falseAct                         bool
	n                                int
	seed                             uint64
	pw, wp, wt                       float64 // overrides when not NaN
	other                            string  // a context of another domain to score (English)
	otherN                           int
	verbose                          bool
}

func loadModel(dir string) (*asr.Model, error) {
	am, err := os.ReadFile(filepath.Join(dir, "am.evnn"))
	if err != nil {
		return nil, err
	}
	meta, err := os.ReadFile(filepath.Join(dir, "am.json"))
	if err != nil {
		return nil, err
	}
	return asr.ParseModel(am, meta)
}

func sameSlots(a, b map[string]any) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if fmt.Sprint(b[k]) != fmt.Sprint(v) {
			return false
		}
	}
	return true
}

// noisy5dB is the evaluation's cabin noise at 5 dB SNR (no warp).
var noisy5dB = adapt.Aug{Warp: 1, SNR: 5, Noise: 3, PadStart: asr.SampleRate / 4, PadEnd: asr.SampleRate / 4}

// outcome of one utterance.
type outcome struct {
	ok   bool // understood with the right intent and slots
	conf float64
}

func run(rec *asr.Recognizer, x []float32) (asr.Result, float64, time.Duration) {
	t0 := time.Now()
	r := rec.Recognize(asr.Trim(x))
	return r, float64(len(x)) / asr.SampleRate, time.Since(t0)
}

func eval(cfg evalCfg) error {
	m, err := loadModel(cfg.model)
	if err != nil {
		return err
	}
	if !math.IsNaN(cfg.pw) {
		m.Meta.PriorWeight = float32(cfg.pw)
	}
	if !math.IsNaN(cfg.wp) {
		m.Meta.WordPenalty = float32(cfg.wp)
	}
	if !math.IsNaN(cfg.wt) {
		m.Meta.WakeThreshold = cfg.wt
	}
	thr := m.Meta.Threshold
	rng := rand.New(rand.NewPCG(cfg.seed+1000, 11))
	vs, err := adapt.Variants(context.Background(), "espeak-ng")
	if err != nil {
		return err
	}
	_, held := adapt.SplitVariants(vs)
	if cfg.n > 0 {
		var langs []intent.Language
		for _, l := range strings.Split(cfg.langs, ",") {
			langs = append(langs, intent.Language(l))
		}
		utts := map[intent.Language][]utt{}
		wakeUtts := map[intent.Language][]utt{}
		for _, lang := range langs {
			c := loadCar(lang)
			sents := c.Sentences(0)
			rng.Shuffle(len(sents), func(i, j int) { sents[i], sents[j] = sents[j], sents[i] })
			var jobs []job
			for i := 0; i < cfg.n && i < len(sents); i++ {
				v := heldVoice(rng, lang, held)
				jobs = append(jobs, job{ID: fmt.Sprintf("ev-%s-%d", lang, i), Voice: v, Rate: 120 + rng.IntN(100),
					Pitch: 20 + rng.IntN(60), Text: c.Pronounce(sents[i].Text), Lang: lang, Intent: sents[i].Intent, Slots: sents[i].Slots})
			}
			us, err := synth(cfg.script, filepath.Join(cfg.work, "eval"), jobs)
			if err != nil {
				return err
			}
			utts[lang] = us
			if cfg.wake {
				// The same requests after a wake phrase, and wake
				// phrases alone, by other held-out voices.
				wakes := c.IntentSentences(intent.WakeIntent, 0)
				if len(wakes) == 0 {
					return fmt.Errorf("-wake: the %s car context has no wake phrase", lang)
				}
				var wj []job
				for i, u := range us {
					w := wakes[rng.IntN(len(wakes))]
					v := heldVoice(rng, lang, held)
					wj = append(wj, job{ID: fmt.Sprintf("ew-%s-%d", lang, i), Voice: v, Rate: u.Rate, Pitch: u.Pitch,
						Text: c.Pronounce(w.Text) + ", " + u.Text, Lang: lang, Intent: u.Intent, Slots: u.Slots})
				}
				for i := 0; i < cfg.n/2; i++ {
					w := wakes[rng.IntN(len(wakes))]
					v := heldVoice(rng, lang, held)
					wj = append(wj, job{ID: fmt.Sprintf("ewa-%s-%d", lang, i), Voice: v, Rate: 120 + rng.IntN(100),
						Pitch: 20 + rng.IntN(60), Text: c.Pronounce(w.Text), Lang: lang, Intent: intent.WakeIntent})
				}
				ws, err := synth(cfg.script, filepath.Join(cfg.work, "eval"), wj)
				if err != nil {
					return err
				}
				wakeUtts[lang] = ws
			}
		}
		fmt.Printf("| lang | clean | 5 dB cabin noise | foreign speech accepted | ms/utt | RTF |\n|---|---|---|---|---|---|\n")
		for _, lang := range langs {
			c := loadCar(lang)
			rec, err := recognizer(c, m)
			if err != nil {
				return err
			}
			var clean, noise []outcome
			var speeches []float64
			var sec float64
			var dur time.Duration
			for i, u := range utts[lang] {
				r, s, d := run(rec, u.Samples)
				sec += s
				dur += d
				clean = append(clean, outcome{ok: r.Understood && r.Intent == u.Intent && sameSlots(r.Slots, u.Slots), conf: r.Confidence})
				speeches = append(speeches, assistant.Modulation(asr.Trim(u.Samples)))
				if i < 5 {
					log.Printf("%s %q → %v %s %v %v (%.2f)", lang, u.Text, r.Understood, r.Intent, r.Slots, r.Words, r.Confidence)
				}
				y, _, _ := augm.Apply(rng, noisy5dB, u.Samples)
				r, _, _ = run(rec, y)
				noise = append(noise, outcome{ok: r.Understood && r.Intent == u.Intent && sameSlots(r.Slots, u.Slots), conf: r.Confidence})
			}
			var neg []float64
			for _, l2 := range langs {
				if l2 == lang {
					continue
				}
				for _, u := range utts[l2][:min(len(utts[l2]), cfg.n/2)] {
					r, _, _ := run(rec, u.Samples)
					neg = append(neg, r.Confidence)
				}
			}
			fa := 0
			for _, v := range neg {
				if v >= thr {
					fa++
				}
			}
			fmt.Printf("| %s | %s | %s | %d/%d | %.1f | %.4f |\n", lang, rate(clean), rate(noise), fa, len(neg),
				float64(dur.Milliseconds())/float64(len(clean)), dur.Seconds()/sec)
			log.Printf("%s confidence: correct %s; foreign %s", lang, pct(confs(clean, true)), pct(neg))
			log.Printf("%s modulation (dB), clean utterances: %s", lang, pct(speeches))
		}
		if cfg.wake {
			fmt.Printf("\nWake phrase (held-out voices):\n| lang | wake phrase + request, clean | 5 dB cabin noise | wake phrase alone | requests without it accepted | ms/utt |\n|---|---|---|---|---|---|\n")
			for _, lang := range langs {
				c := loadCar(lang)
				base, err := recognizer(c, m)
				if err != nil {
					return err
				}
				rec, err := base.Wake()
				if err != nil {
					return err
				}
				var clean, noise, alone []outcome
				var dur time.Duration
				for _, u := range wakeUtts[lang] {
					r, _, d := run(rec, u.Samples)
					dur += d
					ok := r.Understood && r.Intent == u.Intent && sameSlots(r.Slots, u.Slots)
					if !ok {
						log.Printf("wake miss %s %q → %v %s %v %v (conf %.2f, wake %.2f)", lang, u.Text, r.Understood, r.Intent, r.Slots, r.Words, r.Confidence, r.WakeConfidence)
					}
					if u.Intent == intent.WakeIntent {
						alone = append(alone, outcome{ok: ok, conf: r.WakeConfidence})
						continue
					}
					clean = append(clean, outcome{ok: ok, conf: r.WakeConfidence})
					y, _, _ := augm.Apply(rng, noisy5dB, u.Samples)
					r, _, _ = run(rec, y)
					noise = append(noise, outcome{ok: r.Understood && r.Intent == u.Intent && sameSlots(r.Slots, u.Slots), conf: r.WakeConfidence})
				}
				acc := 0
				var neg []float64
				for _, u := range utts[lang] {
					r, _, _ := run(rec, u.Samples)
					neg = append(neg, r.WakeConfidence)
					if r.Understood {
						acc++
					}
				}
				fmt.Printf("| %s | %s | %s | %s | %d/%d | %.1f |\n", lang, rate(clean), rate(noise), rate(alone), acc, len(utts[lang]),
					float64(dur.Milliseconds())/float64(max(len(wakeUtts[lang]), 1)))
				log.Printf("%s wake confidence: with the phrase %s; requests without it %s", lang, pct(confs(clean, true)), pct(neg))
			}
		}
	}
	if cfg.falseAct {
		var langs []intent.Language
		for _, l := range strings.Split(cfg.langs, ",") {
			langs = append(langs, intent.Language(l))
		}
		if err := falseActivations(cfg, m, langs, held); err != nil {
			return err
		}
	}
	if cfg.other != "" {
		oc := cfg
		oc.n = cfg.otherN
		if err := evalOther(oc, m, held); err != nil {
			return err
		}
	}
	if cfg.fsdd != "" {
		return evalFSDD(cfg.fsdd, speakerSet(cfg.fsddSpk), m)
	}
	return nil
}

func rate(os []outcome) string {
	n := 0
	for _, o := range os {
		if o.ok {
			n++
		}
	}
	return fmt.Sprintf("%d/%d (%.1f%%)", n, len(os), 100*float64(n)/float64(max(len(os), 1)))
}

func confs(os []outcome, ok bool) []float64 {
	var v []float64
	for _, o := range os {
		if o.ok == ok {
			v = append(v, o.conf)
		}
	}
	return v
}

func pct(v []float64) string {
	if len(v) == 0 {
		return "-"
	}
	sort.Float64s(v)
	q := func(p float64) float64 { return v[int(p*float64(len(v)-1))] }
	return fmt.Sprintf("min %.2f p5 %.2f p50 %.2f p95 %.2f max %.2f", q(0), q(0.05), q(0.5), q(0.95), q(1))
}

// evalFSDD scores the digits context on real speech: every FSDD speaker is
// held out (none is used in training).
func evalFSDD(dir string, only map[string]bool, m *asr.Model) error {
	c := digitContext(intent.English)
	rec, err := recognizer(c, m)
	if err != nil {
		return err
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.wav"))
	type acc struct{ n, ok, rej int }
	per := map[string]*acc{}
	var all acc
	var sec float64
	var dur time.Duration
	var confOK, confBad, speechOK []float64
	confusions := map[string]int{} // "true→recognised" of the errors
	for _, f := range files {
		parts := strings.Split(strings.TrimSuffix(filepath.Base(f), ".wav"), "_")
		if len(parts) != 3 {
			continue
		}
		digit, _ := strconv.Atoi(parts[0])
		if len(only) > 0 && !only[parts[1]] {
			continue
		}
		x, err := adapt.ReadWAV(f)
		if err != nil {
			return err
		}
		r, s, d := run(rec, x)
		sec += s
		dur += d
		a := per[parts[1]]
		if a == nil {
			a = &acc{}
			per[parts[1]] = a
		}
		a.n++
		all.n++
		ok := r.Understood && fmt.Sprint(r.Slots["digit"]) == strconv.Itoa(digit)
		if !ok {
			got := "rejected"
			if r.Understood {
				got = fmt.Sprint(r.Slots["digit"])
			}
			confusions[fmt.Sprintf("%d→%s", digit, got)]++
		}
		if ok {
			speechOK = append(speechOK, assistant.Modulation(asr.Trim(x)))
			a.ok++
			all.ok++
		}
		if !r.Understood {
			a.rej++
			all.rej++
		}
		if r.Intent != "" || r.Confidence > math.Inf(-1) {
			if len(r.Words) > 0 && fmt.Sprint(lexDigit(r.Words)) == strconv.Itoa(digit) {
				confOK = append(confOK, r.Confidence)
			} else {
				confBad = append(confBad, r.Confidence)
			}
		}
	}
	var names []string
	for k := range per {
		names = append(names, k)
	}
	sort.Strings(names)
	fmt.Printf("\nFSDD digits (real speech, %d speakers, scored only where unseen in training):\n| speaker | accuracy | rejected |\n|---|---|---|\n", len(names))
	for _, k := range names {
		a := per[k]
		fmt.Printf("| %s | %d/%d (%.1f%%) | %d |\n", k, a.ok, a.n, 100*float64(a.ok)/float64(a.n), a.rej)
	}
	fmt.Printf("| all | %d/%d (%.1f%%) | %d |\nms/utt %.1f, RTF %.4f\n", all.ok, all.n, 100*float64(all.ok)/float64(max(all.n, 1)), all.rej,
		float64(dur.Milliseconds())/float64(max(all.n, 1)), dur.Seconds()/sec)
	type conf struct {
		k string
		n int
	}
	var cs []conf
	for k, n := range confusions {
		cs = append(cs, conf{k, n})
	}
	sort.Slice(cs, func(i, j int) bool { return cs[i].n > cs[j].n || cs[i].n == cs[j].n && cs[i].k < cs[j].k })
	var top []string
	for _, c := range cs[:min(len(cs), 12)] {
		top = append(top, fmt.Sprintf("%s %d", c.k, c.n))
	}
	fmt.Printf("errors, spoken→recognised: %s\n", strings.Join(top, ", "))
	log.Printf("FSDD confidence: best path right %s; wrong %s", pct(confOK), pct(confBad))
	log.Printf("FSDD modulation (dB) of understood utterances: %s", pct(speechOK))
	return nil
}

var enDigits = map[string]int{"zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9}

func lexDigit(ws []string) int {
	if d, ok := enDigits[ws[0]]; ok {
		return d
	}
	return -1
}

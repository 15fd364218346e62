// Command asrtrain trains the cabin assistant's acoustic model
// (models/voice) on espeak-ng speech, and evaluates the recogniser on
// held-out synthetic voices and on real speech (FSDD).
//
//	go run ./agent/voice/asr/cmd/asrtrain -mode train -out models/voice
//	go run ./agent/voice/asr/cmd/asrtrain -mode eval -model models/voice -fsdd ../shared/data/speech/fsdd/recordings
//	go run ./agent/voice/asr/cmd/asrtrain -mode eval -model models/voice -n 0 -other agent/voice/asr/testdata/coffee.en.yaml
//
// Training material: sentences of the car contexts in the five languages,
// random number sequences and (-words) word salad, read by espeak-ng through
// scripts/voice/espeak_align.py (libespeak-ng's phoneme events give exact
// frame labels) with random accents, voice variants (a fifth held out for
// evaluation), speeds and pitches, then augmented (vocal tract warp, 8 kHz
// band limit, spectral tilt, reverberation, white/pink/brown/cabin noise at
// 0-25 dB SNR, gain, padding). Optionally real FSDD digits (-real) and
// flite's English voices (-flite), force-aligned with a previous model.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/evedge/evedge/agent/voice/asr"
	"github.com/evedge/evedge/agent/voice/asr/adapt"
	"github.com/evedge/evedge/agent/voice/intent"
	int8nn "github.com/evedge/evedge/models/int8"
)

func main() {
	mode := flag.String("mode", "train", "train or eval")
	out := flag.String("out", "models/voice", "train: output folder")
	work := flag.String("work", filepath.Join(os.TempDir(), "asrtrain"), "scratch folder for synthesised audio")
	script := flag.String("script", "scripts/voice/espeak_align.py", "espeak alignment script")
	nCar := flag.Int("car", 500, "train: car sentences per language (en gets 1.5x)")
	nNum := flag.Int("num", 200, "train: number sequences per language (en gets 4x)")
	copies := flag.Int("copies", 2, "train: augmented copies of each utterance")
	hidden := flag.Int("hidden", 128, "train: hidden width")
	epochs := flag.Int("epochs", 6, "train: epochs")
	perEpoch := flag.Int("frames", 300000, "train: frames per epoch")
	threads := flag.Int("threads", 2, "train: goroutines")
	seed := flag.Uint64("seed", 1, "random seed")
	model := flag.String("model", "models/voice", "eval: model folder (am.evnn, am.json)")
	fsdd := flag.String("fsdd", "", "eval: FSDD recordings folder")
	nEval := flag.Int("n", 60, "eval: sentences per language")
	langs := flag.String("langs", "en,zh,de,es,fr", "eval: languages")
	pw := flag.Float64("pw", math.NaN(), "eval: prior weight (default: the model's)")
	wp := flag.Float64("wp", math.NaN(), "eval: word penalty (default: the model's)")
	wt := flag.Float64("wt", math.NaN(), "eval: wake threshold (default: the model's)")
	real := flag.String("real", "", "train: FSDD recordings folder to add real speech from")
	realSpk := flag.String("real-speakers", "george,jackson,nicolas,theo", "train: FSDD speakers used in training (the others are held out)")
	realCopies := flag.Int("real-copies", 6, "train: augmented copies of each real utterance")
	align := flag.String("align", "models/voice", "train: model that aligns the real speech")
	fliteN := flag.Int("flite", 0, "train: English utterances per flite voice (needs flite; aligned with -align's model)")
	fliteCopies := flag.Int("flite-copies", 2, "train: augmented copies of each flite utterance")
	fliteLabels := flag.String("flite-labels", "espeak", "train: phones the flite utterances are aligned to: espeak (espeak-ng's pronunciation of the words) or flite (the phones flite said, its -ps list)")
	wakeThr := flag.Float64("wake-threshold", 0, "train: the model's wake threshold (am.json wake_threshold; 0: the threshold, -1.5)")
	noiseOnly := flag.Int("noise-only", 0, "train: stretches of noise alone (0.4..3 s, no voice in them: the noise kinds without talkers), every frame labelled silence")
	babble := flag.Int("babble", 0, "train: clips of background speech (espeak-ng, training variants) for café and kitchen noise; with it the noisy copies draw from six noise kinds instead of four (babble.go)")
	specAug := flag.Float64("specaug", 0, "train: share of training frames given SpecAugment-style masks (one band of 1..8 mel bands and up to 2 stacked frames set to the mean)")
	other := flag.String("other", "", "eval: also score a context of another domain (English YAML, e.g. agent/voice/asr/testdata/coffee.en.yaml) read by held-out espeak-ng variants, flite and festival voices")
	otherN := flag.Int("other-n", 100, "eval: sentences of -other per synthesiser")
	verbose := flag.Bool("v", false, "eval: log every miss of -other")
	nWords := flag.Int("words", 0, "train: word-salad utterances per language (en gets 2x; not zh): 3..10 words, most from -words-dir's list, the rest from the car context")
	wordsDir := flag.String("words-dir", "", "train: folder of <lang>.txt word lists for -words (scripts/voice/wordlists.py makes them)")
	offsets := flag.String("offsets", "-5..5", "train: frames stacked into the model's input, relative to the current one (comma-separated, a..b ranges)")
	fsddSpk := flag.String("fsdd-speakers", "", "eval: FSDD speakers to score (default all)")
	falseAct := flag.Bool("falseact", false, "eval: also count false activations of the always-listening loop on speech not meant for the car and on cabin noise")
	wake := flag.Bool("wake", false, "eval: also score the wake phrase (wake phrase + request, wake phrase alone, requests without it) and, with -falseact, count false activations with the wake trigger")
	initDir := flag.String("init", "", "train: start from this model folder's acoustic model (its weights, dequantised, and its input standardisation) instead of random weights: fine-tuning")
	ctxFile := flag.String("ctx", "", "train: also synthesise sentences of this context (an English YAML of another domain) with espeak-ng's training variants: adaptation to a context")
	ctxN := flag.Int("ctx-n", 0, "train: sentences of -ctx")
	ctxCopies := flag.Int("ctx-copies", 2, "train: augmented copies of each -ctx sentence")
	ctxFlite := flag.Int("ctx-flite", 0, "train: -ctx sentences per flite voice (aligned with -align's model)")
	lrPeak := flag.Float64("lr", 2e-3, "train: peak learning rate of the cosine schedule")
	wise := flag.Float64("wise", 1, "train: with -init, the share of the fine-tuned weights in the result, the rest the -init model's (weight-space ensembling)")
	flag.Parse()
	var err error
	switch *mode {
	case "train":
		if *fliteLabels != "espeak" && *fliteLabels != "flite" {
			err = fmt.Errorf("-flite-labels %q: want espeak or flite", *fliteLabels)
			break
		}
		var offs []int
		if offs, err = asr.ParseOffsets(*offsets); err != nil {
			break
		}
		if *wise != 1 && *initDir == "" {
			err = fmt.Errorf("-wise %v needs -init (the model to mix with)", *wise)
			break
		}
		err = train(trainCfg{offs: offs, out: *out, work: *work, script: *script, nCar: *nCar, nNum: *nNum, copies: *copies,
			hidden: *hidden, epochs: *epochs, perEpoch: *perEpoch, threads: *threads, seed: *seed,
			real: *real, realSpk: *realSpk, realCopies: *realCopies, align: *align, flite: *fliteN, fliteCopies: *fliteCopies, fliteOwn: *fliteLabels == "flite", specAug: *specAug, babble: *babble, wakeThreshold: *wakeThr, noiseOnly: *noiseOnly,
			nWords: *nWords, wordsDir: *wordsDir, init: *initDir, ctx: *ctxFile, ctxN: *ctxN, ctxCopies: *ctxCopies, ctxFlite: *ctxFlite, lr: *lrPeak, wise: *wise})
	case "eval":
		err = eval(evalCfg{model: *model, work: *work, script: *script, fsdd: *fsdd, fsddSpk: *fsddSpk, falseAct: *falseAct, wake: *wake, n: *nEval, langs: *langs, seed: *seed, pw: *pw, wp: *wp, wt: *wt,
			other: *other, otherN: *otherN, verbose: *verbose})
	default:
		err = fmt.Errorf("unknown -mode %q", *mode)
	}
	if err != nil {
		log.Fatal(err)
	}
}

type trainCfg struct {
	out, work, script                  string
	nCar, nNum, copies, hidden, epochs int
	perEpoch, threads                  int
	seed                               uint64
	real, realSpk, align               string
	realCopies                         int
	flite, fliteCopies                 int
	fliteOwn                           bool
	offs                               []int
	specAug                            float64
	babble                             int
	wakeThreshold                      float64
	noiseOnly                          int
	nWords                             int
	wordsDir                           string
	init, ctx                          string
	ctxN, ctxCopies, ctxFlite          int
	lr, wise                           float64
}

func makeJobs(rng *rand.Rand, prefix string, vars []string, nCar, nNum int, rates [2]int, words *wordLists) []job {
	var jobs []job
	for _, lang := range intent.Languages {
		c := loadCar(lang)
		sents := c.Sentences(0)
		rng.Shuffle(len(sents), func(i, j int) { sents[i], sents[j] = sents[j], sents[i] })
		nc, nn := nCar, nNum
		if lang == intent.English {
			nc, nn = nCar*3/2, nNum*4
		}
		voice := func() string {
			vs := adapt.LangVoices[lang]
			v := vs[rng.IntN(len(vs))]
			if rng.IntN(6) != 0 {
				v += "+" + vars[rng.IntN(len(vars))]
			}
			return v
		}
		for i := 0; i < nc && i < len(sents); i++ {
			s := sents[i]
			jobs = append(jobs, job{ID: fmt.Sprintf("%s-%s-c%d", prefix, lang, i), Voice: voice(),
				Rate: rates[0] + rng.IntN(rates[1]-rates[0]+1), Pitch: 15 + rng.IntN(75),
				Text: c.Pronounce(s.Text), Lang: lang, Intent: s.Intent, Slots: s.Slots})
		}
		for i := 0; i < nn; i++ {
			jobs = append(jobs, job{ID: fmt.Sprintf("%s-%s-n%d", prefix, lang, i), Voice: voice(),
				Rate: rates[0] + rng.IntN(rates[1]-rates[0]+1), Pitch: 15 + rng.IntN(75),
				Text: numberWords(rng, c), Lang: lang})
		}
		for i, text := range words.salad(rng, lang, c) {
			jobs = append(jobs, job{ID: fmt.Sprintf("%s-%s-w%d", prefix, lang, i), Voice: voice(),
				Rate: rates[0] + rng.IntN(rates[1]-rates[0]+1), Pitch: 15 + rng.IntN(75),
				Text: text, Lang: lang, Intent: "salad"})
		}
	}
	return jobs
}

func train(cfg trainCfg) error {
	t0 := time.Now()
	rng := rand.New(rand.NewPCG(cfg.seed, 7))
	vs, err := adapt.Variants(context.Background(), "espeak-ng")
	if err != nil {
		return err
	}
	trainVars, heldVars := adapt.SplitVariants(vs)
	if cfg.babble > 0 {
		// Their own random stream: the draws before featurising stay as
		// without -babble (the noise draws after it change, as they must).
		if augm.Talkers, err = adapt.Talkers(context.Background(), "espeak-ng", filepath.Join(cfg.work, "talkers"), rand.New(rand.NewPCG(cfg.seed+4000, 29)), trainVars, cfg.babble, cfg.threads); err != nil {
			return err
		}
		augm.Kinds = 6
		log.Printf("%d clips of background speech for café and kitchen noise", len(augm.Talkers))
	}
	words, err := loadWordLists(cfg.wordsDir, cfg.nWords)
	if err != nil {
		return err
	}
	jobs := makeJobs(rng, "tr", trainVars, cfg.nCar, cfg.nNum, [2]int{85, 270}, words)
	valJobs := makeJobs(rng, "va", heldVars, cfg.nCar/10, cfg.nNum/10, [2]int{120, 200}, words.tenth())
	log.Printf("synthesising %d + %d utterances", len(jobs), len(valJobs))
	us, err := synth(cfg.script, filepath.Join(cfg.work, "train"), jobs)
	if err != nil {
		return err
	}
	vus, err := synth(cfg.script, filepath.Join(cfg.work, "val"), valJobs)
	if err != nil {
		return err
	}
	log.Printf("synthesised %d + %d in %v; featurising", len(us), len(vus), time.Since(t0))
	ex := adapt.Featurize(rng, augm, utts(us), cfg.copies, true)
	realNote := ""
	if cfg.real != "" {
		am, err := loadModel(cfg.align)
		if err != nil {
			return err
		}
		rus, err := loadReal(cfg.real, speakerSet(cfg.realSpk), am)
		if err != nil {
			return err
		}
		if len(rus) == 0 {
			return fmt.Errorf("no FSDD recordings of speakers %s in %s", cfg.realSpk, cfg.real)
		}
		rex := adapt.Featurize(rng, augm, utts(rus), cfg.realCopies, true)
		log.Printf("real speech: %d FSDD utterances of %s aligned with %s, %d augmented copies", len(rus), cfg.realSpk, cfg.align, len(rex))
		ex = append(ex, rex...)
		realNote = fmt.Sprintf(" + %d real FSDD utterances of speakers %s (aligned with the previous model, %d copies; the other speakers held out)", len(rus), cfg.realSpk, cfg.realCopies)
	}
	if cfg.flite > 0 {
		am, err := loadModel(cfg.align)
		if err != nil {
			return err
		}
		fus, err := loadFlite(rng, filepath.Join(cfg.work, "flite"), cfg.flite, cfg.threads, am, words, cfg.fliteOwn)
		if err != nil {
			return err
		}
		fex := adapt.Featurize(rng, augm, utts(fus), cfg.fliteCopies, true)
		log.Printf("flite speech: %d utterances aligned with %s, %d augmented copies (%v)", len(fus), cfg.align, len(fex), time.Since(t0))
		ex = append(ex, fex...)
		realNote += fmt.Sprintf(" + %d flite utterances (voices %s, aligned with the previous model, %d copies)", len(fus), strings.Join(adapt.FliteVoices, ","), cfg.fliteCopies)
	}
	if cfg.noiseOnly > 0 {
		nex := noiseOnlyExamples(rand.New(rand.NewPCG(cfg.seed+7000, 37)), cfg.noiseOnly)
		log.Printf("%d stretches of noise alone, all silence", len(nex))
		ex = append(ex, nex...)
		realNote += fmt.Sprintf(" + %d stretches of noise alone labelled silence", len(nex))
	}
	if cfg.ctx != "" {
		cex, note, err := contextExamples(cfg, rand.New(rand.NewPCG(cfg.seed+8000, 41)), trainVars)
		if err != nil {
			return err
		}
		ex = append(ex, cex...)
		realNote += note
	}
	vex := adapt.Featurize(rng, augm, utts(vus), 1, true)
	var nFrames int
	var mean, sq [asr.Bands]float64
	counts := make([]float64, asr.NumClasses)
	for _, e := range ex {
		nFrames += e.T
		for i := 0; i < e.T; i++ {
			counts[e.Lab[i]]++
			for b, v := range e.Frames[i*asr.Bands : (i+1)*asr.Bands] {
				mean[b] += float64(v)
				sq[b] += float64(v) * float64(v)
			}
		}
	}
	var inputs []int8nn.Input
	nIn := len(cfg.offs) * asr.Bands
	for _, k := range cfg.offs {
		for b := 0; b < asr.Bands; b++ {
			m := mean[b] / float64(nFrames)
			sd := math.Sqrt(max(sq[b]/float64(nFrames)-m*m, 1e-6))
			inputs = append(inputs, int8nn.Input{Name: fmt.Sprintf("mel%02d@%+d", b, k), Mean: float32(m), Std: float32(sd)})
		}
	}
	logPrior := make([]float32, asr.NumClasses)
	for c := range counts {
		logPrior[c] = float32(math.Log((counts[c] + 10) / (float64(nFrames) + 10*asr.NumClasses)))
	}
	log.Printf("%d examples, %d frames; class counts %v (%v)", len(ex), nFrames, counts, time.Since(t0))

	m := adapt.NewNet(rng, nIn, cfg.hidden, asr.NumClasses)
	if cfg.init != "" {
		base, err := loadModel(cfg.init)
		if err != nil {
			return err
		}
		if len(base.AM.Inputs) != nIn {
			return fmt.Errorf("-init %s: %d inputs, the offsets give %d", cfg.init, len(base.AM.Inputs), nIn)
		}
		if m, err = adapt.Dequantise(base.AM); err != nil {
			return fmt.Errorf("-init %s: %w", cfg.init, err)
		}
		inputs = base.AM.Inputs
		copy(logPrior, base.Meta.LogPrior)
		realNote += fmt.Sprintf(", fine-tuned from %s", cfg.init)
	}
	stdz := func(x []float32) { adapt.Standardise(x, inputs) }
	vw := m.NewWorker()
	if cfg.init != "" {
		log.Printf("fine-tuning from %s: held-out-voice frame acc before %.3f", cfg.init, valAcc(m, vw, vex, stdz, cfg.offs))
	}
	err = adapt.Fit(context.Background(), rng, m, ex, adapt.FitConfig{Inputs: inputs, Offs: cfg.offs, Epochs: cfg.epochs, Frames: cfg.perEpoch, LR: cfg.lr, Threads: cfg.threads, SpecAug: cfg.specAug,
		Epoch: func(s, steps int, loss, acc float64) {
			log.Printf("step %d/%d train loss %.3f acc %.3f val acc %.3f (%v)", s, steps, loss, acc,
				valAcc(m, vw, vex, stdz, cfg.offs), time.Since(t0).Round(time.Second))
		}})
	if err != nil {
		return err
	}
	if cfg.init != "" && cfg.wise != 1 {
		base, err := loadModel(cfg.init)
		if err != nil {
			return err
		}
		b, err := adapt.Dequantise(base.AM)
		if err != nil {
			return err
		}
		if err := m.Mix(b, float32(cfg.wise)); err != nil {
			return err
		}
		log.Printf("weights mixed: %.2f fine-tuned, the rest %s's; held-out-voice frame acc %.3f", cfg.wise, cfg.init, valAcc(m, vw, vex, stdz, cfg.offs))
		realNote += fmt.Sprintf(" (weights mixed %.2f with it)", cfg.wise)
	}
	q, err := adapt.Quantize(rng, m, ex, inputs, cfg.offs)
	if err != nil {
		return err
	}
	acc8 := valAccInt8(q, vex, cfg.offs)
	log.Printf("int8 val frame acc %.3f", acc8)
	if err := os.MkdirAll(cfg.out, 0o755); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(cfg.out, "am.evnn"))
	if err != nil {
		return err
	}
	if err := int8nn.Write(f, q); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	meta := asr.Meta{Version: "1", Classes: asr.Classes, Context: max(-cfg.offs[0], cfg.offs[len(cfg.offs)-1]), Bands: asr.Bands, LogPrior: logPrior,
		PriorWeight: 0.3, WordPenalty: 0, Threshold: -1.5, WakeThreshold: cfg.wakeThreshold, Durations: asr.DefaultDurations,
		Trained: fmt.Sprintf("asrtrain -mode train -car %d -num %d -copies %d -hidden %d -epochs %d -frames %d -seed %d -offsets %s: %d utterances of espeak-ng speech%s, %d frames, int8 held-out-voice frame accuracy %.3f",
			cfg.nCar, cfg.nNum, cfg.copies, cfg.hidden, cfg.epochs, cfg.perEpoch, cfg.seed, offsetsString(cfg.offs), len(us), realNote, nFrames, acc8)}
	if !slices.Equal(cfg.offs, asr.DefaultOffsets) {
		meta.Offsets = cfg.offs
	}
	if cfg.nWords > 0 {
		meta.Trained += fmt.Sprintf(" (-words %d: word salad of %s in the espeak-ng speech, and in a third of the flite utterances)", cfg.nWords, cfg.wordsDir)
	}
	if cfg.babble > 0 {
		meta.Trained += fmt.Sprintf(" (-babble %d: café and kitchen noise among the noise kinds, from %d clips of background speech)", cfg.babble, len(augm.Talkers))
	}
	if cfg.specAug > 0 {
		meta.Trained += fmt.Sprintf(" (SpecAugment masks on %.0f %% of the training frames)", 100*cfg.specAug)
	}
	b, _ := json.MarshalIndent(meta, "", "  ")
	log.Printf("done in %v", time.Since(t0).Round(time.Second))
	return os.WriteFile(filepath.Join(cfg.out, "am.json"), append(b, '\n'), 0o644)
}

func valAcc(m *adapt.Net, w *adapt.Worker, vex []adapt.Example, stdz func([]float32), offs []int) float64 {
	x := make([]float32, len(offs)*asr.Bands)
	var n, right int
	for _, e := range vex {
		for j := 0; j < e.T; j += 3 {
			asr.StackAt(x, e.Frames, e.T, j, offs)
			stdz(x)
			z := m.Forward(w, x)
			if argmax(z) == int(e.Lab[j]) {
				right++
			}
			n++
		}
	}
	return float64(right) / float64(max(n, 1))
}

func valAccInt8(q *int8nn.Model, vex []adapt.Example, offs []int) float64 {
	r := q.NewRunner()
	x := make([]float32, len(offs)*asr.Bands)
	z := make([]float32, asr.NumClasses)
	var n, right int
	for _, e := range vex {
		for j := 0; j < e.T; j += 3 {
			asr.StackAt(x, e.Frames, e.T, j, offs)
			r.Run(x, z)
			if argmax(z) == int(e.Lab[j]) {
				right++
			}
			n++
		}
	}
	return float64(right) / float64(max(n, 1))
}

// offsetsString writes offs as ParseOffsets reads them.
func offsetsString(offs []int) string {
	var b strings.Builder
	for i := 0; i < len(offs); {
		j := i
		for j+1 < len(offs) && offs[j+1] == offs[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		if j > i {
			fmt.Fprintf(&b, "%d..%d", offs[i], offs[j])
		} else {
			fmt.Fprintf(&b, "%d", offs[i])
		}
		i = j + 1
	}
	return b.String()
}

func argmax(z []float32) int {
	a := 0
	for i, v := range z {
		if v > z[a] {
			a = i
		}
	}
	return a
}

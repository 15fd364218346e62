package adapt

import (
	"bytes"
	"context"
	"fmt"
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
	"github.com/evedge/evedge/drivers/audio"
)

// The synthesisers: Debian's espeak-ng (every language, with its voice
// variants) and flite (English, five voices made differently from
// espeak-ng's formant synthesis: kal and kal16 diphone concatenation of a
// real speaker, awb, rms and slt statistical parametric voices trained on
// real speakers).

// LangVoices are the espeak voices of each language (accents).
var LangVoices = map[intent.Language][]string{
	intent.English: {"en-us", "en", "en-gb-x-rp", "en-029", "en-gb-scotland", "en-gb-x-gbclan", "en-gb-x-gbcwmd", "en-us-nyc"},
	intent.German:  {"de"},
	intent.Spanish: {"es", "es-419"},
	intent.French:  {"fr", "fr-be", "fr-ch"},
	intent.Chinese: {"cmn-latn-pinyin"},
}

// Variants lists espeak-ng's voice variants (+name).
func Variants(ctx context.Context, espeak string) ([]string, error) {
	out, err := exec.CommandContext(ctx, espeak, "--voices=variant").Output()
	if err != nil {
		return nil, fmt.Errorf("espeak-ng --voices=variant: %w", err)
	}
	var vs []string
	for _, l := range strings.Split(string(out), "\n")[1:] {
		f := strings.Fields(l)
		if len(f) < 5 {
			continue
		}
		file := f[len(f)-1]
		if i := strings.Index(file, "!v/"); i >= 0 {
			vs = append(vs, file[i+3:])
		}
	}
	return vs, nil
}

// SplitVariants puts every fifth variant (sorted order) in the held-out set.
func SplitVariants(vs []string) (train, held []string) {
	for i, v := range vs {
		if i%5 == 2 {
			held = append(held, v)
		} else {
			train = append(train, v)
		}
	}
	return
}

// FliteVoices are the voices of Debian's flite 2.2 (flite -lv).
var FliteVoices = []string{"kal", "kal16", "awb", "rms", "slt"}

// FliteSay synthesises text with flite voice v into the WAV file p (speed
// stretch, mean F0 in Hz; f0 <= 0 keeps the voice's own) and reads it back
// at the recogniser's rate. With phones it also returns the phones flite
// said (its -ps segment list, ARPAbet, mapped by arpabetClasses; nil
// when one is unknown), which is what the voice really spoke: flite's
// lexicon and post-lexical rules, not espeak-ng's.
func FliteSay(ctx context.Context, p, v, text string, stretch float64, f0 int, phones bool) ([]float32, []asr.Class, error) {
	args := []string{"-voice", v, "--setf", fmt.Sprintf("duration_stretch=%.3f", stretch)}
	if f0 > 0 {
		args = append(args, "--setf", fmt.Sprintf("int_f0_target_mean=%d", f0))
	}
	if phones {
		args = append(args, "-ps")
	}
	cmd := exec.CommandContext(ctx, "flite", append(args, "-o", p, "-t", text)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, nil, fmt.Errorf("flite %s %q: %v: %s", v, text, err, stderr.Bytes())
	}
	x, err := ReadWAV(p)
	if err != nil || !phones {
		return x, nil, err
	}
	return x, arpabetClasses(stdout.String()), nil
}

// arpabet gives flite's (CMU) phone names in IPA, read into classes by
// asr.Phoneme as espeak-ng's IPA for the same sounds is (diphthongs are
// two classes, ʌ and the schwa one, ɚ is ə ɹ).
var arpabet = map[string]string{
	"aa": "ɑ", "ae": "æ", "ah": "ʌ", "ao": "ɔ", "aw": "aʊ", "ax": "ə", "ay": "aɪ", "eh": "ɛ",
	"er": "ɚ", "ey": "eɪ", "ih": "ɪ", "iy": "i", "ow": "oʊ", "oy": "ɔɪ", "uh": "ʊ", "uw": "u",
	"b": "b", "ch": "tʃ", "d": "d", "dh": "ð", "dx": "ɾ", "f": "f", "g": "ɡ", "hh": "h",
	"jh": "dʒ", "k": "k", "l": "l", "m": "m", "n": "n", "ng": "ŋ", "p": "p", "r": "ɹ",
	"s": "s", "sh": "ʃ", "t": "t", "th": "θ", "v": "v", "w": "w", "y": "j", "z": "z", "zh": "ʒ",
}

// arpabetClasses reads flite's -ps output ("pau l ae t pau") into classes;
// pauses are dropped (the aligner puts silence where it hears it). nil
// when a phone is not in arpabet.
func arpabetClasses(ps string) []asr.Class {
	var out []asr.Class
	for _, ph := range strings.Fields(ps) {
		if ph == "pau" || ph == "h#" || ph == "brth" {
			continue
		}
		ipa, ok := arpabet[strings.TrimRight(ph, "012")]
		if !ok {
			return nil
		}
		out = append(out, asr.Phoneme(ipa)...)
	}
	return out
}

// ReadWAV reads a WAV file as mono samples at the recogniser's rate.
func ReadWAV(path string) ([]float32, error) {
	w, err := audio.ReadWAVFile(path)
	if err != nil {
		return nil, err
	}
	b, err := audio.ResampleBuffer(audio.Buffer{Format: audio.Format{SampleRate: w.SampleRate, Channels: 1}, Data: w.Mono(nil)}, asr.SampleRate)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return b.Data, nil
}

// Talkers synthesises n clips of background speech into dir: a
// sentence of the knowledge base's prose in English, German, Spanish or
// French, read by espeak-ng with one of vars' voice variants at a random
// rate and pitch. Clips of 0.5 s or less after trimming are dropped.
func Talkers(ctx context.Context, espeak, dir string, rng *rand.Rand, vars []string, n, threads int) ([][]float32, error) {
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
		if texts[lang] = KBProse(k, lang); len(texts[lang]) == 0 {
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
		vs := LangVoices[lang]
		v := vs[rng.IntN(len(vs))] + "+" + vars[rng.IntN(len(vars))]
		p := filepath.Join(dir, fmt.Sprintf("talker%d.wav", i))
		ts := texts[lang]
		reqs[i] = req{p, []string{"-v", v, "-s", fmt.Sprint(130 + rng.IntN(70)), "-p", fmt.Sprint(20 + rng.IntN(60)), "-w", p, "--", ts[rng.IntN(len(ts))]}, i}
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
				if b, err := exec.CommandContext(ctx, espeak, r.args...).CombinedOutput(); err != nil {
					errs[r.index] = fmt.Errorf("espeak-ng %s: %v: %s", strings.Join(r.args[:2], " "), err, b)
					continue
				}
				out[r.index], errs[r.index] = ReadWAV(r.path)
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

// KBProse is the knowledge base's text in lang, one sentence or list item
// a string: each entry's summary, likely causes, checks and repair steps.
func KBProse(k *kb.KB, lang intent.Language) []string {
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

// FliteJob is one flite utterance to synthesise: file name (ID.wav), voice,
// text, speed stretch, mean F0 (0: the voice's own) and the phones it is
// aligned to.
type FliteJob struct {
	ID, Voice, Text string
	Stretch         float64
	F0              int
	Phones          []asr.Class
}

// AlignFlite synthesises jobs with flite into dir on threads goroutines
// and force-aligns each with m to its phones (with ownPhones, to the
// phones flite said). ok[i] is false for a job whose audio is too short
// for its phones (or, with ownPhones, whose phones flite did not name).
func AlignFlite(ctx context.Context, jobs []FliteJob, dir string, threads int, m *asr.Model, ownPhones bool) (us []Utt, ok []bool, err error) {
	us = make([]Utt, len(jobs))
	ok = make([]bool, len(jobs))
	errs := make([]error, len(jobs))
	var wg sync.WaitGroup
	for w := range max(threads, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f := asr.NewFeatures()
			em := asr.NewEmitter(m)
			for i := w; i < len(jobs); i += max(threads, 1) {
				j := jobs[i]
				p := filepath.Join(dir, j.ID+".wav")
				if ctx.Err() != nil {
					errs[i] = ctx.Err()
					return
				}
				x, said, err := FliteSay(ctx, p, j.Voice, j.Text, j.Stretch, j.F0, ownPhones)
				os.Remove(p) // read: only its samples are kept
				if err != nil {
					errs[i] = err
					continue
				}
				phones := j.Phones
				if ownPhones {
					if phones = said; len(phones) == 0 {
						continue
					}
				}
				segs, good := AlignSegs(f, em, x, phones)
				if !good {
					continue
				}
				us[i], ok[i] = Utt{Samples: x, Segs: segs}, true
			}
		}()
	}
	wg.Wait()
	for _, e := range errs {
		if e != nil {
			return nil, nil, e
		}
	}
	return us, ok, nil
}

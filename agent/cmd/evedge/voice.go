package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/evedge/evedge/agent/voice/asr"
	"github.com/evedge/evedge/agent/voice/asr/adapt"
	"github.com/evedge/evedge/agent/voice/intent"
	"github.com/evedge/evedge/drivers/audio"
	int8nn "github.com/evedge/evedge/models/int8"
	voicemodel "github.com/evedge/evedge/models/voice"
)

// cmdVoice is the voice assistant's command (evedge voice build|infer).
func cmdVoice(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	usage := func() {
		fmt.Fprintln(stderr, `Usage:
  evedge voice build --context FILE.yaml --out DIR [--adapt=false] [--real DIR]
                                                     prepare a context for recognition: espeak-ng pronounces its words,
                                                     and the acoustic model is fine-tuned to its sentences (minutes)
  evedge voice infer --model DIR [--wake] WAV...     recognise WAV files, one JSON line each`)
	}
	if len(args) == 0 {
		usage()
		return usageError{fmt.Errorf("voice: missing subcommand")}
	}
	switch args[0] {
	case "build":
		return voiceBuild(ctx, args[1:], stdout, stderr)
	case "infer":
		return voiceInfer(args[1:], stdout, stderr)
	case "-h", "--help", "help":
		usage()
		return nil
	}
	usage()
	return usageError{fmt.Errorf("voice: unknown subcommand %q", args[0])}
}

func voiceBuild(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("voice build", flag.ContinueOnError)
	fs.SetOutput(stderr)
	ctxPath := fs.String("context", "", "context `file` (YAML: intents, templates, slots)")
	out := fs.String("out", "", "output `folder`")
	espeak := fs.String("espeak", "espeak-ng", "espeak-ng `binary`")
	adaptOn := fs.Bool("adapt", true, "fine-tune the acoustic model to the context on its sentences read by espeak-ng (and flite, for English): a few minutes on 2 cores; false: the shipped model as it is")
	realDir := fs.String("real", "", "`folder` of real recordings in the FSDD layout (digit_speaker_n.wav) mixed into the adaptation so that it stays close to real voices; default $EVEDGE_REAL_SPEECH, else "+defaultRealSpeech+" when it exists, else none")
	realSpk := fs.String("real-speakers", "george,jackson,nicolas,theo", "speakers of --real to use (comma-separated; the others stay held out)")
	sentences := fs.Int("sentences", 1500, "adaptation: sentences of the context read by espeak-ng (and 2/15 as many per flite voice)")
	epochs := fs.Int("epochs", 3, "adaptation: epochs")
	frames := fs.Int("frames", 300_000, "adaptation: frames an epoch")
	mix := fs.Float64("mix", 0.5, "adaptation: share of the fine-tuned weights in the model written, the rest the shipped model's (0 < mix <= 1)")
	threads := fs.Int("threads", 2, "adaptation: goroutines")
	work := fs.String("work", "", "adaptation: scratch `folder` for the synthesised audio (default: a temporary one, removed after)")
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	if *ctxPath == "" || *out == "" {
		return usageError{fmt.Errorf("voice build: --context and --out are required")}
	}
	if *adaptOn && (*sentences < 1 || *epochs < 1 || *threads < 1 || *frames < 256) {
		return usageError{fmt.Errorf("voice build: --sentences, --epochs and --threads must be at least 1, --frames at least 256")}
	}
	if *adaptOn && !(*mix > 0 && *mix <= 1) {
		return usageError{fmt.Errorf("voice build: --mix %v: want 0 < mix <= 1", *mix)}
	}
	t0 := time.Now()
	am, meta := voicemodel.AM, voicemodel.Meta
	note := ""
	if *adaptOn {
		explicit := false
		fs.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "adapt" })
		a, mt, n, err := adaptModel(ctx, *ctxPath, asr.Espeak{Bin: *espeak}, adaptOptions{real: *realDir, speakers: *realSpk,
			sentences: *sentences, epochs: *epochs, frames: *frames, mix: *mix, threads: *threads, work: *work}, stderr)
		var af adaptFailure
		switch {
		case errors.As(err, &af) && !explicit && ctx.Err() == nil:
			// Adapting is an improvement, not a requirement: the shipped
			// model works for any context.
			fmt.Fprintf(stderr, "voice build: not adapting the acoustic model (%v); the shipped model is used\n", af.err)
			note = ", acoustic model not adapted: " + strings.Join(strings.Fields(af.err.Error()), " ")
		case err != nil:
			return err
		default:
			am, meta, note = a, mt, n
		}
	}
	m, err := asr.Build(ctx, asr.Espeak{Bin: *espeak}, *ctxPath, am, meta, *out)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "built %s: %s, %d intents, %d words (%d pronunciations), %d graph nodes, %d HMM states%s, in %v\n",
		*out, m.Language, m.Intents, m.Words, m.Pronunciations, m.Nodes, m.States, note, time.Since(t0).Round(time.Millisecond))
	return nil
}

// defaultRealSpeech is where the development tree keeps FSDD's recordings.
const defaultRealSpeech = "../shared/data/speech/fsdd/recordings"

// adaptFailure is adapt.Adapt's error: voice build goes on with the
// shipped model unless --adapt was asked for.
type adaptFailure struct{ err error }

func (a adaptFailure) Error() string { return a.err.Error() }
func (a adaptFailure) Unwrap() error { return a.err }

type adaptOptions struct {
	real, speakers             string
	sentences, epochs, threads int
	frames                     int
	mix                        float64
	work                       string
}

// adaptModel fine-tunes the shipped acoustic model to the context in
// path (package adapt) and returns the new model's files and a note for
// the summary line. Progress goes to stderr.
func adaptModel(ctx context.Context, path string, e asr.Espeak, o adaptOptions, stderr io.Writer) (am, meta []byte, note string, err error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, "", err
	}
	c, err := intent.Parse(path, src)
	if err != nil {
		return nil, nil, "", err
	}
	base, err := asr.ParseModel(voicemodel.AM, voicemodel.Meta)
	if err != nil {
		return nil, nil, "", err
	}
	lex, err := asr.Pronounce(ctx, e, c)
	if err != nil {
		return nil, nil, "", err
	}
	logf := func(format string, args ...any) { fmt.Fprintf(stderr, format+"\n", args...) }
	cfg := adapt.Config{Sentences: o.sentences, FliteSentences: max(1, o.sentences*2/15), Epochs: o.epochs, Frames: o.frames, Mix: o.mix, Threads: o.threads, Espeak: e.Bin, Logf: logf}
	// Real recordings asked for (--real) must be there and usable; those
	// found (the environment, the development tree) are a bonus, left out
	// with a message when they are not.
	dir, implicit := o.real, false
	if dir != "" {
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			return nil, nil, "", fmt.Errorf("voice build: --real %s: not a folder", dir)
		}
	} else if dir = os.Getenv("EVEDGE_REAL_SPEECH"); dir != "" {
		implicit = true
	} else if st, err := os.Stat(defaultRealSpeech); err == nil && st.IsDir() {
		dir, implicit = defaultRealSpeech, true
	}
	if dir != "" {
		spk := map[string]bool{}
		for _, s := range strings.Split(o.speakers, ",") {
			if s = strings.TrimSpace(s); s != "" {
				spk[s] = true
			}
		}
		cfg.Replay, _, err = adapt.LoadFSDD(ctx, e, dir, spk, base)
		if err == nil && len(cfg.Replay) == 0 {
			err = fmt.Errorf("none of speakers %s", o.speakers)
		}
		switch {
		case err != nil && !implicit:
			return nil, nil, "", fmt.Errorf("voice build: --real %s: %w", dir, err)
		case err != nil:
			cfg.Replay = nil
			logf("adapt: real recordings in %s not used (%v): synthetic speech only, which drifts further from real voices", dir, err)
		default:
			logf("adapt: %d real recordings from %s", len(cfg.Replay), dir)
		}
	} else {
		logf("adapt: no real recordings (--real): synthetic speech only, which drifts further from real voices")
	}
	if cfg.Work = o.work; cfg.Work == "" {
		if cfg.Work, err = os.MkdirTemp("", "evedge-adapt-"); err != nil {
			return nil, nil, "", err
		}
		defer os.RemoveAll(cfg.Work)
	}
	m, rep, err := adapt.Adapt(ctx, c, lex, base, cfg)
	if err != nil {
		return nil, nil, "", adaptFailure{err}
	}
	var b bytes.Buffer
	if err := int8nn.Write(&b, m.AM); err != nil {
		return nil, nil, "", err
	}
	if meta, err = json.MarshalIndent(m.Meta, "", "  "); err != nil {
		return nil, nil, "", err
	}
	note = fmt.Sprintf(", acoustic model adapted (%s", rep)
	if rep.FliteSkipped != "" {
		note += ", no flite: " + rep.FliteSkipped
	}
	return b.Bytes(), append(meta, '\n'), note + fmt.Sprintf(", %v)", rep.Took.Round(time.Second)), nil
}

type inferLine struct {
	File       string         `json:"file"`
	Understood bool           `json:"understood"`
	Intent     string         `json:"intent,omitempty"`
	Slots      map[string]any `json:"slots"`
	Words      string         `json:"words,omitempty"`
	Confidence float64        `json:"confidence"`
	MS         float64        `json:"ms"`
	Error      string         `json:"error,omitempty"`
}

func voiceInfer(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("voice infer", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("model", "", "`folder` written by evedge voice build")
	wake := fs.Bool("wake", false, "the recordings start with the context's wake phrase (intent Wake when said alone)")
	files, err := parseInterleaved(fs, args)
	if err != nil {
		return usageError{err}
	}
	if *dir == "" || len(files) == 0 {
		return usageError{fmt.Errorf("voice infer: --model and at least one WAV are required")}
	}
	rec, err := asr.Open(*dir)
	if err != nil {
		return err
	}
	if *wake {
		if rec, err = rec.Wake(); err != nil {
			return err
		}
	}
	enc := json.NewEncoder(stdout)
	var failed int
	for _, f := range files {
		line := inferLine{File: f, Slots: map[string]any{}}
		t0 := time.Now()
		x, err := readMono16k(f)
		if err != nil {
			line.Error = err.Error()
			failed++
		} else {
			r := rec.Recognize(asr.Trim(x))
			line.Understood, line.Intent, line.Confidence = r.Understood, r.Intent, r.Confidence
			for k, v := range r.Slots {
				line.Slots[k] = v
			}
			for i, w := range r.Words {
				if i > 0 {
					line.Words += " "
				}
				line.Words += w
			}
		}
		line.MS = float64(time.Since(t0).Microseconds()) / 1000
		if err := enc.Encode(line); err != nil {
			return err
		}
	}
	if failed > 0 {
		return fmt.Errorf("voice infer: %d of %d files could not be read", failed, len(files))
	}
	return nil
}

// readMono16k reads a WAV file of any rate and channel count as 16 kHz mono.
func readMono16k(path string) ([]float32, error) {
	w, err := audio.ReadWAVFile(path)
	if err != nil {
		return nil, err
	}
	b := audio.Buffer{Format: audio.Format{SampleRate: w.SampleRate, Channels: 1}, Data: w.Mono(nil)}
	if b.SampleRate != asr.SampleRate {
		if b, err = audio.ResampleBuffer(b, asr.SampleRate); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	return b.Data, nil
}

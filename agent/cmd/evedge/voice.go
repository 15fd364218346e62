package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/evedge/evedge/agent/voice/asr"
	"github.com/evedge/evedge/drivers/audio"
	voicemodel "github.com/evedge/evedge/models/voice"
)

// cmdVoice is the voice assistant's command (evedge voice build|infer).
func cmdVoice(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	usage := func() {
		fmt.Fprintln(stderr, `Usage:
  evedge voice build --context FILE.yaml --out DIR   prepare a context for recognition (espeak-ng pronounces its words)
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
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	if *ctxPath == "" || *out == "" {
		return usageError{fmt.Errorf("voice build: --context and --out are required")}
	}
	t0 := time.Now()
	m, err := asr.Build(ctx, asr.Espeak{Bin: *espeak}, *ctxPath, voicemodel.AM, voicemodel.Meta, *out)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "built %s: %s, %d intents, %d words (%d pronunciations), %d graph nodes, %d HMM states, in %v\n",
		*out, m.Language, m.Intents, m.Words, m.Pronunciations, m.Nodes, m.States, time.Since(t0).Round(time.Millisecond))
	return nil
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

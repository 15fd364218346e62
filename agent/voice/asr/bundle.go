package asr

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/evedge/evedge/agent/atomicfile"
	"github.com/evedge/evedge/agent/voice/intent"
)

// Files of a built model folder.
const (
	ContextFile  = "context.yaml"
	LexiconFile  = "lexicon.tsv"
	AMFile       = "am.evnn"
	MetaFile     = "am.json"
	ManifestFile = "voice.json"
)

// Manifest summarises a built folder.
type Manifest struct {
	Language string `json:"language"`
	Source   string `json:"source"` // the context file it was built from
	Intents  int    `json:"intents"`
	Words    int    `json:"words"`
	// Pronunciations counts the lexicon's entries: a word said
	// differently inside sentences has more than one (Lexicon).
	Pronunciations int    `json:"pronunciations"`
	Nodes          int    `json:"nodes"`
	States         int    `json:"states"`
	Model          string `json:"model"` // acoustic model name and version
	Espeak         string `json:"espeak_voice"`
}

// Build prepares the folder out for recognising the context in file
// contextPath with the acoustic model (am, meta): it parses the context
// (errors name file, line and reason), pronounces its words with espeak-ng,
// compiles the phone network to check it, and writes the context, the
// lexicon, the model and a manifest. No training is needed.
func Build(ctx context.Context, e Espeak, contextPath string, am, meta []byte, out string) (Manifest, error) {
	src, err := os.ReadFile(contextPath)
	if err != nil {
		return Manifest{}, err
	}
	c, err := intent.Parse(contextPath, src)
	if err != nil {
		return Manifest{}, err
	}
	m, err := ParseModel(am, meta)
	if err != nil {
		return Manifest{}, err
	}
	lex, err := Pronounce(ctx, e, c)
	if err != nil {
		return Manifest{}, err
	}
	n, err := NewNet(c, lex, m.Meta.Durations)
	if err != nil {
		return Manifest{}, err
	}
	man := Manifest{Language: string(c.Language), Source: contextPath, Intents: len(c.Intents), Words: len(c.Vocabulary()), Pronunciations: len(lex),
		Nodes: len(c.Graph().Nodes), States: n.NumStates(), Model: m.AM.Name + " " + m.AM.Version, Espeak: EspeakVoice(c.Language)}
	var lb bytes.Buffer
	lex.WriteTo(&lb)
	mb, _ := json.MarshalIndent(man, "", "  ")
	if err := os.MkdirAll(out, 0o755); err != nil {
		return Manifest{}, err
	}
	for _, f := range []struct {
		name string
		data []byte
	}{{ContextFile, src}, {LexiconFile, lb.Bytes()}, {AMFile, am}, {MetaFile, meta}, {ManifestFile, append(mb, '\n')}} {
		if err := atomicfile.Write(filepath.Join(out, f.name), f.data, 0o644); err != nil {
			return Manifest{}, err
		}
	}
	return man, nil
}

// Open loads a folder written by Build.
func Open(dir string) (*Recognizer, error) {
	read := func(name string) ([]byte, error) {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("asr: model folder: %w", err)
		}
		return b, nil
	}
	src, err := read(ContextFile)
	if err != nil {
		return nil, err
	}
	c, err := intent.Parse(filepath.Join(dir, ContextFile), src)
	if err != nil {
		return nil, err
	}
	lb, err := read(LexiconFile)
	if err != nil {
		return nil, err
	}
	lex, err := ReadLexicon(bytes.NewReader(lb), filepath.Join(dir, LexiconFile))
	if err != nil {
		return nil, err
	}
	am, err := read(AMFile)
	if err != nil {
		return nil, err
	}
	meta, err := read(MetaFile)
	if err != nil {
		return nil, err
	}
	m, err := ParseModel(am, meta)
	if err != nil {
		return nil, err
	}
	return NewRecognizer(c, lex, m)
}

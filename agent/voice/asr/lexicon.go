package asr

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"sort"
	"strings"

	"github.com/evedge/evedge/agent/voice/intent"
)

// ErrNoEspeak is returned when espeak-ng, needed to pronounce a context's
// words at build time, is not installed.
var ErrNoEspeak = errors.New("asr: espeak-ng not found (apt-get install espeak-ng)")

// EspeakVoice is the espeak-ng voice that pronounces a language.
func EspeakVoice(l intent.Language) string {
	switch l {
	case intent.English:
		return "en-us"
	case intent.Chinese:
		return "cmn-latn-pinyin"
	}
	return string(l)
}

// Espeak pronounces text by running espeak-ng.
type Espeak struct {
	Bin string // default "espeak-ng"
}

// IPA returns `espeak-ng -q --ipa --sep=_ -v voice text`.
func (e Espeak) IPA(ctx context.Context, voice, text string) (string, error) {
	bin := e.Bin
	if bin == "" {
		bin = "espeak-ng"
	}
	if _, err := exec.LookPath(bin); err != nil {
		return "", ErrNoEspeak
	}
	cmd := exec.CommandContext(ctx, bin, "-q", "--ipa", "--sep=_", "-v", voice, "--", text)
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("asr: espeak-ng -v %s %q: %w", voice, text, err)
	}
	return string(out), nil
}

// Lexicon maps the graph words of a context to their phone classes.
type Lexicon map[string][]Class

// Pronounce builds the lexicon of c's vocabulary with espeak-ng. Chinese
// words are read through their pinyin (Context.Pronounce).
func Pronounce(ctx context.Context, e Espeak, c *intent.Context) (Lexicon, error) {
	voice := EspeakVoice(c.Language)
	lex := Lexicon{}
	for _, w := range c.Vocabulary() {
		text := c.Pronounce(w)
		ipa, err := e.IPA(ctx, voice, text)
		if err != nil {
			return nil, err
		}
		ph := ParseIPA(ipa)
		if len(ph) == 0 {
			return nil, fmt.Errorf("asr: espeak-ng gave no phonemes for %q (%s)", w, voice)
		}
		lex[w] = ph
	}
	return lex, nil
}

// WriteTo writes the lexicon as text, one word a line: the word, a tab,
// the class names separated by spaces; sorted by word.
func (l Lexicon) WriteTo(w io.Writer) (int64, error) {
	words := make([]string, 0, len(l))
	for k := range l {
		words = append(words, k)
	}
	sort.Strings(words)
	var b strings.Builder
	for _, k := range words {
		b.WriteString(k)
		b.WriteByte('\t')
		for i, c := range l[k] {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(c.String())
		}
		b.WriteByte('\n')
	}
	n, err := io.WriteString(w, b.String())
	return int64(n), err
}

// ReadLexicon parses the format of WriteTo. Errors name the line.
func ReadLexicon(r io.Reader, name string) (Lexicon, error) {
	l := Lexicon{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		t := sc.Text()
		if strings.TrimSpace(t) == "" {
			continue
		}
		word, phones, ok := strings.Cut(t, "\t")
		if !ok || word == "" {
			return nil, fmt.Errorf("%s:%d: want word<TAB>phones", name, line)
		}
		var cs []Class
		for _, p := range strings.Fields(phones) {
			c, ok := classIdx[p]
			if !ok || c == 0 {
				return nil, fmt.Errorf("%s:%d: unknown phone class %q", name, line, p)
			}
			cs = append(cs, c)
		}
		if len(cs) == 0 {
			return nil, fmt.Errorf("%s:%d: word %q has no phones", name, line, word)
		}
		if _, dup := l[word]; dup {
			return nil, fmt.Errorf("%s:%d: word %q listed twice", name, line, word)
		}
		l[word] = cs
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return l, nil
}

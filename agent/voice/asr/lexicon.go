package asr

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os/exec"
	"slices"
	"sort"
	"strconv"
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

// Lexicon maps the graph words of a context to their phone classes. A
// key "word#k" (k = 1, 2, ...) is another pronunciation of word: the
// recogniser accepts any of them (Variants).
type Lexicon map[string][]Class

// Variants returns word's pronunciations: its own entry, then word#1,
// word#2, ... as long as they exist.
func (l Lexicon) Variants(word string) [][]Class {
	ph, ok := l[word]
	if !ok {
		return nil
	}
	out := [][]Class{ph}
	for k := 1; ; k++ {
		v, ok := l[word+"#"+strconv.Itoa(k)]
		if !ok {
			return out
		}
		out = append(out, v)
	}
}

// Connected-speech variants (Pronounce): sentences of the context read as
// a whole, how many at most and how long (espeak-ng breaks a longer
// one); a form a word takes in them becomes a variant when it is at
// least variantShare of the word's occurrences and seen variantMin
// times, at most maxVariants a word.
const (
	variantSentences = 300
	variantMaxLen    = 300
	variantShare     = 0.25
	variantMin       = 3
	maxVariants      = 2
)

// Pronounce builds the lexicon of c's vocabulary with espeak-ng. Chinese
// words are read through their pinyin (Context.Pronounce).
//
// A word said alone takes its strong form ("a" as eɪ, "of" as ʌv), while
// in a sentence function words are reduced ("a lot of" is ɐ lɑːt ʌv):
// the forms espeak-ng gives the words inside sentences of the context
// (variantSentences random ones, read in one call) are added as variants.
//
// A word the context says how to pronounce (Context.SaysAs) takes those
// pronunciations instead of espeak-ng's reading of the word, and no
// sentence forms.
func Pronounce(ctx context.Context, e Espeak, c *intent.Context) (Lexicon, error) {
	voice := EspeakVoice(c.Language)
	lex := Lexicon{}
	groups := map[string]int{} // space-separated groups espeak-ng says a word's text as
	for _, w := range c.Vocabulary() {
		text := c.Pronounce(w) // a pronounce entry's first form
		ipa, err := e.IPA(ctx, voice, text)
		if err != nil {
			return nil, err
		}
		ph := ParseIPA(ipa)
		if len(ph) == 0 {
			if text != w {
				return nil, fmt.Errorf("asr: espeak-ng gave no phonemes for %q, the pronunciation of %q (%s)", text, w, voice)
			}
			return nil, fmt.Errorf("asr: espeak-ng gave no phonemes for %q (%s)", w, voice)
		}
		lex[w] = ph
		groups[w] = len(strings.Fields(ipa))
	}
	fixed := map[string]bool{}
	for _, w := range sortedWords(c.SaysAs) {
		if _, ok := lex[w]; !ok {
			continue // Parse checks that every key is a word of c
		}
		fixed[w] = true
		forms := [][]Class{dedupe(lex[w])}
		for _, text := range c.SaysAs[w][1:] {
			ipa, err := e.IPA(ctx, voice, text)
			if err != nil {
				return nil, err
			}
			ph := dedupe(ParseIPA(ipa))
			if len(ph) == 0 {
				return nil, fmt.Errorf("asr: espeak-ng gave no phonemes for %q, a pronunciation of %q (%s)", text, w, voice)
			}
			if !slices.ContainsFunc(forms, func(f []Class) bool { return slices.Equal(f, ph) }) {
				forms = append(forms, ph) // two respellings may sound alike
			}
		}
		lex[w] = forms[0]
		for k, ph := range forms[1:] {
			lex[w+"#"+strconv.Itoa(k+1)] = ph
		}
	}
	connectedVariants(ctx, e, voice, c, lex, groups, fixed)
	return lex, nil
}

// sortedWords returns m's keys in order.
func sortedWords(m map[string][]string) []string {
	ws := make([]string, 0, len(m))
	for w := range m {
		ws = append(ws, w)
	}
	sort.Strings(ws)
	return ws
}

// connectedVariants adds to lex the forms the words of c take inside its
// sentences. espeak-ng reads the sentences in one call, one sentence a
// line (each ends with a full stop) and the words separated by spaces.
// Only sentences whose every word espeak-ng says alone as one group
// (groups) are read, but for words with the context's own pronunciations
// (fixed), which are read as their first form and take as many groups
// as it has alone, and get no forms; a line that does not have one group per word
// (espeak-ng joined "in the") is skipped: with a word split and another
// joined in one sentence the count would match and the forms shift onto
// the wrong words. The variants are an improvement, not a need: when
// espeak-ng fails or breaks the lines otherwise, the lexicon stays as it
// was.
func connectedVariants(ctx context.Context, e Espeak, voice string, c *intent.Context, lex Lexicon, groups map[string]int, fixed map[string]bool) {
	rng := rand.New(rand.NewPCG(1, 2))
	seen := map[string]bool{}
	var sents [][]string
	var text strings.Builder
	for range variantSentences * 3 {
		if len(sents) == variantSentences {
			break
		}
		s, ok := c.RandomSentence(rng)
		if !ok {
			break
		}
		ws := s.Words
		key := strings.Join(ws, " ")
		if len(ws) < 2 || len(key) > variantMaxLen || seen[key] {
			continue
		}
		if !allWords(ws, func(w string) bool { return groups[w] == 1 || fixed[w] && groups[w] > 0 }) {
			continue
		}
		seen[key] = true
		parts := make([]string, len(ws))
		for i, w := range ws {
			parts[i] = c.Pronounce(w)
		}
		sents = append(sents, ws)
		text.WriteString(strings.Join(parts, " "))
		text.WriteString(".\n")
	}
	if len(sents) == 0 {
		return
	}
	ipa, err := e.IPA(ctx, voice, text.String())
	if err != nil {
		return
	}
	lines := strings.Split(strings.TrimRight(ipa, "\n"), "\n")
	if len(lines) != len(sents) {
		return // espeak-ng broke the sentences otherwise: no variants
	}
	type form struct {
		ph []Class
		n  int
	}
	forms := map[string]map[string]*form{}
	total := map[string]int{}
	for i, line := range lines {
		gs := strings.Fields(line)
		n := 0
		for _, w := range sents[i] {
			n += groups[w]
		}
		if len(gs) != n {
			continue
		}
		g := 0
		for _, w := range sents[i] {
			g += groups[w]
			if _, ok := lex[w]; !ok || fixed[w] {
				continue
			}
			ph := dedupe(ParseIPA(gs[g-1]))
			if len(ph) == 0 {
				continue
			}
			total[w]++
			k := fmt.Sprint(ph)
			if forms[w] == nil {
				forms[w] = map[string]*form{}
			}
			if f := forms[w][k]; f != nil {
				f.n++
			} else {
				forms[w][k] = &form{ph: ph, n: 1}
			}
		}
	}
	for w, fs := range forms {
		own := fmt.Sprint(dedupe(lex[w])) // forms are deduped: "ə ɹ ɹ" is no new form of "ə ɹ"
		var cand []*form
		for k, f := range fs {
			if k != own && f.n >= variantMin && float64(f.n) >= variantShare*float64(total[w]) {
				cand = append(cand, f)
			}
		}
		sort.Slice(cand, func(a, b int) bool {
			if cand[a].n != cand[b].n {
				return cand[a].n > cand[b].n
			}
			return fmt.Sprint(cand[a].ph) < fmt.Sprint(cand[b].ph)
		})
		for k, f := range cand[:min(len(cand), maxVariants)] {
			lex[w+"#"+strconv.Itoa(k+1)] = f.ph
		}
	}
}

// allWords says whether ok holds for every word.
func allWords(ws []string, ok func(string) bool) bool {
	for _, w := range ws {
		if !ok(w) {
			return false
		}
	}
	return true
}

// dedupe merges runs of one class (a linking r after an r-coloured vowel,
// ɚ_ɹ, reads as ə ɹ ɹ): in a chain two equal classes in a row only
// lengthen the shortest duration.
func dedupe(ph []Class) []Class {
	out := ph[:0:0]
	for i, c := range ph {
		if i == 0 || c != ph[i-1] {
			out = append(out, c)
		}
	}
	return out
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

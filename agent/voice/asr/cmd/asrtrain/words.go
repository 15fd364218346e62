package main

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"

	"github.com/evedge/evedge/agent/voice/intent"
)

// wordLists is the word-salad material: per language a list of words
// (scripts/voice/wordlists.py samples them from Debian's wamerican,
// wngerman, wspanish and wfrench), so that the acoustic model hears phone
// sequences of words no context of ours uses. A model
// trained only on the car sentences learns their words' transitions and
// recognises a new context's words far worse (see models/voice/README:
// the coffee-order context read by flite voices).
type wordLists struct {
	n     int
	words map[intent.Language][]string
}

// loadWordLists reads <lang>.txt (one word a line) from dir for every
// language but Chinese; n utterances a language (English 2n). n = 0 reads
// nothing.
func loadWordLists(dir string, n int) (*wordLists, error) {
	w := &wordLists{n: n, words: map[intent.Language][]string{}}
	if n <= 0 {
		return w, nil
	}
	if dir == "" {
		return nil, fmt.Errorf("-words needs -words-dir (python3 scripts/voice/wordlists.py DIR)")
	}
	for _, lang := range intent.Languages {
		if lang == intent.Chinese {
			continue
		}
		p := filepath.Join(dir, string(lang)+".txt")
		f, err := os.Open(p)
		if err != nil {
			return nil, fmt.Errorf("-words: %w", err)
		}
		sc := bufio.NewScanner(f)
		for line := 1; sc.Scan(); line++ {
			t := strings.TrimSpace(sc.Text())
			if t == "" || strings.HasPrefix(t, "#") {
				continue
			}
			if strings.ContainsAny(t, " \t") {
				f.Close()
				return nil, fmt.Errorf("%s:%d: one word a line, got %q", p, line, t)
			}
			w.words[lang] = append(w.words[lang], t)
		}
		err = sc.Err()
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		if len(w.words[lang]) < 100 {
			return nil, fmt.Errorf("%s: %d words, want at least 100", p, len(w.words[lang]))
		}
	}
	return w, nil
}

// tenth is the same lists with a tenth of the utterances (validation).
func (w *wordLists) tenth() *wordLists {
	return &wordLists{n: w.n / 10, words: w.words}
}

// salad returns the language's word-salad texts: 3..10 words each, a word
// from the list with probability 0.7, else one of the car context's own
// words (the short common words sentences are made of).
func (w *wordLists) salad(rng *rand.Rand, lang intent.Language, car *intent.Context) []string {
	if w == nil || w.n <= 0 || len(w.words[lang]) == 0 {
		return nil
	}
	list := w.words[lang]
	n := w.n
	if lang == intent.English {
		n *= 2
	}
	voc := car.Vocabulary()
	out := make([]string, 0, n)
	for range n {
		k := 3 + rng.IntN(8)
		ws := make([]string, k)
		for j := range ws {
			if rng.Float64() < 0.7 {
				ws[j] = list[rng.IntN(len(list))]
			} else {
				ws[j] = voc[rng.IntN(len(voc))]
			}
		}
		out = append(out, strings.Join(ws, " "))
	}
	return out
}

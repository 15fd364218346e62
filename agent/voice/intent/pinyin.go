package intent

import "strings"

// Pronounce returns the pinyin of a zh sentence, syllables with tone
// numbers separated by spaces, for espeak-ng's cmn-latn-pinyin voice;
// other languages get the sentence unchanged. Spaces in the sentence mark
// word boundaries when present; text without spaces is segmented into
// lexicon words, fewest unknown characters first, then fewest words.
// Digits are read as numbers; characters with no pinyin are kept as they
// are.
func (c *Context) Pronounce(sentence string) string {
	if c.Language != Chinese {
		return sentence
	}
	var out []string
	tokenize(Chinese, sentence, false, nil, func(w []byte) {
		word := string(w)
		if py, ok := c.pinyin[word]; ok {
			out = append(out, py)
			return
		}
		if word[0] >= '0' && word[0] <= '9' {
			out = append(out, hanziNumberPinyin(digitsToHanzi(word)))
			return
		}
		out = append(out, c.segment([]rune(word))...)
	})
	return strings.Join(out, " ")
}

// segment reads runs of hanzi by dynamic programming over lexicon words.
func (c *Context) segment(rs []rune) []string {
	type cell struct {
		unknown, words, from int
		py                   string
	}
	best := make([]cell, len(rs)+1)
	for i := 1; i <= len(rs); i++ {
		// An unknown character (or a single numeral).
		py, ok := zhDigitPinyin[rs[i-1]]
		unk := 0
		if !ok {
			py, unk = string(rs[i-1]), 1
		}
		if p, ok := c.pinyin[string(rs[i-1])]; ok {
			py, unk = p, 0
		}
		best[i] = cell{best[i-1].unknown + unk, best[i-1].words + 1, i - 1, py}
		for n := 2; n <= c.maxWord && n <= i; n++ {
			p, ok := c.pinyin[string(rs[i-n:i])]
			if !ok {
				continue
			}
			b := best[i-n]
			if b.unknown < best[i].unknown || b.unknown == best[i].unknown && b.words+1 < best[i].words {
				best[i] = cell{b.unknown, b.words + 1, i - n, p}
			}
		}
	}
	var out []string
	for i := len(rs); i > 0; i = best[i].from {
		out = append(out, best[i].py)
	}
	for l, r := 0, len(out)-1; l < r; l, r = l+1, r-1 {
		out[l], out[r] = out[r], out[l]
	}
	return out
}

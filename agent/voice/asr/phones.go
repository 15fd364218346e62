package asr

import (
	"strings"
	"unicode/utf8"
)

// Class is an index into Classes: a broad phoneme class shared by every
// language. Class 0 is silence.
type Class uint8

// Classes names the acoustic model's outputs, in order. The names are IPA.
var Classes = []string{
	"sil",
	// vowels
	"a", "e", "ɛ", "i", "ɪ", "o", "ɔ", "u", "ʊ", "y", "ø", "ə", "æ", "ɑ",
	// consonants
	"p", "b", "t", "d", "k", "g", "f", "v", "s", "z", "ʃ", "ʒ", "θ", "ð",
	"x", "h", "m", "n", "ŋ", "l", "ɹ", "r", "ʁ", "j", "w", "ts", "tʃ", "dʒ",
}

// NumClasses is len(Classes).
const NumClasses = 43

var classIdx = func() map[string]Class {
	m := map[string]Class{}
	for i, c := range Classes {
		m[c] = Class(i)
	}
	return m
}()

// IsVowel reports whether c is a vowel class.
func (c Class) IsVowel() bool { return c >= 1 && c <= 14 }

func (c Class) String() string {
	if int(c) < len(Classes) {
		return Classes[c]
	}
	return "?"
}

// multi are the multi-rune IPA (and espeak zh) spellings, longest first.
var multi = []struct {
	s   string
	out []string
}{
	{"ts.h", []string{"tʃ"}}, {"tɕh", []string{"tʃ"}}, {"ts.", []string{"tʃ"}},
	{"tʃ", []string{"tʃ"}}, {"tɕ", []string{"tʃ"}}, {"dʒ", []string{"dʒ"}}, {"dʑ", []string{"dʒ"}},
	{"ts", []string{"ts"}}, {"dz", []string{"ts"}}, {"s.", []string{"ʃ"}}, {"z.", []string{"ʒ"}},
	{"i.", []string{"ə"}}, {"ɚ", []string{"ə", "ɹ"}}, {"ɝ", []string{"ə", "ɹ"}},
}

// single maps one IPA rune to classes; runes absent here and in skip are
// ignored too (Classes never fails), but listed ones are the known ones.
var single = map[rune][]string{
	'a': {"a"}, 'ɐ': {"ə"}, 'ɑ': {"ɑ"}, 'ɒ': {"ɑ"}, 'æ': {"æ"}, 'ʌ': {"ə"},
	'e': {"e"}, 'ɛ': {"ɛ"}, 'ə': {"ə"}, 'ɜ': {"ə"}, 'ɘ': {"ə"}, 'ɵ': {"ø"}, 'ɨ': {"ə"},
	'i': {"i"}, 'ɪ': {"ɪ"}, 'o': {"o"}, 'ɔ': {"ɔ"}, 'u': {"u"}, 'ʊ': {"ʊ"}, 'ɯ': {"u"},
	'y': {"y"}, 'ʏ': {"y"}, 'ø': {"ø"}, 'œ': {"ø"},
	'p': {"p"}, 'b': {"b"}, 'β': {"b"}, 't': {"t"}, 'd': {"d"}, 'k': {"k"}, 'c': {"k"}, 'q': {"k"},
	'g': {"g"}, 'ɡ': {"g"}, 'ɟ': {"g"}, 'ɣ': {"g"}, 'f': {"f"}, 'v': {"v"}, 'ʋ': {"v"},
	's': {"s"}, 'z': {"z"}, 'ʃ': {"ʃ"}, 'ɕ': {"ʃ"}, 'ʂ': {"ʃ"}, 'ʒ': {"ʒ"}, 'ʑ': {"ʒ"}, 'ʐ': {"ʒ"},
	'θ': {"θ"}, 'ð': {"ð"}, 'x': {"x"}, 'χ': {"x"}, 'ç': {"x"}, 'h': {"h"}, 'ɦ': {"h"},
	'm': {"m"}, 'ɱ': {"m"}, 'n': {"n"}, 'ɲ': {"n", "j"}, 'ŋ': {"ŋ"}, 'ɴ': {"ŋ"},
	'l': {"l"}, 'ɫ': {"l"}, 'ʎ': {"l", "j"}, 'ɭ': {"l"},
	'ɹ': {"ɹ"}, 'ɻ': {"ɹ"}, 'r': {"r"}, 'ɾ': {"r"}, 'ʁ': {"ʁ"}, 'ʀ': {"ʁ"},
	'j': {"j"}, 'ʝ': {"j"}, 'w': {"w"}, 'ɥ': {"y"}, 'ʍ': {"w"},
}

// Phoneme returns the classes of one espeak IPA phoneme token (one phoneme
// event, or one "_"-separated token of `espeak-ng --ipa --sep=_`). Stress and
// length marks, tone digits, diacritics and aspiration are dropped; a
// diphthong gives two classes. An empty token or a pause gives none. It
// never fails: unknown symbols are skipped.
func Phoneme(tok string) []Class {
	var out []Class
	prevCons := false
	for len(tok) > 0 {
		matched := false
		for _, m := range multi {
			if strings.HasPrefix(tok, m.s) {
				for _, c := range m.out {
					out = append(out, classIdx[c])
				}
				tok = tok[len(m.s):]
				prevCons = !classIdx[m.out[len(m.out)-1]].IsVowel()
				matched = true
				break
			}
		}
		if matched {
			continue
		}
		r, n := utf8.DecodeRuneInString(tok)
		tok = tok[n:]
		if r == 'h' && prevCons {
			continue // aspiration: espeak zh writes "kh", "ph"
		}
		cs, ok := single[r]
		if !ok {
			continue
		}
		for _, c := range cs {
			out = append(out, classIdx[c])
		}
		prevCons = !classIdx[cs[len(cs)-1]].IsVowel()
	}
	return out
}

// ParseIPA reads the output of `espeak-ng -q --ipa --sep=_` (words
// separated by spaces or lines, phonemes by "_") into classes, in order.
func ParseIPA(s string) []Class {
	var out []Class
	for _, w := range strings.Fields(s) {
		for _, tok := range strings.Split(w, "_") {
			out = append(out, Phoneme(tok)...)
		}
	}
	return out
}

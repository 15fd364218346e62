package intent

import (
	"unicode"
	"unicode/utf8"
)

// Language is an ISO 639-1 code of a supported context language.
type Language string

// The supported languages.
const (
	English Language = "en"
	Chinese Language = "zh"
	German  Language = "de"
	Spanish Language = "es"
	French  Language = "fr"
)

// Languages lists the supported languages.
var Languages = []Language{English, Chinese, German, Spanish, French}

// Supported reports whether l is one of Languages.
func (l Language) Supported() bool {
	switch l {
	case English, Chinese, German, Spanish, French:
		return true
	}
	return false
}

// isApostrophe reports the apostrophe look-alikes that normalise to '.
func isApostrophe(r rune) bool {
	switch r {
	case '\'', '\u2019', '\u2018', '`', '\u00b4', '\u02bc':
		return true
	}
	return false
}

// isWordRune reports runes that belong to words; every other rune
// (spaces, punctuation, hyphens, symbols) separates words.
func isWordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r)
}

// isHan reports a Chinese character.
func isHan(r rune) bool { return unicode.Is(unicode.Han, r) }

// tokenize splits s into the words of the graph, calling emit for each:
// lower case, punctuation and hyphens separate words ("soixante-dix" is two
// words), apostrophes inside a word are kept as ' ("what's"), leading and
// trailing ones dropped, and in French an apostrophe ends an elided word
// ("l'autonomie" is "l'" "autonomie"). With fold, the words are folded for
// matching: apostrophes and accents dropped, ß is ss, œ is oe, æ is ae;
// full-width digits are ASCII.
//
// buf is scratch space; emit gets a slice of it valid until the next call.
func tokenize(lang Language, s string, fold bool, buf []byte, emit func(w []byte)) []byte {
	buf = buf[:0]
	flush := func() {
		// Drop trailing apostrophes (unless French elision, handled below).
		for len(buf) > 0 && buf[len(buf)-1] == '\'' {
			buf = buf[:len(buf)-1]
		}
		if len(buf) > 0 {
			emit(buf)
		}
		buf = buf[:0]
	}
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		i += n
		if r >= '０' && r <= '９' {
			r = '0' + (r - '０')
		}
		switch {
		case isApostrophe(r):
			if len(buf) == 0 {
				continue
			}
			next, _ := utf8.DecodeRuneInString(s[i:])
			if !unicode.IsLetter(next) {
				flush()
				continue
			}
			if lang == French {
				if !fold {
					buf = append(buf, '\'')
				}
				if len(buf) > 0 {
					emit(buf)
				}
				buf = buf[:0]
				continue
			}
			if !fold {
				buf = append(buf, '\'')
			}
		case isWordRune(r):
			if len(buf) == 0 && unicode.Is(unicode.Mn, r) {
				continue // a combining mark with nothing to combine with
			}
			if lang == Chinese && isHan(r) != (len(buf) > 0 && lastIsHan(buf)) && len(buf) > 0 {
				// Keep runs of hanzi apart from Latin letters and digits.
				flush()
			}
			r = unicode.ToLower(r)
			if fold {
				if unicode.Is(unicode.Mn, r) {
					continue
				}
				if f, ok := foldTable[r]; ok {
					buf = append(buf, f...)
					continue
				}
			}
			buf = utf8.AppendRune(buf, r)
		default:
			flush()
		}
	}
	flush()
	return buf
}

func lastIsHan(b []byte) bool {
	r, _ := utf8.DecodeLastRune(b)
	return isHan(r)
}

// foldTable maps accented Latin letters to their plain spelling.
var foldTable = func() map[rune]string {
	m := map[rune]string{'ß': "ss", 'œ': "oe", 'æ': "ae", 'ø': "o", 'ł': "l"}
	for base, set := range map[string]string{
		"a": "àáâãäåā", "c": "çćč", "e": "èéêëēęě", "i": "ìíîïī",
		"n": "ñń", "o": "òóôõöō", "u": "ùúûüū", "y": "ýÿ", "s": "śš", "z": "źżž",
	} {
		for _, r := range set {
			m[r] = base
		}
	}
	return m
}()

// words returns the graph words of s (see tokenize).
func words(lang Language, s string) []string {
	var out []string
	tokenize(lang, s, false, nil, func(w []byte) { out = append(out, string(w)) })
	return out
}

// foldWord returns the matching key of a graph word.
func foldWord(lang Language, w string) string {
	var out string
	tokenize(lang, w, true, nil, func(b []byte) { out += string(b) })
	return out
}

// join renders words as text: Chinese without spaces, French elisions
// glued to the next word, otherwise separated by single spaces.
func join(lang Language, ws []string) string {
	var b []byte
	for i, w := range ws {
		if i > 0 && lang != Chinese && b[len(b)-1] != '\'' {
			b = append(b, ' ')
		}
		b = append(b, w...)
	}
	return string(b)
}

package intent

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// A template is parsed into a sequence of items.
type itemKind uint8

const (
	itemWord itemKind = iota // one written word (may give several graph words)
	itemAlt                  // (a|b): one of the branches
	itemOpt                  // [a|b]: one of the branches or nothing
	itemSlot                 // {list} or {list:name}
)

type item struct {
	kind     itemKind
	words    []string // itemWord: the graph words of the written word
	branches [][]item // itemAlt, itemOpt
	list     string   // itemSlot: slot list
	name     string   // itemSlot: slot name in the result
	pos      int      // byte offset in the template
}

// templateError is a syntax error at a byte offset of a template.
type templateError struct {
	pos int
	msg string
}

func (e *templateError) Error() string { return fmt.Sprintf("at offset %d: %s", e.pos, e.msg) }

// parseTemplate parses the template syntax: words separated by spaces,
// (a|b) alternatives, [a] or [a|b] optional parts, {list} and {list:name}
// slot references; groups nest.
func parseTemplate(lang Language, s string) ([]item, error) {
	p := &tparser{s: s, lang: lang}
	seq, err := p.seq(0)
	if err != nil {
		return nil, err
	}
	if p.i < len(s) {
		return nil, &templateError{p.i, fmt.Sprintf("unbalanced %q", s[p.i])}
	}
	if len(seq) == 0 {
		return nil, &templateError{0, "empty template"}
	}
	if minLen(seq) == 0 {
		return nil, &templateError{0, "template can match an empty sentence"}
	}
	if err := checkSlotNames(seq, map[string]bool{}); err != nil {
		return nil, err
	}
	return seq, nil
}

type tparser struct {
	s    string
	i    int
	lang Language
}

const maxDepth = 32

// seq parses items until end of input or one of ")]|" (not consumed).
func (p *tparser) seq(depth int) ([]item, error) {
	var seq []item
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch c {
		case ' ', '\t', '\n', '\r':
			p.i++
		case ')', ']', '|':
			if depth == 0 {
				if c == '|' {
					return nil, &templateError{p.i, "'|' outside (...) or [...]"}
				}
				return nil, &templateError{p.i, fmt.Sprintf("unbalanced %q", c)}
			}
			return seq, nil
		case '}':
			return nil, &templateError{p.i, "unbalanced '}'"}
		case '(', '[':
			if depth >= maxDepth {
				return nil, &templateError{p.i, "groups nested too deep"}
			}
			start := p.i
			p.i++
			close := byte(')')
			kind := itemAlt
			if c == '[' {
				close, kind = ']', itemOpt
			}
			var branches [][]item
			for {
				b, err := p.seq(depth + 1)
				if err != nil {
					return nil, err
				}
				if p.i >= len(p.s) {
					return nil, &templateError{start, fmt.Sprintf("unbalanced %q: missing %q", c, close)}
				}
				if len(b) == 0 {
					if kind == itemOpt && len(branches) == 0 && p.s[p.i] == ']' {
						return nil, &templateError{start, "empty optional []"}
					}
					return nil, &templateError{p.i, "empty alternative"}
				}
				branches = append(branches, b)
				d := p.s[p.i]
				p.i++
				if d == '|' {
					continue
				}
				if d != close {
					return nil, &templateError{p.i - 1, fmt.Sprintf("%q closed by %q", c, d)}
				}
				break
			}
			seq = append(seq, item{kind: kind, branches: branches, pos: start})
		case '{':
			start := p.i
			end := strings.IndexAny(p.s[p.i+1:], "{}()[]|")
			if end < 0 || p.s[p.i+1+end] != '}' {
				return nil, &templateError{start, "unbalanced '{': missing '}'"}
			}
			body := strings.TrimSpace(p.s[p.i+1 : p.i+1+end])
			p.i += end + 2
			list, name, renamed := strings.Cut(body, ":")
			list, name = strings.TrimSpace(list), strings.TrimSpace(name)
			if !renamed {
				name = list
			}
			if !isIdent(list) {
				return nil, &templateError{start, fmt.Sprintf("bad slot list name %q", list)}
			}
			if !isIdent(name) {
				return nil, &templateError{start, fmt.Sprintf("bad slot name %q", name)}
			}
			seq = append(seq, item{kind: itemSlot, list: list, name: name, pos: start})
		default:
			start := p.i
			for p.i < len(p.s) && !strings.ContainsRune(" \t\n\r()[]{}|", rune(p.s[p.i])) {
				_, n := utf8.DecodeRuneInString(p.s[p.i:])
				p.i += n
			}
			ws := words(p.lang, p.s[start:p.i])
			if len(ws) > 0 {
				seq = append(seq, item{kind: itemWord, words: ws, pos: start})
			}
		}
	}
	return seq, nil
}

// isIdent reports [A-Za-z_][A-Za-z0-9_]*.
func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		switch {
		case c == '_', c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// minLen is the fewest items a sequence can match (slots count as 1).
func minLen(seq []item) int {
	n := 0
	for _, it := range seq {
		switch it.kind {
		case itemWord, itemSlot:
			n++
		case itemAlt:
			m := -1
			for _, b := range it.branches {
				if l := minLen(b); m < 0 || l < m {
					m = l
				}
			}
			n += m
		}
	}
	return n
}

// checkSlotNames fails when a path through the template fills the same
// slot name twice; seen holds the names filled earlier on the path.
func checkSlotNames(seq []item, seen map[string]bool) error {
	for _, it := range seq {
		switch it.kind {
		case itemSlot:
			if seen[it.name] {
				return &templateError{it.pos, fmt.Sprintf("slot %q filled twice", it.name)}
			}
			seen[it.name] = true
		case itemAlt, itemOpt:
			union := map[string]bool{}
			for _, b := range it.branches {
				inner := make(map[string]bool, len(seen))
				for k := range seen {
					inner[k] = true
				}
				if err := checkSlotNames(b, inner); err != nil {
					return err
				}
				for k := range inner {
					union[k] = true
				}
			}
			for k := range union {
				seen[k] = true
			}
		}
	}
	return nil
}

// slotRefs calls f for every slot reference of seq.
func slotRefs(seq []item, f func(it *item)) {
	for i := range seq {
		it := &seq[i]
		switch it.kind {
		case itemSlot:
			f(it)
		case itemAlt, itemOpt:
			for _, b := range it.branches {
				slotRefs(b, f)
			}
		}
	}
}

// templateWords calls f for every graph word written in seq.
func templateWords(seq []item, f func(w string)) {
	for _, it := range seq {
		switch it.kind {
		case itemWord:
			for _, w := range it.words {
				f(w)
			}
		case itemAlt, itemOpt:
			for _, b := range it.branches {
				templateWords(b, f)
			}
		}
	}
}

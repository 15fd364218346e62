package intent

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// Error is a problem in a context file, located by line and field.
type Error struct {
	File   string // file name given to Parse
	Line   int    // 1-based; 0 when unknown
	Column int    // 1-based; 0 when unknown
	Field  string // e.g. "intents.OpenWindow.templates[1]"
	Msg    string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
		if e.Column > 0 {
			fmt.Fprintf(&b, ":%d", e.Column)
		}
	}
	if e.Field != "" {
		b.WriteString(": ")
		b.WriteString(e.Field)
	}
	b.WriteString(": ")
	b.WriteString(e.Msg)
	return b.String()
}

// Context is a parsed, validated and compiled context file. It is
// immutable after Parse and safe for concurrent use.
type Context struct {
	Name      string    // file name given to Parse
	Language  Language  // language of the sentences
	Intents   []*Intent // in file order
	Slots     map[string]*SlotList
	Responses map[string]string // shared responses: cancel, not_understood, ...
	Lexicon   map[string]string // zh: word → pinyin with tone numbers
	// SaysAs gives words the speech synthesiser pronounces wrongly (a
	// loanword, a brand or place name) as text it reads right, one or
	// more accepted pronunciations each (the pronounce field; not zh,
	// whose lexicon is already the pronunciation).
	SaysAs map[string][]string
	// Wake lists the wake phrase's templates (no slots); empty when the
	// context has none. See WakeGraph.
	Wake []string

	wakeTrees [][]item
	wakeOnce  sync.Once // builds wakeGraph and wm
	wakeGraph *Graph

	intentIdx map[string]int
	graph     *Graph
	m         *matcher
	wm        *matcher          // wakeGraph's
	pinyin    map[string]string // Lexicon plus the number words of ranges
	maxWord   int               // longest pinyin key, in runes
}

// Intent is one intent of a context.
type Intent struct {
	Name      string
	Templates []string
	Response  string // may be empty; placeholders in {braces}

	// SlotNames lists, sorted, the slot names that templates can fill.
	SlotNames []string

	trees    [][]item
	slotList map[string][]string // slot name → slot lists that fill it
}

// SlotList is a named list of phrases or a number range.
type SlotList struct {
	Name   string
	Values []SlotValue // for a range, one per number
	Range  *Range      // non-nil for a number range
}

// SlotValue is one value of a slot list and the phrases that say it.
type SlotValue struct {
	In  []string // phrases, as written
	Out any      // value in results: string or int
	Say string   // phrase for responses; first phrase by default

	line int // in the file, for errors
}

// Range is a list of integers From, From+Step, ... To, spoken as words.
type Range struct{ From, To, Step int }

// Load parses the context file name of fsys.
func Load(fsys fs.FS, name string) (*Context, error) {
	data, err := fs.ReadFile(fsys, name)
	if err != nil {
		return nil, err
	}
	return Parse(path.Base(name), data)
}

// LoadAll parses the files of fsys matching pattern (fs.Glob syntax), in
// name order. All files are parsed; the errors are joined.
func LoadAll(fsys fs.FS, pattern string) ([]*Context, error) {
	names, err := fs.Glob(fsys, pattern)
	if err != nil {
		return nil, err
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("no context file matches %q", pattern)
	}
	var cs []*Context
	var errs []error
	for _, n := range names {
		c, err := Load(fsys, n)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		cs = append(cs, c)
	}
	return cs, errors.Join(errs...)
}

// Parse reads, validates and compiles a context file. The error, when not
// nil, joins one *Error per problem found (errors.As gives the first).
func Parse(name string, data []byte) (*Context, error) {
	p := &parser{file: name}
	c := p.parse(data)
	c.Name = name
	if len(p.errs) > 0 {
		return nil, errors.Join(p.errs...)
	}
	c.compile()
	if len(c.SaysAs) > 0 {
		vocab := map[string]bool{}
		for _, w := range c.Vocabulary() {
			vocab[w] = true
		}
		for _, w := range sortedKeys(c.SaysAs) {
			if !vocab[w] {
				k := p.pronKeys[w]
				p.errorf(k, "pronounce."+k.Value, "%q is not a word of any template, slot phrase or wake phrase", w)
			}
		}
		if len(p.errs) > 0 {
			return nil, errors.Join(p.errs...)
		}
	}
	return c, nil
}

type parser struct {
	file     string
	errs     []error
	pronKeys map[string]*yaml.Node // pronounce's keys by word, for errors after compile
}

func (p *parser) errorf(n *yaml.Node, field, format string, args ...any) {
	e := &Error{File: p.file, Field: field, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		e.Line, e.Column = n.Line, n.Column
	}
	p.errs = append(p.errs, e)
}

// mapping returns the key/value pairs of a mapping node, reporting
// duplicate keys and non-mappings.
func (p *parser) mapping(n *yaml.Node, field string) (keys []*yaml.Node, vals []*yaml.Node) {
	if n.Kind != yaml.MappingNode {
		p.errorf(n, field, "want a mapping, got %s", kindName(n))
		return nil, nil
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			p.errorf(k, field, "keys must be plain strings")
			continue
		}
		if seen[k.Value] {
			what := "key"
			switch field {
			case "intents":
				what = "intent"
			case "slots":
				what = "slot list"
			case "lexicon":
				what = "lexicon word"
			}
			p.errorf(k, join2(field, k.Value), "duplicate %s %q", what, k.Value)
			continue
		}
		seen[k.Value] = true
		keys, vals = append(keys, k), append(vals, v)
	}
	return keys, vals
}

func join2(field, key string) string {
	if field == "" {
		return key
	}
	return field + "." + key
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "nothing"
		}
		return "a scalar"
	case yaml.AliasNode:
		return "an alias"
	}
	return "a document"
}

// str returns a scalar string value.
func (p *parser) str(n *yaml.Node, field string) (string, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		p.errorf(n, field, "want a string, got %s", kindName(n))
		return "", false
	}
	return n.Value, true
}

func (p *parser) integer(n *yaml.Node, field string) (int, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!int" {
		p.errorf(n, field, "want an integer, got %q", n.Value)
		return 0, false
	}
	v, err := strconv.Atoi(n.Value)
	if err != nil {
		p.errorf(n, field, "want an integer: %v", err)
		return 0, false
	}
	return v, true
}

func (p *parser) parse(data []byte) *Context {
	c := &Context{
		Slots:     map[string]*SlotList{},
		Responses: map[string]string{},
		intentIdx: map[string]int{},
	}
	if !utf8.Valid(data) {
		p.errorf(nil, "", "not UTF-8")
		return c
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		msg := err.Error()
		line := 0
		// yaml.v3 says "yaml: line N: msg".
		if rest, ok := strings.CutPrefix(msg, "yaml: line "); ok {
			if num, m, ok := strings.Cut(rest, ": "); ok {
				if l, err := strconv.Atoi(num); err == nil {
					line, msg = l, m
				}
			}
		}
		p.errs = append(p.errs, &Error{File: p.file, Line: line, Msg: msg})
		return c
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		p.errorf(nil, "", "empty file")
		return c
	}
	root := doc.Content[0]
	keys, vals := p.mapping(root, "")
	var intentsN, slotsN, lexN, wakeN, pronN *yaml.Node
	for i, k := range keys {
		v := vals[i]
		switch k.Value {
		case "language":
			if s, ok := p.str(v, "language"); ok {
				c.Language = Language(s)
				if !c.Language.Supported() {
					p.errorf(v, "language", "unsupported language %q (want one of en, zh, de, es, fr)", s)
				}
			}
		case "intents":
			intentsN = v
		case "slots":
			slotsN = v
		case "lexicon":
			lexN = v
		case "wake":
			wakeN = v
		case "pronounce":
			pronN = v
		case "responses":
			rk, rv := p.mapping(v, "responses")
			for j, k := range rk {
				f := "responses." + k.Value
				if s, ok := p.str(rv[j], f); ok {
					if err := checkPlaceholders(s); err != nil {
						p.errorf(rv[j], f, "%v", err)
					}
					c.Responses[k.Value] = s
				}
			}
		default:
			p.errorf(k, k.Value, "unknown field %q (want language, intents, slots, responses, lexicon, wake, pronounce)", k.Value)
		}
	}
	if c.Language == "" {
		if root.Kind == yaml.MappingNode {
			p.errorf(root, "language", "missing language")
		}
		return c
	}
	if !c.Language.Supported() {
		return c
	}
	if slotsN != nil {
		p.slots(c, slotsN)
	}
	if lexN != nil {
		p.lexicon(c, lexN)
	} else if c.Language == Chinese {
		p.errorf(root, "lexicon", "zh contexts need a lexicon of pinyin")
	}
	if intentsN == nil {
		if root.Kind == yaml.MappingNode {
			p.errorf(root, "intents", "missing intents")
		}
		return c
	}
	p.intents(c, intentsN)
	if wakeN != nil {
		p.wake(c, wakeN)
	}
	if pronN != nil {
		p.pronounce(c, pronN)
	}
	return c
}

// maxSaysAs bounds a pronounce entry: its forms and each form's length.
const (
	maxSaysAs    = 4
	maxSaysAsLen = 100
)

// pronounce reads the pronounce field: word → text the language's speech
// synthesiser reads as the word is said, or a list of such texts (each an
// accepted pronunciation). Whether each key is a word of the context is
// checked once the context is compiled (Parse).
func (p *parser) pronounce(c *Context, n *yaml.Node) {
	if c.Language == Chinese {
		p.errorf(n, "pronounce", "zh words are pronounced through the lexicon's pinyin; pronounce is for the other languages")
		return
	}
	c.SaysAs = map[string][]string{}
	p.pronKeys = map[string]*yaml.Node{}
	keys, vals := p.mapping(n, "pronounce")
	for i, k := range keys {
		f := "pronounce." + k.Value
		ws := words(c.Language, k.Value)
		if len(ws) != 1 {
			p.errorf(k, f, "key %q must be one word", k.Value)
			continue
		}
		if _, dup := c.SaysAs[ws[0]]; dup {
			p.errorf(k, f, "word %q given twice", ws[0])
			continue
		}
		var forms []*yaml.Node
		switch vals[i].Kind {
		case yaml.SequenceNode:
			forms = vals[i].Content
			if len(forms) == 0 || len(forms) > maxSaysAs {
				p.errorf(vals[i], f, "want 1 to %d pronunciations, got %d", maxSaysAs, len(forms))
				continue
			}
		default:
			forms = []*yaml.Node{vals[i]}
		}
		var says []string
		for _, x := range forms {
			s, ok := p.str(x, f)
			if !ok {
				continue
			}
			s = strings.Join(strings.Fields(s), " ")
			if len(words(c.Language, s)) == 0 || len(s) > maxSaysAsLen {
				p.errorf(x, f, "want a text of 1 to %d bytes that the speech synthesiser reads", maxSaysAsLen)
				continue
			}
			if i := strings.IndexFunc(s, func(r rune) bool { return unicode.IsPunct(r) && !isApostrophe(r) && r != '-' }); i >= 0 {
				p.errorf(x, f, "%q: no punctuation but apostrophes and hyphens in a pronunciation (the synthesiser would pause or end a sentence there)", s)
				continue
			}
			says = append(says, s)
		}
		if len(says) == len(forms) {
			c.SaysAs[ws[0]] = says
			p.pronKeys[ws[0]] = k
		}
	}
}

// template reads and parses one template string, reporting errors
// against field.
func (p *parser) template(c *Context, n *yaml.Node, field string) (string, []item, bool) {
	s, ok := p.str(n, field)
	if !ok {
		return "", nil, false
	}
	tree, err := parseTemplate(c.Language, s)
	if err != nil {
		p.errorf(n, field, "%v in %q", err, s)
		return "", nil, false
	}
	return s, tree, true
}

// wake reads the wake phrase templates: words, alternatives and optional
// parts, no slots.
func (p *parser) wake(c *Context, n *yaml.Node) {
	if n.Kind != yaml.SequenceNode || len(n.Content) == 0 {
		p.errorf(n, "wake", "want a non-empty list of templates")
		return
	}
	if c.Intent(WakeIntent) != nil {
		p.errorf(n, "wake", "intent name %q is reserved for the wake phrase alone", WakeIntent)
	}
	for j, t := range n.Content {
		tf := fmt.Sprintf("wake[%d]", j)
		s, tree, ok := p.template(c, t, tf)
		if !ok {
			continue
		}
		slots := false
		slotRefs(tree, func(*item) { slots = true })
		if slots {
			p.errorf(t, tf, "a wake phrase takes no slots: %q", s)
			continue
		}
		if c.Language == Chinese {
			templateWords(tree, func(w string) {
				if _, ok := c.Lexicon[w]; !ok {
					p.errorf(t, tf, "word %q has no pinyin in the lexicon", w)
				}
			})
		}
		c.Wake = append(c.Wake, s)
		c.wakeTrees = append(c.wakeTrees, tree)
	}
}

func (p *parser) intents(c *Context, n *yaml.Node) {
	keys, vals := p.mapping(n, "intents")
	if n.Kind == yaml.MappingNode && len(keys) == 0 {
		p.errorf(n, "intents", "no intents")
	}
	for i, k := range keys {
		field := "intents." + k.Value
		if !isIdent(k.Value) {
			p.errorf(k, field, "bad intent name %q (letters, digits and _)", k.Value)
			continue
		}
		in := &Intent{Name: k.Value, slotList: map[string][]string{}}
		fk, fv := p.mapping(vals[i], field)
		var tn *yaml.Node
		for j, f := range fk {
			switch f.Value {
			case "templates":
				tn = fv[j]
			case "response":
				if s, ok := p.str(fv[j], field+".response"); ok {
					if err := checkPlaceholders(s); err != nil {
						p.errorf(fv[j], field+".response", "%v", err)
					}
					in.Response = s
				}
			default:
				p.errorf(f, field+"."+f.Value, "unknown field %q (want templates, response)", f.Value)
			}
		}
		if vals[i].Kind != yaml.MappingNode {
			continue
		}
		if tn == nil {
			p.errorf(vals[i], field+".templates", "missing templates")
			continue
		}
		if tn.Kind != yaml.SequenceNode || len(tn.Content) == 0 {
			p.errorf(tn, field+".templates", "want a non-empty list of templates")
			continue
		}
		for j, t := range tn.Content {
			tf := fmt.Sprintf("%s.templates[%d]", field, j)
			s, tree, ok := p.template(c, t, tf)
			if !ok {
				continue
			}
			p.checkTemplate(c, in, t, tf, tree)
			in.Templates = append(in.Templates, s)
			in.trees = append(in.trees, tree)
		}
		for name := range in.slotList {
			in.SlotNames = append(in.SlotNames, name)
		}
		sort.Strings(in.SlotNames)
		c.intentIdx[in.Name] = len(c.Intents)
		c.Intents = append(c.Intents, in)
	}
}

// checkTemplate checks slot references and, for zh, the lexicon.
func (p *parser) checkTemplate(c *Context, in *Intent, n *yaml.Node, field string, tree []item) {
	slotRefs(tree, func(it *item) {
		if _, ok := c.Slots[it.list]; !ok {
			p.errorf(n, field, "unknown slot list %q at offset %d", it.list, it.pos)
			return
		}
		for _, l := range in.slotList[it.name] {
			if l == it.list {
				return
			}
		}
		in.slotList[it.name] = append(in.slotList[it.name], it.list)
	})
	if c.Language == Chinese {
		templateWords(tree, func(w string) {
			if _, ok := c.Lexicon[w]; !ok {
				p.errorf(n, field, "word %q has no pinyin in the lexicon", w)
			}
		})
	}
}

func (p *parser) slots(c *Context, n *yaml.Node) {
	keys, vals := p.mapping(n, "slots")
	for i, k := range keys {
		field := "slots." + k.Value
		if !isIdent(k.Value) {
			p.errorf(k, field, "bad slot list name %q (letters, digits and _)", k.Value)
			continue
		}
		l := &SlotList{Name: k.Value}
		v := vals[i]
		switch v.Kind {
		case yaml.MappingNode:
			p.rangeList(c, l, v, field)
		case yaml.SequenceNode:
			p.phraseList(c, l, v, field)
		default:
			p.errorf(v, field, "want a list of phrases or a range {from, to, step}, got %s", kindName(v))
		}
		if len(l.Values) > 0 {
			c.Slots[l.Name] = l
		}
	}
}

func (p *parser) rangeList(c *Context, l *SlotList, n *yaml.Node, field string) {
	r := &Range{Step: 1}
	var seen = map[string]bool{}
	keys, vals := p.mapping(n, field)
	ok := true
	for i, k := range keys {
		f := field + "." + k.Value
		var dst *int
		switch k.Value {
		case "from":
			dst = &r.From
		case "to":
			dst = &r.To
		case "step":
			dst = &r.Step
		default:
			p.errorf(k, f, "unknown field %q (want from, to, step)", k.Value)
			ok = false
			continue
		}
		seen[k.Value] = true
		v, good := p.integer(vals[i], f)
		*dst = v
		ok = ok && good
	}
	for _, k := range []string{"from", "to"} {
		if !seen[k] {
			p.errorf(n, field+"."+k, "missing %s", k)
			ok = false
		}
	}
	if !ok {
		return
	}
	switch {
	case r.From < 0 || r.To > MaxNumber:
		p.errorf(n, field, "bad range %d..%d: numbers are spoken for 0..%d", r.From, r.To, MaxNumber)
	case r.From > r.To:
		p.errorf(n, field, "bad range: from %d is above to %d", r.From, r.To)
	case r.Step <= 0:
		p.errorf(n, field+".step", "bad range: step %d must be positive", r.Step)
	default:
		l.Range = r
		for v := r.From; v <= r.To; v += r.Step {
			vs := numberVariants(c.Language, v)
			l.Values = append(l.Values, SlotValue{In: vs, Out: v, Say: vs[0]})
		}
	}
}

func (p *parser) phraseList(c *Context, l *SlotList, n *yaml.Node, field string) {
	if len(n.Content) == 0 {
		p.errorf(n, field, "empty slot list")
		return
	}
	owner := map[string]any{} // matching key of a phrase → value
	for i, e := range n.Content {
		f := fmt.Sprintf("%s[%d]", field, i)
		var v SlotValue
		switch e.Kind {
		case yaml.ScalarNode:
			s, ok := p.str(e, f)
			if !ok {
				continue
			}
			v = SlotValue{In: []string{s}, Out: s}
		case yaml.MappingNode:
			keys, vals := p.mapping(e, f)
			hasOut := false
			for j, k := range keys {
				kf := f + "." + k.Value
				switch k.Value {
				case "in":
					switch vals[j].Kind {
					case yaml.SequenceNode:
						if len(vals[j].Content) == 0 {
							p.errorf(vals[j], kf, "empty list of phrases")
						}
						for _, x := range vals[j].Content {
							if s, ok := p.str(x, kf); ok {
								v.In = append(v.In, s)
							}
						}
					default:
						if s, ok := p.str(vals[j], kf); ok {
							v.In = append(v.In, s)
						}
					}
				case "out":
					o := vals[j]
					if o.Kind != yaml.ScalarNode || o.Tag == "!!null" || o.Value == "" {
						p.errorf(o, kf, "want a string or integer value")
						continue
					}
					hasOut = true
					if o.Tag == "!!int" {
						iv, err := strconv.Atoi(o.Value)
						if err != nil {
							p.errorf(o, kf, "bad integer: %v", err)
							continue
						}
						v.Out = iv
					} else {
						v.Out = o.Value
					}
				case "say":
					if s, ok := p.str(vals[j], kf); ok {
						v.Say = s
					}
				default:
					p.errorf(k, kf, "unknown field %q (want in, out, say)", k.Value)
				}
			}
			if len(keys) > 0 && len(v.In) == 0 {
				p.errorf(e, f+".in", "missing phrases (in)")
				continue
			}
			if len(keys) > 0 && !hasOut {
				p.errorf(e, f+".out", "missing value (out)")
				continue
			}
		default:
			p.errorf(e, f, "want a phrase or {in, out}, got %s", kindName(e))
			continue
		}
		if len(v.In) == 0 {
			continue
		}
		good := true
		for _, ph := range v.In {
			ws := words(c.Language, ph)
			if len(ws) == 0 {
				p.errorf(e, f, "phrase %q has no words", ph)
				good = false
				continue
			}
			key := strings.Join(foldAll(c.Language, ws), " ")
			if prev, ok := owner[key]; ok && prev != v.Out {
				p.errorf(e, f, "phrase %q already means %v", ph, prev)
				good = false
				continue
			}
			owner[key] = v.Out
		}
		if !good {
			continue
		}
		if v.Say == "" {
			v.Say = v.In[0]
		}
		v.line = e.Line
		l.Values = append(l.Values, v)
	}
}

func foldAll(lang Language, ws []string) []string {
	out := make([]string, len(ws))
	for i, w := range ws {
		out[i] = foldWord(lang, w)
	}
	return out
}

// lexicon reads the zh pinyin lexicon and checks slot phrases against it.
func (p *parser) lexicon(c *Context, n *yaml.Node) {
	if c.Language != Chinese {
		p.errorf(n, "lexicon", "a lexicon is only for zh contexts")
		return
	}
	c.Lexicon = map[string]string{}
	keys, vals := p.mapping(n, "lexicon")
	for i, k := range keys {
		f := "lexicon." + k.Value
		s, ok := p.str(vals[i], f)
		if !ok {
			continue
		}
		ws := words(Chinese, k.Value)
		if len(ws) != 1 {
			p.errorf(k, f, "lexicon key %q must be one word", k.Value)
			continue
		}
		if err := checkPinyin(ws[0], s); err != nil {
			p.errorf(vals[i], f, "%v", err)
			continue
		}
		c.Lexicon[ws[0]] = strings.Join(strings.Fields(s), " ")
	}
	for _, name := range sortedKeys(c.Slots) {
		l := c.Slots[name]
		if l.Range != nil {
			continue
		}
		for i, v := range l.Values {
			for _, ph := range v.In {
				for _, w := range words(Chinese, ph) {
					if _, ok := c.Lexicon[w]; !ok {
						p.errs = append(p.errs, &Error{File: p.file, Line: v.line, Field: fmt.Sprintf("slots.%s[%d]", name, i),
							Msg: fmt.Sprintf("word %q of phrase %q has no pinyin in the lexicon", w, ph)})
					}
				}
			}
		}
	}
}

// checkPinyin checks syllables like "zhuang4" "lv3" "nü3": letters then a
// tone 1..5, one syllable per hanzi of word.
func checkPinyin(word, py string) error {
	syl := strings.Fields(py)
	if len(syl) == 0 {
		return fmt.Errorf("empty pinyin")
	}
	for _, s := range syl {
		body := strings.TrimRight(s, "12345")
		if len(s)-len(body) != 1 || body == "" {
			return fmt.Errorf("pinyin syllable %q needs one tone number 1..5", s)
		}
		for _, r := range body {
			if !(r >= 'a' && r <= 'z' || r == 'ü' || r == ':') {
				return fmt.Errorf("pinyin syllable %q: want lower-case letters, ü or v, then the tone", s)
			}
		}
	}
	han := 0
	allHan := true
	for _, r := range word {
		if isHan(r) {
			han++
		} else {
			allHan = false
		}
	}
	if allHan && han != len(syl) {
		return fmt.Errorf("%q has %d characters but %d pinyin syllables", word, han, len(syl))
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

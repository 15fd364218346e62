package intent

import (
	"math"
	"math/rand/v2"
	"strings"
)

// Sentence is one expansion of a template.
type Sentence struct {
	Text   string   // the words joined as the language writes them
	Words  []string // graph words
	Intent string
	Slots  map[string]any // nil when none
}

// Sentences enumerates the sentences of the context, for synthesising
// training and test speech. With limit > 0 at most limit sentences are
// returned, taken round-robin across intents so every intent is
// represented; limit <= 0 returns all of them (see Count). Each path of
// the graph is one sentence, in template order.
func (c *Context) Sentences(limit int) []Sentence {
	per := make([][]Sentence, len(c.Intents))
	for i, in := range c.Intents {
		per[i] = c.IntentSentences(in.Name, limit)
	}
	var out []Sentence
	for k := 0; ; k++ {
		added := false
		for i := range per {
			if k < len(per[i]) {
				if limit > 0 && len(out) >= limit {
					return out
				}
				out = append(out, per[i][k])
				added = true
			}
		}
		if !added {
			return out
		}
	}
}

// IntentSentences enumerates the sentences of one intent, at most limit
// when limit > 0. WakeIntent gives the wake phrases (when the context has
// no intent of that name).
func (c *Context) IntentSentences(intent string, limit int) []Sentence {
	var trees [][]item
	if in := c.Intent(intent); in != nil {
		trees = in.trees
	} else if intent == WakeIntent {
		trees = c.wakeTrees
	}
	if len(trees) == 0 {
		return nil
	}
	var out []Sentence
	var ws []string
	var outs []*Output
	emit := func() bool {
		s := Sentence{Words: append([]string(nil), ws...), Intent: intent}
		s.Text = join(c.Language, s.Words)
		if len(outs) > 0 {
			s.Slots = make(map[string]any, len(outs))
			for _, o := range outs {
				s.Slots[o.Slot] = o.Value
			}
		}
		out = append(out, s)
		return limit <= 0 || len(out) < limit
	}
	var expand func(seq []item, i int, k func() bool) bool
	expand = func(seq []item, i int, k func() bool) bool {
		if i == len(seq) {
			return k()
		}
		it := &seq[i]
		rest := func() bool { return expand(seq, i+1, k) }
		switch it.kind {
		case itemWord:
			n := len(ws)
			ws = append(ws, it.words...)
			ok := rest()
			ws = ws[:n]
			return ok
		case itemAlt, itemOpt:
			if it.kind == itemOpt && !rest() {
				return false
			}
			for _, br := range it.branches {
				if !expand(br, 0, rest) {
					return false
				}
			}
			return true
		case itemSlot:
			for _, ph := range c.phrases(it.list) {
				n := len(ws)
				ws = append(ws, ph.words...)
				outs = append(outs, &Output{Slot: it.name, Value: ph.value})
				ok := rest()
				ws, outs = ws[:n], outs[:len(outs)-1]
				if !ok {
					return false
				}
			}
			return true
		}
		return true
	}
	for _, tree := range trees {
		if !expand(tree, 0, emit) {
			break
		}
	}
	return out
}

// Count is the number of sentences of the context (paths of the graph),
// math.MaxInt when larger.
func (c *Context) Count() int {
	n := 0
	for _, in := range c.Intents {
		n = addSat(n, c.IntentCount(in.Name))
	}
	return n
}

// IntentCount is the number of sentences of one intent.
func (c *Context) IntentCount(intent string) int {
	in := c.Intent(intent)
	if in == nil {
		return 0
	}
	n := 0
	for _, tree := range in.trees {
		n = addSat(n, c.count(tree))
	}
	return n
}

func (c *Context) count(seq []item) int {
	n := 1
	for i := range seq {
		it := &seq[i]
		k := 1
		switch it.kind {
		case itemAlt, itemOpt:
			k = 0
			if it.kind == itemOpt {
				k = 1
			}
			for _, br := range it.branches {
				k = addSat(k, c.count(br))
			}
		case itemSlot:
			k = len(c.phrases(it.list))
		}
		n = mulSat(n, k)
	}
	return n
}

func addSat(a, b int) int {
	if a > math.MaxInt-b {
		return math.MaxInt
	}
	return a + b
}

func mulSat(a, b int) int {
	if a != 0 && b > math.MaxInt/a {
		return math.MaxInt
	}
	return a * b
}

// phrase is one distinct way to say a slot value.
type phrase struct {
	words []string
	value any
	index int // value index in the list
}

// phrases lists the distinct (words, value) pairs of a slot list, the
// sub-paths its references compile to.
func (c *Context) phrases(list string) []phrase {
	l := c.Slots[list]
	if l == nil {
		return nil
	}
	var ps []phrase
	seen := map[string]bool{}
	for vi, v := range l.Values {
		for _, in := range v.In {
			ws := words(c.Language, in)
			key := strings.Join(ws, " ") + "\x00" + string(rune(vi))
			if seen[key] {
				continue
			}
			seen[key] = true
			ps = append(ps, phrase{ws, v.Out, vi})
		}
	}
	return ps
}

// RandomSentence draws one sentence of the context: an intent, then one
// of its templates, uniformly; an optional part is said with probability
// 1/2, an alternative and a slot phrase are chosen uniformly. For
// synthesising test speech from contexts too large to enumerate (a
// template with several optional slots in any order has millions of
// sentences). The draw is not uniform over sentences: an intent with few
// sentences comes up as often as one with many. ok is false when the
// context has no intents (Parse accepts none without one).
func (c *Context) RandomSentence(rng *rand.Rand) (s Sentence, ok bool) {
	if len(c.Intents) == 0 {
		return Sentence{}, false
	}
	in := c.Intents[rng.IntN(len(c.Intents))]
	if len(in.trees) == 0 {
		return Sentence{}, false
	}
	s.Intent = in.Name
	var walk func(seq []item)
	walk = func(seq []item) {
		for i := range seq {
			it := &seq[i]
			switch it.kind {
			case itemWord:
				s.Words = append(s.Words, it.words...)
			case itemOpt:
				if rng.IntN(2) == 0 {
					walk(it.branches[rng.IntN(len(it.branches))])
				}
			case itemAlt:
				walk(it.branches[rng.IntN(len(it.branches))])
			case itemSlot:
				ps := c.phrases(it.list)
				if len(ps) == 0 {
					continue
				}
				p := ps[rng.IntN(len(ps))]
				s.Words = append(s.Words, p.words...)
				if s.Slots == nil {
					s.Slots = map[string]any{}
				}
				s.Slots[it.name] = p.value
			}
		}
	}
	walk(in.trees[rng.IntN(len(in.trees))])
	s.Text = join(c.Language, s.Words)
	return s, len(s.Words) > 0
}

package intent

import (
	"sort"
	"sync"
	"unicode/utf8"
)

// Result is a recognised intent and the slot values its sentence filled.
type Result struct {
	Intent string
	Slots  map[string]any // slot name → string or int; nil when none
}

// Match recognises text as a sentence of the context. Text is normalised
// as the graph words are: case, punctuation, hyphens, apostrophes and
// accents do not matter, nor extra spaces; digits stand for the number
// they spell ("21" matches "twenty one"). Chinese text is matched
// character by character, so spaces between words are optional.
//
// When a sentence has several readings, the first found wins (see
// Graph): sentences of a well-written context have one.
func (c *Context) Match(text string) (Result, bool) {
	return c.m.match(c.Language, text)
}

// MatchWake matches text against the WakeGraph: the wake phrase then a
// sentence ("hey car, what's my range" is GetRange), or the wake phrase
// alone (WakeIntent). False when the context has no wake phrase.
func (c *Context) MatchWake(text string) (Result, bool) {
	if c.WakeGraph() == nil {
		return Result{}, false
	}
	return c.wm.match(c.Language, text)
}

// matcher is the graph compiled for matching: words are interned, Chinese
// words split into characters, arcs sorted by word.
type matcher struct {
	ids    map[string]int32 // folded word or character → id
	nodes  []mnode
	outs   []Output
	finals []string // node → intent ("" when not final)
	start  int32
	pool   sync.Pool
}

type mnode struct {
	words []warc // sorted by word
	eps   []earc
}

type warc struct{ word, to int32 }
type earc struct{ to, out int32 }

func newMatcher(g *Graph) *matcher {
	m := &matcher{ids: map[string]int32{}, start: int32(g.Start)}
	m.nodes = make([]mnode, len(g.Nodes))
	m.finals = make([]string, len(g.Nodes))
	id := func(w string) int32 {
		if i, ok := m.ids[w]; ok {
			return i
		}
		i := int32(len(m.ids))
		m.ids[w] = i
		return i
	}
	for i, n := range g.Nodes {
		m.finals[i] = n.Intent
		for _, a := range n.Arcs {
			if a.Word == "" {
				o := int32(-1)
				if a.Out != nil {
					o = int32(len(m.outs))
					m.outs = append(m.outs, *a.Out)
				}
				m.nodes[i].eps = append(m.nodes[i].eps, earc{int32(a.To), o})
				continue
			}
			key := foldWord(g.Language, a.Word)
			if g.Language != Chinese {
				m.nodes[i].words = append(m.nodes[i].words, warc{id(key), int32(a.To)})
				continue
			}
			// One arc per character, through new nodes.
			from := i
			rs := []rune(key)
			for j, r := range rs {
				to := a.To
				if j < len(rs)-1 {
					to = len(m.nodes)
					m.nodes = append(m.nodes, mnode{})
					m.finals = append(m.finals, "")
				}
				m.nodes[from].words = append(m.nodes[from].words, warc{id(string(r)), int32(to)})
				from = to
			}
		}
	}
	for i := range m.nodes {
		ws := m.nodes[i].words
		sort.SliceStable(ws, func(a, b int) bool { return ws[a].word < ws[b].word })
	}
	m.pool.New = func() any {
		return &scratch{stamp: make([]uint32, len(m.nodes))}
	}
	return m
}

type token struct{ node, hist int32 }

type hist struct{ out, prev int32 }

type scratch struct {
	buf      []byte
	toks     []int32
	cur, nxt []token
	hist     []hist
	stamp    []uint32
	gen      uint32
	unknown  bool
}

func (s *scratch) next() uint32 {
	s.gen++
	if s.gen == 0 {
		clear(s.stamp)
		s.gen = 1
	}
	return s.gen
}

// tokens turns text into word ids; false when a word is not in the graph.
func (m *matcher) tokens(lang Language, text string, s *scratch) bool {
	s.toks = s.toks[:0]
	s.unknown = false
	emit := func(w []byte) {
		if s.unknown {
			return
		}
		if lang == Chinese {
			for i := 0; i < len(w); {
				if w[i] >= '0' && w[i] <= '9' {
					j := i
					for j < len(w) && w[j] >= '0' && w[j] <= '9' {
						j++
					}
					for _, r := range digitsToHanzi(string(w[i:j])) {
						m.add(s, utf8.AppendRune(nil, r))
					}
					i = j
					continue
				}
				_, n := utf8.DecodeRune(w[i:])
				m.add(s, w[i:i+n])
				i += n
			}
			return
		}
		if id, ok := m.ids[string(w)]; ok {
			s.toks = append(s.toks, id)
			return
		}
		if n, ok := atoi(w); ok {
			if ws, err := Number(lang, n); err == nil {
				var tmp []byte
				tokenize(lang, ws, true, tmp, func(w []byte) { m.add(s, w) })
				return
			}
		}
		s.unknown = true
	}
	s.buf = tokenize(lang, text, true, s.buf, emit)
	return !s.unknown && len(s.toks) > 0
}

func (m *matcher) add(s *scratch, w []byte) {
	if id, ok := m.ids[string(w)]; ok {
		s.toks = append(s.toks, id)
	} else {
		s.unknown = true
	}
}

func atoi(b []byte) (int, bool) {
	if len(b) == 0 || len(b) > 6 {
		return 0, false
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func (m *matcher) match(lang Language, text string) (Result, bool) {
	s := m.pool.Get().(*scratch)
	defer m.pool.Put(s)
	if !m.tokens(lang, text, s) {
		return Result{}, false
	}
	s.hist = s.hist[:0]
	s.cur = m.closure(s, append(s.cur[:0], token{m.start, -1}), s.next())
	for _, w := range s.toks {
		gen := s.next()
		nxt := s.nxt[:0]
		for _, t := range s.cur {
			arcs := m.nodes[t.node].words
			// First arc with word >= w.
			lo, hi := 0, len(arcs)
			for lo < hi {
				mid := int(uint(lo+hi) >> 1)
				if arcs[mid].word < w {
					lo = mid + 1
				} else {
					hi = mid
				}
			}
			for ; lo < len(arcs) && arcs[lo].word == w; lo++ {
				to := arcs[lo].to
				if s.stamp[to] != gen {
					s.stamp[to] = gen
					nxt = append(nxt, token{to, t.hist})
				}
			}
		}
		if len(nxt) == 0 {
			s.nxt = nxt
			return Result{}, false
		}
		s.nxt = s.cur
		s.cur = m.closure(s, nxt, gen)
	}
	for _, t := range s.cur {
		if in := m.finals[t.node]; in != "" {
			r := Result{Intent: in}
			n := 0
			for h := t.hist; h >= 0; h = s.hist[h].prev {
				n++
			}
			if n > 0 {
				r.Slots = make(map[string]any, n)
				for h := t.hist; h >= 0; h = s.hist[h].prev {
					o := &m.outs[s.hist[h].out]
					r.Slots[o.Slot] = o.Value
				}
			}
			return r, true
		}
	}
	return Result{}, false
}

// closure adds to toks, in order, the nodes reachable by epsilon arcs;
// toks' nodes are already stamped gen.
func (m *matcher) closure(s *scratch, toks []token, gen uint32) []token {
	for _, t := range toks {
		s.stamp[t.node] = gen
	}
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		for _, e := range m.nodes[t.node].eps {
			if s.stamp[e.to] == gen {
				continue
			}
			s.stamp[e.to] = gen
			h := t.hist
			if e.out >= 0 {
				s.hist = append(s.hist, hist{e.out, h})
				h = int32(len(s.hist) - 1)
			}
			toks = append(toks, token{e.to, h})
		}
	}
	return toks
}

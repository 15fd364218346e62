package intent

import "sort"

// Graph is the word network of a context: a finite-state acceptor whose
// arcs carry words, for a decoder to constrain recognition with and for
// Match to walk. It has no cycles.
//
// A path from Start to a final node spells one sentence of the context.
// Arcs with an empty Word are epsilon arcs (taken without consuming a
// word). A slot value is a sub-path spelling its phrase, closed by an
// epsilon arc whose Out says which slot takes which value; the intent is
// the one of the final node reached. Templates of all intents start at
// Start; each intent has one final node.
type Graph struct {
	Language Language
	Start    int
	Nodes    []Node
	// WakeNodes: in a WakeGraph, the nodes below this index belong to the
	// wake phrase (a word arc ending on one is a word of the wake
	// phrase); 0 in a context's Graph.
	WakeNodes int
}

// Node is a state of the graph.
type Node struct {
	Arcs   []Arc
	Intent string // non-empty on final nodes: the intent recognised
}

// Arc is a transition of the graph.
type Arc struct {
	To   int
	Word string  // graph word; "" for an epsilon arc
	Out  *Output // non-nil on the epsilon arc that ends a slot value
}

// Output is a slot value assigned by a path.
type Output struct {
	Slot  string // slot name in the result (renamed with {list:name})
	Value any    // string or int
}

// Finals returns the final nodes, in intent order.
func (g *Graph) Finals() []int {
	var f []int
	for i := range g.Nodes {
		if g.Nodes[i].Intent != "" {
			f = append(f, i)
		}
	}
	return f
}

// NumArcs is the number of arcs of the graph.
func (g *Graph) NumArcs() int {
	n := 0
	for i := range g.Nodes {
		n += len(g.Nodes[i].Arcs)
	}
	return n
}

// Graph returns the compiled word graph. It is shared: do not modify it.
func (c *Context) Graph() *Graph { return c.graph }

// WakeIntent is the intent of the wake phrase said alone.
const WakeIntent = "Wake"

// WakeGraph is the word graph for listening with a wake phrase: the wake
// phrase, then either nothing (intent WakeIntent: the speaker waits to be
// asked) or any sentence of the context. Nil when the context has no
// wake phrase. Shared: do not modify it.
func (c *Context) WakeGraph() *Graph {
	c.wakeOnce.Do(c.buildWake)
	return c.wakeGraph
}

// buildWake compiles the wake graph and its matcher, on first use: most
// listeners never need it, and it repeats the whole context graph.
func (c *Context) buildWake() {
	if len(c.wakeTrees) == 0 {
		return
	}
	w := &builder{c: c, g: &Graph{Language: c.Language}}
	w.g.Start = w.node()
	heard := w.node() // the wake phrase was said
	for _, tree := range c.wakeTrees {
		w.eps(w.seq(tree, w.g.Start), heard, nil)
	}
	w.g.WakeNodes = len(w.g.Nodes)
	alone := w.node()
	w.g.Nodes[alone].Intent = WakeIntent
	w.eps(heard, alone, nil)
	for _, in := range c.Intents {
		final := w.node()
		w.g.Nodes[final].Intent = in.Name
		for _, tree := range in.trees {
			w.eps(w.seq(tree, heard), final, nil)
		}
	}
	c.wakeGraph = w.g
	c.wm = newMatcher(c.wakeGraph)
}

// Intent returns the intent named name, or nil.
func (c *Context) Intent(name string) *Intent {
	if i, ok := c.intentIdx[name]; ok {
		return c.Intents[i]
	}
	return nil
}

// compile builds the graph, the matcher and the pinyin table.
func (c *Context) compile() {
	b := &builder{c: c, g: &Graph{Language: c.Language}}
	b.g.Start = b.node()
	for _, in := range c.Intents {
		final := b.node()
		b.g.Nodes[final].Intent = in.Name
		for _, tree := range in.trees {
			end := b.seq(tree, b.g.Start)
			b.eps(end, final, nil)
		}
	}
	c.graph = b.g
	c.m = newMatcher(c.graph)
	c.pinyin = map[string]string{}
	for w, py := range c.Lexicon {
		c.pinyin[w] = py
	}
	if c.Language == Chinese {
		for _, l := range c.Slots {
			if l.Range == nil {
				continue
			}
			for _, v := range l.Values {
				for _, ph := range v.In {
					if _, ok := c.pinyin[ph]; !ok {
						c.pinyin[ph] = hanziNumberPinyin(ph)
					}
				}
			}
		}
	}
	for w := range c.pinyin {
		if n := len([]rune(w)); n > c.maxWord {
			c.maxWord = n
		}
	}
}

type builder struct {
	c *Context
	g *Graph
}

func (b *builder) node() int {
	b.g.Nodes = append(b.g.Nodes, Node{})
	return len(b.g.Nodes) - 1
}

func (b *builder) eps(from, to int, out *Output) {
	b.g.Nodes[from].Arcs = append(b.g.Nodes[from].Arcs, Arc{To: to, Out: out})
}

func (b *builder) word(from int, w string) int {
	to := b.node()
	b.g.Nodes[from].Arcs = append(b.g.Nodes[from].Arcs, Arc{To: to, Word: w})
	return to
}

// seq builds the items from node s and returns the end node. Every end
// node returned is fresh (only reachable through the items), so an
// optional part can be skipped with an epsilon arc to it.
func (b *builder) seq(items []item, s int) int {
	for i := range items {
		s = b.item(&items[i], s)
	}
	return s
}

func (b *builder) item(it *item, s int) int {
	switch it.kind {
	case itemWord:
		for _, w := range it.words {
			s = b.word(s, w)
		}
		return s
	case itemAlt, itemOpt:
		end := b.node()
		for _, br := range it.branches {
			b.eps(b.seq(br, s), end, nil)
		}
		if it.kind == itemOpt {
			b.eps(s, end, nil)
		}
		return end
	case itemSlot:
		return b.slot(b.c.Slots[it.list], it.name, s)
	}
	panic("intent: bad item")
}

// slot builds a trie of the phrases of l from s; each phrase ends with an
// epsilon arc carrying its value to the returned end node.
func (b *builder) slot(l *SlotList, name string, s int) int {
	end := b.node()
	type edge struct {
		from int
		word string
	}
	trie := map[edge]int{}
	done := map[[2]int]bool{} // (trie node, value index) already closed
	for vi := range l.Values {
		v := &l.Values[vi]
		out := &Output{Slot: name, Value: v.Out}
		for _, ph := range v.In {
			n := s
			for _, w := range words(b.c.Language, ph) {
				e := edge{n, w}
				next, ok := trie[e]
				if !ok {
					next = b.word(n, w)
					trie[e] = next
				}
				n = next
			}
			if !done[[2]int{n, vi}] {
				done[[2]int{n, vi}] = true
				b.eps(n, end, out)
			}
		}
	}
	return end
}

// Vocabulary returns the words of the graph and of the wake phrase,
// sorted.
func (c *Context) Vocabulary() []string {
	set := map[string]bool{}
	for _, g := range []*Graph{c.graph, c.WakeGraph()} {
		if g == nil {
			continue
		}
		for _, n := range g.Nodes {
			for _, a := range n.Arcs {
				if a.Word != "" {
					set[a.Word] = true
				}
			}
		}
	}
	ws := make([]string, 0, len(set))
	for w := range set {
		ws = append(ws, w)
	}
	sort.Strings(ws)
	return ws
}

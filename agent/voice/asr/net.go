package asr

import (
	"fmt"

	"github.com/evedge/evedge/agent/voice/intent"
)

// Net is a context's phone network: the word graph with every word arc
// expanded into a chain of HMM states, one class each, with self-loops, so
// that a phone lasts at least its number of states. It is read-only once
// built and shared by decoders.
type Net struct {
	g       *intent.Graph
	start   int
	order   []int32   // nodes in topological order (epsilon arcs go forward)
	eps     [][]epsIn // per node: incoming epsilon arcs
	chains  []chain
	phone   []Class // per state
	first   []bool  // per state: enters from its chain's from-node
	chainOf []int32 // per state
	finals  []int32
	// extends says, per graph node, whether more words can follow it
	// (a word arc is reachable through epsilon arcs): a sentence whose
	// last word ends on a node that cannot be extended is complete.
	extends []bool
}

type epsIn struct {
	from int32
	out  int32 // index into outs, -1 if none
}

type chain struct {
	from, to int32
	s0, n    int32 // states s0..s0+n-1
	word     string
	isSil    bool
}

// Durations sets the minimum duration, in 10 ms frames, of each phone.
type Durations struct {
	Vowel, Consonant, Silence int
}

// DefaultDurations suits speech from slow to fast (espeak -s 80..260).
var DefaultDurations = Durations{Vowel: 3, Consonant: 2, Silence: 3}

// NewNet expands the graph of c with the lexicon, which must pronounce
// every word of the graph.
func NewNet(c *intent.Context, lex Lexicon, d Durations) (*Net, error) {
	return NewNetGraph(c.Graph(), lex, d)
}

// NewNetGraph expands word graph g (a context's Graph or WakeGraph).
func NewNetGraph(g *intent.Graph, lex Lexicon, d Durations) (*Net, error) {
	if g == nil {
		return nil, fmt.Errorf("asr: no word graph")
	}
	n := &Net{g: g, start: g.Start, eps: make([][]epsIn, len(g.Nodes))}
	order, err := topo(g)
	if err != nil {
		return nil, err
	}
	n.order = order
	addChain := func(from, to int, word string, phones []Class, sil bool) {
		ch := chain{from: int32(from), to: int32(to), s0: int32(len(n.phone)), word: word, isSil: sil}
		for _, p := range phones {
			k := d.Consonant
			switch {
			case p == 0:
				k = d.Silence
			case p.IsVowel():
				k = d.Vowel
			}
			for j := 0; j < max(k, 1); j++ {
				n.first = append(n.first, len(n.phone) == int(ch.s0))
				n.phone = append(n.phone, p)
				n.chainOf = append(n.chainOf, int32(len(n.chains)))
			}
		}
		ch.n = int32(len(n.phone)) - ch.s0
		n.chains = append(n.chains, ch)
	}
	hasWordIn := make([]bool, len(g.Nodes))
	hasWordIn[g.Start] = true
	for from := range g.Nodes {
		for ai, a := range g.Nodes[from].Arcs {
			if a.Word == "" {
				n.eps[a.To] = append(n.eps[a.To], epsIn{from: int32(from), out: int32(encodeArc(from, ai))})
				continue
			}
			vs := lex.Variants(a.Word)
			if len(vs) == 0 {
				return nil, fmt.Errorf("asr: no pronunciation for %q", a.Word)
			}
			for _, ph := range vs {
				addChain(from, a.To, a.Word, ph, false)
			}
			hasWordIn[a.To] = true
		}
	}
	for i := range g.Nodes {
		if g.Nodes[i].Intent != "" {
			n.finals = append(n.finals, int32(i))
			hasWordIn[i] = true
		}
	}
	for i, ok := range hasWordIn {
		if ok {
			addChain(i, i, "", []Class{0}, true)
		}
	}
	n.extends = make([]bool, len(g.Nodes))
	for k := len(order) - 1; k >= 0; k-- { // successors first
		v := order[k]
		for _, a := range g.Nodes[v].Arcs {
			if a.Word != "" || n.extends[a.To] {
				n.extends[v] = true
				break
			}
		}
	}
	return n, nil
}

// encodeArc packs a (node, arc index) pair for an epsilon arc.
func encodeArc(node, arc int) int { return node<<12 | arc }

func (n *Net) arcOut(code int32) *intent.Output {
	return n.g.Nodes[code>>12].Arcs[code&0xfff].Out
}

// NumStates is the number of HMM states.
func (n *Net) NumStates() int { return len(n.phone) }

// topo orders the nodes so that every epsilon arc goes forward (the graph
// is acyclic).
func topo(g *intent.Graph) ([]int32, error) {
	indeg := make([]int, len(g.Nodes))
	for i := range g.Nodes {
		if len(g.Nodes[i].Arcs) > 4095 {
			return nil, fmt.Errorf("asr: node %d has %d arcs, the limit is 4095", i, len(g.Nodes[i].Arcs))
		}
		for _, a := range g.Nodes[i].Arcs {
			indeg[a.To]++
		}
	}
	var q, out []int32
	for i, d := range indeg {
		if d == 0 {
			q = append(q, int32(i))
		}
	}
	for len(q) > 0 {
		v := q[len(q)-1]
		q = q[:len(q)-1]
		out = append(out, v)
		for _, a := range g.Nodes[v].Arcs {
			indeg[a.To]--
			if indeg[a.To] == 0 {
				q = append(q, int32(a.To))
			}
		}
	}
	if len(out) != len(g.Nodes) {
		return nil, fmt.Errorf("asr: the word graph has a cycle")
	}
	return out, nil
}

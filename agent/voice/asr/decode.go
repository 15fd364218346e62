package asr

import (
	"math"
	"sort"
)

// Decoding is the outcome of one Viterbi search.
type Decoding struct {
	Final  int // final node reached, -1 when no path
	Words  []string
	Outs   []int32 // epsilon arc codes carrying slot outputs, in order
	Score  float64 // path log-likelihood
	Filler float64 // unconstrained phone loop log-likelihood
	Frames int
	// Complete is true when no sentence of the context extends the best
	// path's words: the speaker cannot go on with this sentence, so a
	// short pause ends it (see assistant's early end of utterance).
	Complete bool
	// WakeConfidence is the confidence (as Confidence) of the frames up
	// to the end of the wake phrase, on a wake graph's path; -Inf when
	// the path has no wake phrase. A short wake phrase forced onto speech
	// that does not start with it is a small share of a long utterance's
	// frames: the whole path's confidence hides it, this does not.
	WakeConfidence float64
}

// Confidence is (Score-Filler)/Frames: 0 when the context explains the
// audio as well as a free phone loop, negative below.
func (d Decoding) Confidence() float64 {
	if d.Frames == 0 || d.Final < 0 {
		return math.Inf(-1)
	}
	return (d.Score - d.Filler) / float64(d.Frames)
}

type histEntry struct {
	item int32 // chain index >= 0, or -(eps code)-1
	prev int32
}

// wakeMark is where a word of the wake phrase ended, for the history
// entry h: the frame (1-based) and the path score minus the filler score
// there. Kept apart from the history (which holds every word end of every
// frame) so that the history stays 8 bytes an entry.
type wakeMark struct {
	h     int32
	frame int32
	gap   float32
}

// Decoder runs Viterbi searches over one Net. It reuses its buffers: after
// the first utterances it allocates only the words of its result. Not safe
// for concurrent use.
type Decoder struct {
	n                *Net
	WordPenalty      float32 // added on entering a word
	cur, old         []float32
	hcur, hold       []int32
	node, nodePrev   []float32
	nodeH, nodeHPrev []int32
	bestChain        []int32
	pool             []histEntry
	wake             []wakeMark
	filler           float64
	frames           int
	// complete's scratch: node sets and visit marks.
	setA, setB []int32
	mark       []uint32
	gen        uint32
}

// NewDecoder prepares a decoder for n.
func NewDecoder(n *Net) *Decoder {
	ns, nn := n.NumStates(), len(n.g.Nodes)
	return &Decoder{n: n,
		cur: make([]float32, ns), old: make([]float32, ns),
		hcur: make([]int32, ns), hold: make([]int32, ns),
		node: make([]float32, nn), nodePrev: make([]float32, nn),
		nodeH: make([]int32, nn), nodeHPrev: make([]int32, nn),
		bestChain: make([]int32, nn),
	}
}

var negInf = float32(math.Inf(-1))

// Reset starts a new utterance.
func (d *Decoder) Reset() {
	for i := range d.cur {
		d.cur[i] = negInf
		d.hcur[i] = -1
	}
	for i := range d.node {
		d.node[i] = negInf
		d.nodeH[i] = -1
	}
	d.pool = d.pool[:0]
	d.wake = d.wake[:0]
	d.node[d.n.start] = 0
	d.epsilon()
	d.filler, d.frames = 0, 0
}

func (d *Decoder) push(item, prev int32) int32 {
	d.pool = append(d.pool, histEntry{item: item, prev: prev})
	return int32(len(d.pool) - 1)
}

func (d *Decoder) pushWord(chain, prev int32, score float32) int32 {
	h := d.push(chain, prev)
	if int(d.n.chains[chain].to) < d.n.g.WakeNodes {
		d.wake = append(d.wake, wakeMark{h: h, frame: int32(d.frames), gap: score - float32(d.filler)})
	}
	return h
}

// epsilon propagates node scores along epsilon arcs, in topological order.
func (d *Decoder) epsilon() {
	n := d.n
	for _, v := range n.order {
		best, bi := d.node[v], -1
		for i, e := range n.eps[v] {
			if s := d.node[e.from]; s > best {
				best, bi = s, i
			}
		}
		if bi < 0 {
			continue
		}
		e := n.eps[v][bi]
		d.node[v] = best
		h := d.nodeH[e.from]
		if n.arcOut(e.out) != nil {
			h = d.push(-e.out-1, h)
		}
		d.nodeH[v] = h
	}
}

// Step consumes one frame of emission log-likelihoods, one per class.
func (d *Decoder) Step(em []float32) {
	n := d.n
	d.frames++
	m := em[0]
	for _, v := range em[1:] {
		m = max(m, v)
	}
	d.filler += float64(m)
	d.old, d.cur = d.cur, d.old
	d.hold, d.hcur = d.hcur, d.hold
	d.nodePrev, d.node = d.node, d.nodePrev
	d.nodeHPrev, d.nodeH = d.nodeH, d.nodeHPrev
	// After the swap d.old holds the previous frame (it was cur).
	for s := range d.cur {
		best, h := d.old[s], d.hold[s]
		if n.first[s] {
			ch := &n.chains[n.chainOf[s]]
			enter := d.nodePrev[ch.from]
			if !ch.isSil {
				enter += d.WordPenalty
			}
			if enter > best {
				best, h = enter, d.nodeHPrev[ch.from]
			}
		} else if p := d.old[s-1]; p > best {
			best, h = p, d.hold[s-1]
		}
		if best == negInf {
			d.cur[s], d.hcur[s] = negInf, -1
			continue
		}
		d.cur[s], d.hcur[s] = best+em[n.phone[s]], h
	}
	for i := range d.node {
		d.node[i] = negInf
		d.bestChain[i] = -1
	}
	for ci := range n.chains {
		ch := &n.chains[ci]
		if s := d.cur[ch.s0+ch.n-1]; s > d.node[ch.to] {
			d.node[ch.to] = s
			d.bestChain[ch.to] = int32(ci)
		}
	}
	for v, ci := range d.bestChain {
		if ci < 0 {
			d.nodeH[v] = -1
			continue
		}
		ch := &n.chains[ci]
		h := d.hcur[ch.s0+ch.n-1]
		if !ch.isSil {
			h = d.pushWord(ci, h, d.cur[ch.s0+ch.n-1])
		}
		d.nodeH[v] = h
	}
	d.epsilon()
}

// Result backtracks the best path ending in a final node.
func (d *Decoder) Result() Decoding {
	n := d.n
	r := Decoding{Final: -1, Filler: d.filler, Frames: d.frames, Score: math.Inf(-1)}
	for _, f := range n.finals {
		if s := float64(d.node[f]); s > r.Score {
			r.Score, r.Final = s, int(f)
		}
	}
	if r.Final < 0 {
		return r
	}
	r.WakeConfidence = math.Inf(-1)
	for h := d.nodeH[r.Final]; h >= 0; h = d.pool[h].prev {
		it := d.pool[h].item
		if it >= 0 {
			if int(n.chains[it].to) < n.g.WakeNodes && math.IsInf(r.WakeConfidence, -1) {
				// The wake phrase's last word; marks are in h order.
				k := sort.Search(len(d.wake), func(i int) bool { return d.wake[i].h >= h })
				if k < len(d.wake) && d.wake[k].h == h && d.wake[k].frame > 0 {
					r.WakeConfidence = float64(d.wake[k].gap) / float64(d.wake[k].frame)
				}
			}
			r.Words = append(r.Words, n.chains[it].word)
		} else {
			r.Outs = append(r.Outs, -it-1)
		}
	}
	reverse(r.Words)
	reverse(r.Outs)
	r.Complete = d.complete(r.Words)
	return r
}

// complete says whether no sentence of the graph goes on from words: it
// follows them from the start along every reading (the graph is not
// deterministic: "stop" may end Cancel and begin "stop heating my seat")
// and checks that no node reached can take another word.
func (d *Decoder) complete(words []string) bool {
	g, n := d.n.g, d.n
	if len(d.mark) != len(g.Nodes) {
		d.mark = make([]uint32, len(g.Nodes))
	}
	closure := func(set []int32) []int32 {
		for i := 0; i < len(set); i++ {
			for _, a := range g.Nodes[set[i]].Arcs {
				if a.Word == "" && d.mark[a.To] != d.gen {
					d.mark[a.To] = d.gen
					set = append(set, int32(a.To))
				}
			}
		}
		return set
	}
	d.gen++
	d.mark[g.Start] = d.gen
	cur := closure(append(d.setA[:0], int32(g.Start)))
	for _, w := range words {
		d.gen++
		next := d.setB[:0]
		for _, v := range cur {
			for _, a := range g.Nodes[v].Arcs {
				if a.Word == w && d.mark[a.To] != d.gen {
					d.mark[a.To] = d.gen
					next = append(next, int32(a.To))
				}
			}
		}
		next = closure(next)
		d.setA, d.setB = next, cur
		cur = next
	}
	for _, v := range cur {
		if n.extends[v] {
			return false
		}
	}
	return true
}

func reverse[T any](s []T) {
	for i, j := 0, len(s)-1; i < j; i, j = i+1, j-1 {
		s[i], s[j] = s[j], s[i]
	}
}

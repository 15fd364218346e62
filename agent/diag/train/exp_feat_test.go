package train

import (
	"encoding/gob"
	"fmt"
	"math"
	"os"
	"slices"
	"testing"
	"time"
)

// TestFeatureTails (EVEDGE_EXP=feat, EVEDGE_FEATNAME): from the cached
// harness runs, each healthy validation run's highest 10-window mean of
// one input, and when the faulty runs of EVEDGE_KIND first pass a
// threshold (EVEDGE_THR) against their rule trip: a development aid.
func TestFeatureTails(t *testing.T) {
	if os.Getenv("EVEDGE_EXP") != "feat" {
		t.Skip("EVEDGE_EXP=feat not set")
	}
	idx := slices.Index(InputNames(), os.Getenv("EVEDGE_FEATNAME"))
	if idx < 0 {
		t.Fatal("EVEDGE_FEATNAME: no such input")
	}
	load := func(name string) []Run {
		f, err := os.Open("/tmp/evexp/" + name + ".gob")
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		var runs []Run
		if err := gob.NewDecoder(f).Decode(&runs); err != nil {
			t.Fatal(err)
		}
		return runs
	}
	smooth := func(r Run) []float64 {
		var out []float64
		var ring []float64
		for _, w := range r.Windows {
			if w.Restart {
				ring = ring[:0]
			}
			ring = append(ring, float64(w.F[idx]))
			if len(ring) > SmoothWindows {
				ring = ring[1:]
			}
			s := 0.0
			for _, v := range ring {
				s += v
			}
			out = append(out, s/float64(len(ring)))
		}
		return out
	}
	var maxes []float64
	for _, r := range load("valid") {
		m := math.Inf(-1)
		for _, v := range smooth(r) {
			m = max(m, v)
		}
		maxes = append(maxes, m)
	}
	slices.Sort(maxes)
	n := len(maxes)
	fmt.Printf("healthy validation runs %d: p50 %.3f p90 %.3f p99 %.3f max %.3f\n", n, maxes[n/2], maxes[n*9/10], maxes[n*99/100], maxes[n-1])
	var thr float64
	fmt.Sscan(os.Getenv("EVEDGE_THR"), &thr)
	db, _ := simQuantizer(t)
	kind := os.Getenv("EVEDGE_KIND")
	for _, set := range []struct {
		name string
		scs  []Scenario
	}{{"validf", scenarios(db, validFaultSeedBase, 0, span{}, 12, span{1, 3, slowEvalHours}, false)}, {"eval", nil}} {
		runs := load(set.name)
		scs := set.scs
		if set.name == "eval" {
			scs = scenarios(db, evalSeedBase, len(runs)-12*len(faultKinds), span{normalRunH, normalRunH, 0}, 12, span{1, 3, slowEvalHours}, false)
		}
		for i, r := range runs {
			sc := scs[i]
			if sc.Fault == nil || string(sc.Fault.Kind) != kind {
				continue
			}
			first := time.Duration(-1)
			s := smooth(r)
			for k, w := range r.Windows {
				if w.End > sc.Fault.Start && s[k] >= thr {
					first = w.End - sc.Fault.Start
					break
				}
			}
			fmt.Printf("%s run %d sev %.2f: first over %.3f at %v, rule %v\n", set.name, i, sc.Fault.Severity, thr, first, r.RuleTrip-sc.Fault.Start)
		}
	}
}

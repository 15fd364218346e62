package train

import (
	"encoding/gob"
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestMotorStat (EVEDGE_EXP=motorstat) reads /tmp/evexp/motor.gob
// (TestMotorSim) and prints, per run, the largest value of a candidate
// motor heat statistic (healthy: anywhere; faulty: after the onset).
func TestMotorStat(t *testing.T) {
	if os.Getenv("EVEDGE_EXP") != "motorstat" {
		t.Skip("EVEDGE_EXP=motorstat not set")
	}
	f, err := os.Open("/tmp/evexp/motor.gob")
	if err != nil {
		t.Fatal(err)
	}
	var runs []motorRun
	if err := gob.NewDecoder(f).Decode(&runs); err != nil {
		t.Fatal(err)
	}
	f.Close()
	env := func(k string, d float64) float64 {
		if v, err := strconv.ParseFloat(os.Getenv(k), 64); err == nil {
			return v
		}
		return d
	}
	if os.Getenv("COOL") != "" {
		coolStat(runs, env)
		return
	}
	win := int(env("W", 15))
	learn := int(env("L", 20))
	minInv := env("MININV", 5)
	minTq := env("MINTQ", 20)
	var healthy []float64
	type res struct {
		kind       string
		i          int
		stat, exK  float64
		onset, lvl float64
	}
	var faulty []res
	for i, r := range runs {
		// statistic: trailing window ratio of motor over coolant to
		// inverter over coolant, against the ratio learnt in the first
		// learn qualifying minutes.
		type q struct{ m, inv float64 }
		var ring []q
		var base []float64
		r0 := math.NaN()
		best, bestK := 0.0, 0.0
		for k, m := range r.Minutes {
			tc := (m.In + m.Out) / 2
			ok := !m.MissMotor && !m.MissInv && !math.IsNaN(tc) && m.N == 60 && math.Sqrt(m.Tq2) >= minTq
			if !ok {
				continue
			}
			ring = append(ring, q{m.Motor - tc, m.Inv - tc})
			if len(ring) > win {
				ring = ring[1:]
			}
			if len(ring) < win {
				continue
			}
			var sm, si float64
			for _, x := range ring {
				sm += x.m
				si += x.inv
			}
			if si < float64(win)*minInv {
				continue
			}
			R := sm / si
			if math.IsNaN(r0) {
				base = append(base, R)
				if len(base) >= learn {
					r0 = slices.Max(base) // the learning's largest ratio
				}
				continue
			}
			stat := R / r0
			exK := (sm - r0*si) / float64(win)
			if r.Kind != "healthy" && k < int(r.Onset.Minutes()) {
				continue
			}
			if stat > best {
				best, bestK = stat, exK
			}
		}
		if r.Kind == "healthy" {
			healthy = append(healthy, best)
		} else {
			faulty = append(faulty, res{r.Kind, i, best, bestK, r.Onset.Minutes(), 0})
		}
	}
	slices.Sort(healthy)
	n := len(healthy)
	fmt.Printf("healthy %d: p50 %.3f p90 %.3f p99 %.3f max %.3f\n", n, healthy[n/2], healthy[n*9/10], healthy[n*99/100], healthy[n-1])
	for _, x := range faulty {
		if x.kind == os.Getenv("EVEDGE_KIND") || os.Getenv("EVEDGE_KIND") == "" {
			fmt.Printf("%s %d onset %.0f stat %.3f excess %.1f K\n", x.kind, x.i, x.onset, x.stat, x.exK)
		}
	}
}

// coolStat: the cold plate's effectiveness ε = (out − in) / (pack −
// coolant mean) per 10 % duty band, learnt from a band's first LEARN
// minutes; per run the largest HOLD-minute run-minimum of ε / ε_band.
func coolStat(runs []motorRun, env func(string, float64) float64) {
	minLead := env("MINLEAD", 1.5)
	learn := int(env("LEARN", 5))
	hold := int(env("HOLD", 5))
	minRise := env("MINRISE", 0.5)
	var healthy []float64
	type res struct {
		kind        string
		i           int
		onset, stat float64
		lvl         float64
		first       float64
	}
	var faulty []res
	thr := env("THR", 1e9)
	for i, r := range runs {
		var band [10]struct {
			eps float64
			n   int
		}
		var ring []float64
		best := 0.0
		first := -1.0
		lastIn := math.NaN()
		lvlAt := 0.0
		for k, m := range r.Minutes {
			tc := (m.In + m.Out) / 2
			mid := (m.TMax + m.TMin) / 2
			steady := math.Abs(m.In-lastIn) <= 0.3
			lastIn = m.In
			lead := mid - tc
			rise := m.Out - m.In
			if m.N != 60 || m.Duty < 10 || m.DutyHi-m.DutyLo > 5 || !steady || math.Abs(lead) < minLead || math.IsNaN(lead+rise) {
				continue
			}
			eps := rise / lead
			b := &band[min(int(m.Duty/10), 9)]
			if b.n < learn {
				b.n++
				b.eps += (eps - b.eps) / float64(b.n)
				continue
			}
			ratio := 0.0
			if b.eps > 0.02 && math.Abs(rise) >= minRise {
				ratio = eps / b.eps
			}
			ring = append(ring, ratio)
			if len(ring) > hold {
				ring = ring[1:]
			}
			if len(ring) < hold {
				continue
			}
			st := slices.Min(ring)
			if r.Kind != "healthy" && k < int(r.Onset.Minutes()) {
				continue
			}
			if st > best {
				best = st
				lvlAt = m.Level
			}
			if st >= thr && first < 0 {
				first = float64(k) - r.Onset.Minutes()
			}
		}
		if r.Kind == "healthy" {
			healthy = append(healthy, best)
		} else {
			faulty = append(faulty, res{r.Kind, i, r.Onset.Minutes(), best, lvlAt, first})
		}
	}
	slices.Sort(healthy)
	n := len(healthy)
	fmt.Printf("healthy %d: p50 %.3f p90 %.3f p99 %.3f max %.3f\n", n, healthy[n/2], healthy[n*9/10], healthy[n*99/100], healthy[n-1])
	hit := map[string]int{}
	for _, x := range faulty {
		if x.stat >= thr {
			hit[x.kind]++
		}
		if x.kind == os.Getenv("EVEDGE_KIND") || os.Getenv("EVEDGE_KIND") == "" {
			fmt.Printf("%s %d onset %.0f stat %.3f at level %.2f first %.0f\n", x.kind, x.i, x.onset, x.stat, x.lvl, x.first)
		}
	}
	fmt.Println("over THR by kind:", hit)
}

// TestCoolPair (EVEDGE_EXP=coolpair): with the pump off for SETTLE
// minutes or more, the largest |inlet − outlet| per run (healthy) and
// after the onset (faulty), from /tmp/evexp/motor.gob.
func TestCoolPair(t *testing.T) {
	if os.Getenv("EVEDGE_EXP") != "coolpair" {
		t.Skip("EVEDGE_EXP=coolpair not set")
	}
	f, err := os.Open("/tmp/evexp/motor.gob")
	if err != nil {
		t.Fatal(err)
	}
	var runs []motorRun
	if err := gob.NewDecoder(f).Decode(&runs); err != nil {
		t.Fatal(err)
	}
	f.Close()
	settle, _ := strconv.Atoi(os.Getenv("SETTLE"))
	var healthy []float64
	for i, r := range runs {
		off, best, spells := 0, 0.0, 0
		for k, m := range r.Minutes {
			if m.N == 60 && m.DutyHi == 0 {
				off++
			} else {
				off = 0
			}
			if off < settle || (r.Kind != "healthy" && k < int(r.Onset.Minutes())) {
				continue
			}
			if off == settle {
				spells++
			}
			best = max(best, math.Abs(m.In-m.Out))
		}
		if r.Kind == "healthy" {
			healthy = append(healthy, best)
		} else if strings.HasPrefix(r.Kind, "sensor") || r.Kind == "cooling_loss" {
			fmt.Printf("%s %d (eval %d) spells %d max |in-out| %.2f\n", r.Kind, i, i-394+334, spells, best)
		}
	}
	slices.Sort(healthy)
	n := len(healthy)
	fmt.Printf("healthy %d: p50 %.3f p90 %.3f p99 %.3f max %.3f\n", n, healthy[n/2], healthy[n*9/10], healthy[n*99/100], healthy[n-1])
}

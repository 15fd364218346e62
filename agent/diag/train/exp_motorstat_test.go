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
	runs := loadMotorRuns(t)
	if os.Getenv("COOL") != "" {
		coolStat(runs)
		return
	}
	win := int(envFloat("W", 15))
	learn := int(envFloat("L", 20))
	minInv := envFloat("MININV", 5)
	minTq := envFloat("MINTQ", 20)
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
func coolStat(runs []motorRun) {
	minLead := envFloat("MINLEAD", 1.5)
	learn := int(envFloat("LEARN", 5))
	hold := int(envFloat("HOLD", 5))
	minRise := envFloat("MINRISE", 0.5)
	var healthy []float64
	type res struct {
		kind        string
		i           int
		onset, stat float64
		lvl         float64
		first       float64
	}
	var faulty []res
	thr := envFloat("THR", 1e9)
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
	runs := loadMotorRuns(t)
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

// TestResStat (EVEDGE_EXP=resstat): the weakest cell's extra resistance
// in units of the average cell's, from within-minute regressions of the
// cell gap (avg − min) and the cell average on the discharge current,
// pooled over the last K minutes with at least MINSD A of current spread;
// per run the largest value (faulty: after the onset).
func TestResStat(t *testing.T) {
	if os.Getenv("EVEDGE_EXP") != "resstat" {
		t.Skip("EVEDGE_EXP=resstat not set")
	}
	runs := loadMotorRuns(t)
	k := int(envFloat("K", 10))
	minSD := envFloat("MINSD", 20)
	hold := int(envFloat("HOLD", 1))
	thr := envFloat("THR", 1e9)
	var healthy []float64
	hit := map[string]int{}
	for i, r := range runs {
		type mm struct{ cg, ca, vi float64 }
		var ring []mm
		var held []float64
		bestAmb, bestT := 0.0, 0.0
		best, first := 0.0, -1.0
		for j, m := range r.Minutes {
			if m.RN < 30 {
				continue
			}
			n := m.RN
			mi := m.RI / n
			vi := m.RII/n - mi*mi
			if vi < minSD*minSD {
				continue
			}
			cg := m.RIG/n - mi*m.RG/n
			ca := m.RIA/n - mi*m.RA/n
			ring = append(ring, mm{cg * n, ca * n, vi * n})
			if len(ring) > k {
				ring = ring[1:]
			}
			if len(ring) < k {
				continue
			}
			var sg, sa, sv float64
			for _, x := range ring {
				sg += x.cg
				sa += x.ca
				sv += x.vi
			}
			if sa >= 0 {
				continue
			}
			ratio := sg / -sa
			if r.Kind != "healthy" && j < int(r.Onset.Minutes()) {
				continue
			}
			held = append(held, ratio)
			if len(held) > hold {
				held = held[1:]
			}
			if len(held) < hold {
				continue
			}
			ratio = slices.Min(held)
			if ratio > best {
				bestAmb, bestT = m.Amb, m.TMin
			}
			best = max(best, ratio)
			if ratio >= thr && first < 0 {
				first = float64(j) - r.Onset.Minutes()
			}
		}
		if r.Kind == "healthy" {
			healthy = append(healthy, best)
			if best > 0.6 {
				fmt.Printf("healthy %d max %.3f at ambient %.1f, coldest module %.1f\n", i, best, bestAmb, bestT)
			}
			continue
		}
		if best >= thr {
			hit[r.Kind]++
		}
		if r.Kind == os.Getenv("EVEDGE_KIND") {
			fmt.Printf("%s %d (eval %d) max %.3f first %.0f\n", r.Kind, i, i-394+334, best, first)
		}
	}
	slices.Sort(healthy)
	n := len(healthy)
	fmt.Printf("healthy %d: p50 %.3f p90 %.3f p99 %.3f max %.3f\n", n, healthy[n/2], healthy[n*9/10], healthy[n*99/100], healthy[n-1])
	fmt.Println("over THR by kind:", hit)
}

// loadMotorRuns reads the runs TestMotorSim cached.
func loadMotorRuns(t *testing.T) []motorRun {
	t.Helper()
	f, err := os.Open("/tmp/evexp/motor.gob")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var runs []motorRun
	if err := gob.NewDecoder(f).Decode(&runs); err != nil {
		t.Fatal(err)
	}
	return runs
}

// envFloat is the number in the environment variable k, or d.
func envFloat(k string, d float64) float64 {
	if v, err := strconv.ParseFloat(os.Getenv(k), 64); err == nil {
		return v
	}
	return d
}

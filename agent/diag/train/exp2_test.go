package train

import (
	"fmt"
	"math"
	"os"
	"slices"

	int8nn "github.com/evedge/evedge/models/int8"
)

// expHorizons (EVEDGE_EXP=horizons) tries alarms that average the
// per-class log-odds over several horizons on the committed model.
func expHorizons(m *int8nn.Model, vruns []Run, vfscs []Scenario, vfruns []Run, escs []Scenario, eruns []Run) {
	hs := []int{10, 30, 60, 120}
	K := len(Classes)
	// per-run, per-window raw logits
	logitsOf := func(r Run) [][]float32 {
		rn := m.NewRunner()
		out := make([][]float32, len(r.Windows))
		for k, w := range r.Windows {
			o := make([]float32, K)
			rn.Run(w.F[:], o)
			out[k] = o
		}
		return out
	}
	// smoothed[h][c][k]: mean over last h windows of z_c - z_0 (c>0), and c=0: Score.
	smooth := func(lg [][]float32, h int) [][]float64 {
		s := make([][]float64, K)
		for c := range K {
			s[c] = make([]float64, len(lg))
			var sum float64
			for k := range lg {
				var v float64
				if c == 0 {
					v = Score(lg[k])
				} else {
					v = float64(lg[k][c] - lg[k][0])
				}
				sum += v
				if k >= h {
					if c == 0 {
						sum -= Score(lg[k-h])
					} else {
						sum -= float64(lg[k-h][c] - lg[k-h][0])
					}
				}
				s[c][k] = sum / float64(min(k+1, h))
			}
		}
		return s
	}
	// thresholds per horizon, per class (c=0: Score): healthy validation max + margin.
	thr := make([][]float64, len(hs))
	for hi := range hs {
		thr[hi] = make([]float64, K)
		for c := range thr[hi] {
			thr[hi][c] = math.Inf(-1)
		}
	}
	for _, r := range vruns {
		lg := logitsOf(r)
		for hi, h := range hs {
			s := smooth(lg, h)
			for c := range K {
				for k, v := range s[c] {
					if k < h/2 && h > 10 { // long means need some windows
						continue
					}
					thr[hi][c] = max(thr[hi][c], v)
				}
			}
		}
	}
	margin := 1.0
	if v := os.Getenv("EVEDGE_MARGIN"); v != "" {
		fmt.Sscan(v, &margin)
	}
	for hi := range hs {
		for c := range K {
			thr[hi][c] += margin
		}
		fmt.Printf("h %d thr %.2f\n", hs[hi], thr[hi])
	}
	report := func(name string, scs []Scenario, runs []Run) {
		type res struct{ det, n int }
		for _, mode := range []string{"score10", "score-all-h", "class-all-h", "both"} {
			byKind := map[string]*res{}
			fa := 0
			tot, totDet := 0, 0
			for i, r := range runs {
				lg := logitsOf(r)
				ss := make([][][]float64, len(hs))
				for hi, h := range hs {
					ss[hi] = smooth(lg, h)
				}
				alarm := func(k int) bool {
					for hi, h := range hs {
						if k < h/2 && h > 10 {
							continue
						}
						if mode == "score10" && hi > 0 {
							break
						}
						if mode != "class-all-h" && ss[hi][0][k] >= thr[hi][0] {
							return true
						}
						if mode == "class-all-h" || mode == "both" {
							for c := 1; c < K; c++ {
								if ss[hi][c][k] >= thr[hi][c] {
									return true
								}
							}
						}
					}
					return false
				}
				if scs[i].Fault == nil {
					on := false
					for k := range r.Windows {
						a := alarm(k)
						if a && !on {
							fa++
						}
						on = a
					}
					continue
				}
				kind := string(scs[i].Fault.Kind)
				if byKind[kind] == nil {
					byKind[kind] = &res{}
				}
				byKind[kind].n++
				tot++
				for k, w := range r.Windows {
					if w.End > scs[i].Fault.Start && alarm(k) {
						byKind[kind].det++
						totDet++
						break
					}
				}
			}
			kinds := make([]string, 0)
			for k := range byKind {
				kinds = append(kinds, k)
			}
			slices.Sort(kinds)
			fmt.Printf("%s %-12s FA %d detected %d/%d:", name, mode, fa, totDet, tot)
			for _, k := range kinds {
				fmt.Printf(" %s %d", k[:min(8, len(k))], byKind[k].det)
			}
			fmt.Println()
		}
	}
	report("VALID", vfscs, vfruns)
	nh := 0
	for _, s := range escs {
		if s.Fault == nil {
			nh++
		}
	}
	report("EVAL ", escs, eruns)
}

package train

import (
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/evedge/evedge/agent/diag"
	"github.com/evedge/evedge/agent/sim"
)

// TestDumpMinutes (EVEDGE_EXP=dump) prints per-minute means of the
// inputs of simulated scenarios, for designing monitor checks: a
// development aid. EVEDGE_KIND (empty: healthy), EVEDGE_SEED (default the
// faulty validation seeds), EVEDGE_N scenarios.
func TestDumpMinutes(t *testing.T) {
	if os.Getenv("EVEDGE_EXP") != "dump" {
		t.Skip("EVEDGE_EXP=dump not set")
	}
	db, q := simQuantizer(t)
	kind := sim.FaultKind(os.Getenv("EVEDGE_KIND"))
	seed, _ := strconv.ParseUint(os.Getenv("EVEDGE_SEED"), 10, 64)
	if seed == 0 {
		seed = 6_500_000
	}
	n, _ := strconv.Atoi(os.Getenv("EVEDGE_N"))
	n = max(n, 1)
	for k := range n {
		sc := newScenarioSlow(db, seed+uint64(k), kind, 1, 3, slowEvalHours)
		if h, err := strconv.ParseFloat(os.Getenv("EVEDGE_HOURS"), 64); err == nil {
			sc.Hours = h
		}
		s, err := sim.New(sc.Config)
		if err != nil {
			t.Fatal(err)
		}
		if sc.Fault != nil {
			if err := s.Inject(*sc.Fault); err != nil {
				t.Fatal(err)
			}
			fmt.Printf("# run %d %s sev %.2f start %v ramp %v\n", k, sc.Fault.Kind, sc.Fault.Severity, sc.Fault.Start, sc.Fault.Ramp)
		} else {
			fmt.Printf("# run %d healthy\n", k)
		}
		fmt.Printf("# UA %.0f cells %d amb %.1f\n", sc.Config.ModuleCoolUA, sc.Config.Cells, sc.Config.Ambient)
		fmt.Println("run min level duty in out tmax tmin irms imean chg speed soc packv gapmv")
		var acc [diag.NumModelInputs]float64
		var i2, tq2 float64
		var cnt int
		secs := int(sc.Hours * 3600)
		for j := 1; j <= secs; j++ {
			s.Step(1e9)
			st := s.State()
			cur := sample(&st)
			q.apply(&cur)
			sc.View.apply(&cur)
			for x, v := range cur {
				if !math.IsNaN(v) {
					acc[x] += v
				}
			}
			if from, to, ok := strings.Cut(os.Getenv("EVEDGE_SECS"), ","); ok {
				a, _ := strconv.Atoi(from)
				b, _ := strconv.Atoi(to)
				if j >= a && j <= b {
					fmt.Printf("s %d I %.2f v %.1f tq %.0f soc %.2f chg %.0f packv %.1f\n", j, cur[diag.InPackI], cur[diag.InSpeed], cur[diag.InTorque], cur[diag.InSOC], cur[diag.InCharging], cur[diag.InPackV])
				}
			}
			i2 += cur[diag.InPackI] * cur[diag.InPackI]
			if !math.IsNaN(cur[diag.InTorque]) {
				tq2 += cur[diag.InTorque] * cur[diag.InTorque]
			}
			cnt++
			if j%60 == 0 {
				lvl := 0.0
				if len(st.Faults) > 0 {
					lvl = st.Faults[0].Level
				}
				m := func(x int) float64 { return acc[x] / float64(cnt) }
				if os.Getenv("EVEDGE_COLS") == "motor" { // minute, level, duty, coolant in/out, motor, inverter, |torque|², speed, ambient
					fmt.Printf("%d %d %.2f %.1f %.2f %.2f %.2f %.2f %.0f %.1f %.1f\n", k, j/60, lvl, m(diag.InPumpDuty), m(diag.InCoolantIn), m(diag.InCoolantOut),
						m(diag.InMotorTemp), m(diag.InInverterTemp), math.Sqrt(tq2/float64(cnt)), m(diag.InSpeed), m(diag.InAmbient))
				} else {
					fmt.Printf("%d %d %.2f %.1f %.2f %.2f %.2f %.2f %.1f %.1f %.2f %.1f %.1f %.0f %.1f\n", k, j/60, lvl, m(diag.InPumpDuty), m(diag.InCoolantIn), m(diag.InCoolantOut),
						m(diag.InTempMax), m(diag.InTempMin), math.Sqrt(i2/float64(cnt)), m(diag.InPackI), m(diag.InCharging), m(diag.InSpeed), m(diag.InSOC), m(diag.InPackV), 1000*(m(diag.InCellAvg)-m(diag.InCellMin)))
				}
				acc, i2, tq2, cnt = [diag.NumModelInputs]float64{}, 0, 0, 0
			}
		}
	}
}

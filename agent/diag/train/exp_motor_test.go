package train

import (
	"encoding/gob"
	"math"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/evedge/evedge/agent/diag"
	"github.com/evedge/evedge/agent/sim"
)

// minuteRec is one minute of a simulated run's drive-unit inputs, for
// designing the motor heat check (EVEDGE_EXP=motorsim).
type minuteRec struct {
	Level                 float64
	Motor, Inv, In, Out   float64
	Tq2, Speed, Duty, Amb float64
	TMax, TMin, I2        float64
	DutyLo, DutyHi        float64
	// Discharge seconds' regression sums: current (A out of the pack),
	// the cell gap avg − min and the cell average (V).
	RN, RI, RII, RG, RIG, RA, RIA, RGG, RAA float64
	N                                       int
	MissMotor, MissInv, Chg                 bool
}

type motorRun struct {
	Kind    string
	Seed    uint64
	Onset   time.Duration
	Minutes []minuteRec
}

// TestMotorSim (EVEDGE_EXP=motorsim) simulates healthy validation runs
// (EVEDGE_N of them) and the faulty validation and evaluation runs and
// caches their minutes under /tmp/evexp/motor.gob: a development aid.
func TestMotorSim(t *testing.T) {
	if os.Getenv("EVEDGE_EXP") != "motorsim" {
		t.Skip("EVEDGE_EXP=motorsim not set")
	}
	db, q := simQuantizer(t)
	n, _ := strconv.Atoi(os.Getenv("EVEDGE_N"))
	scs := scenarios(db, validSeedBase, n, span{normalRunH, normalRunH, 0}, 0, span{}, false)
	scs = append(scs, scenarios(db, validFaultSeedBase, 0, span{}, 12, span{1, 3, slowEvalHours}, false)...)
	ev := scenarios(db, evalSeedBase, 334, span{normalRunH, normalRunH, 0}, 12, span{1, 3, slowEvalHours}, false)
	scs = append(scs, ev[334:]...)
	out := make([]motorRun, len(scs))
	var wg sync.WaitGroup
	next := make(chan int)
	for range 2 {
		wg.Go(func() {
			for i := range next {
				out[i] = motorMinutes(t, scs[i], q)
			}
		})
	}
	for i := range scs {
		next <- i
	}
	close(next)
	wg.Wait()
	f, err := os.Create("/tmp/evexp/motor.gob")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := gob.NewEncoder(f).Encode(out); err != nil {
		t.Fatal(err)
	}
}

func motorMinutes(t *testing.T, sc Scenario, q *quantizer) motorRun {
	s, err := sim.New(sc.Config)
	if err != nil {
		t.Error(err)
		return motorRun{}
	}
	r := motorRun{Kind: "healthy", Seed: sc.Config.Seed}
	if sc.Fault != nil {
		if err := s.Inject(*sc.Fault); err != nil {
			t.Error(err)
			return r
		}
		r.Kind, r.Onset = string(sc.Fault.Kind), sc.Fault.Start
	}
	var sensor sensorFault
	var m minuteRec
	n := int(time.Duration(sc.Hours*float64(time.Hour)) / time.Second)
	for k := 1; k <= n; k++ {
		s.Step(time.Second)
		st := s.State()
		cur := sample(&st)
		level := 0.0
		if len(st.Faults) > 0 {
			level = st.Faults[0].Level
		}
		sensor.apply(sc, &cur, level)
		q.apply(&cur)
		sc.View.apply(&cur)
		m.Level = level
		m.Motor += cur[diag.InMotorTemp]
		m.Inv += cur[diag.InInverterTemp]
		m.In += cur[diag.InCoolantIn]
		m.Out += cur[diag.InCoolantOut]
		m.Tq2 += cur[diag.InTorque] * cur[diag.InTorque]
		m.Speed += cur[diag.InSpeed]
		m.Duty += cur[diag.InPumpDuty]
		m.Amb += cur[diag.InAmbient]
		m.TMax += cur[diag.InTempMax]
		m.TMin += cur[diag.InTempMin]
		m.I2 += cur[diag.InPackI] * cur[diag.InPackI]
		if i, g, a := cur[diag.InPackI], cur[diag.InCellAvg]-cur[diag.InCellMin], cur[diag.InCellAvg]; i > 5 && !math.IsNaN(i+g+a) {
			m.RN++
			m.RI += i
			m.RII += i * i
			m.RG += g
			m.RIG += i * g
			m.RA += a
			m.RIA += i * a
			m.RGG += g * g
			m.RAA += a * a
		}
		if m.N == 0 || cur[diag.InPumpDuty] < m.DutyLo {
			m.DutyLo = cur[diag.InPumpDuty]
		}
		if m.N == 0 || cur[diag.InPumpDuty] > m.DutyHi {
			m.DutyHi = cur[diag.InPumpDuty]
		}
		m.Chg = m.Chg || cur[diag.InCharging] > 0
		m.N++
		if k%60 == 0 {
			f := float64(m.N)
			m.Motor /= f
			m.Inv /= f
			m.In /= f
			m.Out /= f
			m.Tq2 /= f
			m.Speed /= f
			m.Duty /= f
			m.Amb /= f
			m.TMax /= f
			m.TMin /= f
			m.I2 /= f
			m.MissMotor, m.MissInv = math.IsNaN(m.Motor), math.IsNaN(m.Inv)
			r.Minutes = append(r.Minutes, m)
			m = minuteRec{}
		}
	}
	return r
}

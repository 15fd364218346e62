package sim

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/evedge/evedge/agent/signals"
	"github.com/evedge/evedge/drivers/can"
)

const mapPath = "../../board/sim/sim-ev.toml"

// TestVSSMap applies board/sim/sim-ev.toml to the sim DBC, decodes the
// frames of a DC charge and a drive into a last-known-value table and reads
// the VSS paths back against the sim's state, units converted.
func TestVSSMap(t *testing.T) {
	t.Parallel()
	mp, err := signals.LoadMap(mapPath)
	if err != nil {
		t.Fatal(err)
	}
	db, cycles, err := LoadDBC(dbcPath) // a database of its own: Apply changes it
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Apply(mp); err != nil {
		t.Fatal(err)
	}
	for _, e := range mp.Signals {
		if e.Message == cellMsgName || e.Message == moduleMsgName {
			t.Errorf("%s.%s mapped: the individual cell and module values stay unmapped", e.Message, e.Signal)
		}
		if e.Rate.Duration != cycles[e.Message] {
			t.Errorf("%s.%s: rate %v, the DBC sends it every %v", e.Message, e.Signal, e.Rate.Duration, cycles[e.Message])
		}
		if !strings.HasPrefix(e.VSS, "Vehicle.") || (strings.Contains(e.VSS, ".Private.") && !strings.HasPrefix(e.VSS, "Vehicle.Private.EvedgeSim.")) {
			t.Errorf("%s: private paths are Vehicle.Private.EvedgeSim.<Name>", e.VSS)
		}
	}
	for _, p := range []string{
		"Vehicle.Powertrain.TractionBattery.StateOfCharge.Current", "Vehicle.Powertrain.TractionBattery.CurrentVoltage",
		"Vehicle.Powertrain.TractionBattery.CurrentCurrent", "Vehicle.Powertrain.TractionBattery.StateOfHealth",
		"Vehicle.Powertrain.TractionBattery.CellVoltage.Min", "Vehicle.Powertrain.TractionBattery.CellVoltage.Max",
		"Vehicle.Powertrain.TractionBattery.Temperature.Min", "Vehicle.Powertrain.TractionBattery.Temperature.Max",
		"Vehicle.Powertrain.TractionBattery.Temperature.Average", "Vehicle.Powertrain.TractionBattery.Charging.IsCharging",
		"Vehicle.Speed", "Vehicle.Powertrain.ElectricMotor.Temperature", "Vehicle.LowVoltageBattery.CurrentVoltage",
		"Vehicle.TraveledDistance", "Vehicle.Exterior.AirTemperature",
	} {
		found := false
		for _, e := range mp.Signals {
			found = found || e.VSS == p
		}
		if !found {
			t.Errorf("%s not mapped", p)
		}
	}

	s := newSim(t, func(c *Config) {
		c.Scenario, c.InitialSOC, c.ChargeTarget, c.ChargeBelow, c.ParkTime = "dc,urban", 60, 65, 20, 10*time.Second
	})
	table := signals.NewTable(db)
	var frames []can.Frame
	var vals []signals.Value
	get := func(p string) float64 {
		smp, ok := table.Get(p)
		if !ok {
			t.Fatalf("%s: no value", p)
		}
		return smp.Value
	}
	checked := map[string]bool{}
	for s.Elapsed() < 12*time.Minute {
		s.Step(s.Config().Tick)
		st := s.State()
		frames = s.Frames(st.Time.UnixNano(), frames[:0])
		for i := range frames {
			if m := db.Lookup(&frames[i]); m != nil {
				vals = m.Decode(&frames[i], vals[:0])
				table.Update(vals, frames[i].Time)
			}
		}
		if st.Elapsed%(20*time.Second) != 0 || st.Elapsed < 2*time.Second {
			continue
		}
		near := func(p string, want, tol float64) {
			if got := get(p); math.Abs(got-want) > tol {
				t.Errorf("%v %s: %s = %v, state says %v", st.Elapsed, st.Phase, p, got, want)
			}
		}
		near("Vehicle.Speed", math.Abs(st.Speed), 0.005)
		near("Vehicle.Powertrain.TractionBattery.CurrentCurrent", -st.PackCurrent, 0.025)
		near("Vehicle.Powertrain.TractionBattery.CurrentPower", -st.PackPower*1000, 5)
		near("Vehicle.Powertrain.TractionBattery.CurrentVoltage", st.PackVoltage, 0.025)
		near("Vehicle.Powertrain.TractionBattery.CellVoltage.IdMin", float64(st.CellMinIndex), 0)
		near("Vehicle.Powertrain.TractionBattery.StateOfCharge.Current", st.SOC, 0.005)
		near("Vehicle.Powertrain.Range", st.Range*1000, 500)
		near("Vehicle.Powertrain.TractionBattery.Charging.TimeToComplete", math.Round(st.TimeToFull)*60, 0)
		near("Vehicle.Powertrain.TractionBattery.Charging.IsCharging", b2f(st.Charging), 0)
		near("Vehicle.LowVoltageBattery.CurrentCurrent", st.LVCurrent, 0.005)
		near("Vehicle.Exterior.AirTemperature", 20, 0)
		if st.Charging {
			checked["charging"] = true
			near("Vehicle.Powertrain.TractionBattery.Charging.IsChargingCableConnected", 1, 0)
		}
		if math.Abs(st.Speed) > 10 {
			checked["driving"] = true
		}
	}
	if !checked["charging"] || !checked["driving"] {
		t.Errorf("checked %v, want charging and driving", checked)
	}
}

// TestFramesBacklog: after a long Step without Frames only the last
// MaxBacklog of frames comes out, still on the cycle grid.
func TestFramesBacklog(t *testing.T) {
	s := newSim(t, func(c *Config) { c.Scenario = PhasePark })
	s.Step(time.Hour)
	now := s.Now().UnixNano()
	frames := s.Frames(now, nil)
	var bms []int64
	for _, f := range frames {
		if f.Time <= now-int64(MaxBacklog) || f.Time > now {
			t.Fatalf("frame at %v outside the last %v", time.Duration(now-f.Time), MaxBacklog)
		}
		if f.ID == 0x1A1 {
			bms = append(bms, f.Time)
		}
	}
	if len(bms) != 100 {
		t.Errorf("%d BMS_SOC frames in the backlog, want 100", len(bms))
	}
	for i := 1; i < len(bms); i++ {
		if bms[i]-bms[i-1] != int64(100*time.Millisecond) {
			t.Fatalf("BMS_SOC frames %v apart", time.Duration(bms[i]-bms[i-1]))
		}
	}
	want := 0
	for _, c := range DefaultCycles() {
		want += int(MaxBacklog / c)
	}
	if len(frames) != want {
		t.Errorf("%d frames in %v of backlog, want %d", len(frames), MaxBacklog, want)
	}
}

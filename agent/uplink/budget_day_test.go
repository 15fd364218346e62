package uplink_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/evedge/evedge/agent/sim"
	"github.com/evedge/evedge/agent/uplink"
	"github.com/evedge/evedge/agent/uplink/brokertest"
)

// TestBudgetSimulatedDay runs the health reporter on 24 hours of the
// simulated car (driving and charging, default scenario) on the sim's
// clock, with the default budget (30 MB a month) and interval (5 min), and
// sends everything through a byte-counting proxy to a real Mosquitto. The
// day must cost at most 2 MB on the link.
func TestBudgetSimulatedDay(t *testing.T) {
	if testing.Short() {
		t.Skip("24 simulated hours")
	}
	b := brokertest.Start(t)
	proxy := brokertest.NewProxy(t, b.URL())
	cl := newCloud(t, b.URL(), nil)

	db, cycles, err := sim.LoadDBC("../../board/sim/sim-ev.dbc")
	if err != nil {
		t.Fatal(err)
	}
	cfg := sim.DefaultConfig()
	cfg.DBC, cfg.Cycles, cfg.Seed = db, cycles, 7
	car, err := sim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	st := openStore(t, t.TempDir())
	defer st.Close()
	c := startCar(t, uplink.Options{Broker: proxy.URL(), Store: st})
	var s sim.State
	vals := func() map[string]float64 {
		b2f := func(b bool) float64 {
			if b {
				return 1
			}
			return 0
		}
		return map[string]float64{
			"Vehicle.Powertrain.TractionBattery.StateOfCharge.Displayed":           s.SOCDisplayed,
			"Vehicle.Powertrain.TractionBattery.StateOfHealth":                     s.SOH,
			"Vehicle.Powertrain.Range":                                             s.Range,
			"Vehicle.Powertrain.TractionBattery.CurrentVoltage":                    s.PackVoltage,
			"Vehicle.Powertrain.TractionBattery.CurrentCurrent":                    s.PackCurrent,
			"Vehicle.Powertrain.TractionBattery.Temperature.Max":                   s.TempMax,
			"Vehicle.Powertrain.TractionBattery.Temperature.Min":                   s.TempMin,
			"Vehicle.Powertrain.TractionBattery.CellVoltage.Max":                   s.CellMax,
			"Vehicle.Powertrain.TractionBattery.CellVoltage.Min":                   s.CellMin,
			"Vehicle.LowVoltageBattery.CurrentVoltage":                             s.LVVoltage,
			"Vehicle.Private.EvedgeSim.InsulationResistance":                       s.Insulation / 1000,
			"Vehicle.TraveledDistance":                                             s.Odometer,
			"Vehicle.Speed":                                                        s.Speed,
			"Vehicle.Powertrain.TractionBattery.Charging.IsCharging":               b2f(s.Charging),
			"Vehicle.Powertrain.TractionBattery.Charging.IsChargingCableConnected": b2f(s.Plugged),
		}
	}
	var cur map[string]float64
	rep := uplink.NewReporter(c.u, uplink.ReporterOptions{
		Read: func(p string) (float64, time.Time, bool) {
			v, ok := cur[p]
			return v, s.Time, ok
		},
		Clock:  func() time.Time { return s.Time },
		Budget: uplink.Budget{Monthly: 30_000_000, Interval: 5 * time.Minute, MaxInterval: time.Hour},
		Agent: func() map[string]any {
			return map[string]any{"uptime_s": int64(s.Elapsed.Seconds()), "frames": 123456789, "values": 987654321}
		},
	})
	cl.waitFor("/status", 1, 5*time.Second)
	charged, drove := false, false
	for s.Elapsed < 24*time.Hour {
		car.Step(time.Second)
		s = car.State()
		cur = vals()
		rep.Tick()
		charged = charged || s.Charging
		drove = drove || s.Speed > 50
	}
	if !charged || !drove {
		t.Fatalf("the simulated day did not both drive and charge (charged %v, drove %v)", charged, drove)
	}
	seq, _ := st.Seq(uplink.KindHealth)
	got := cl.waitFor("/health", int(seq), 60*time.Second)
	checkSeq(t, "health", got, int(seq))
	// Keepalives follow the wall clock here; a real day has 288 of them.
	pings := int64(24*time.Hour/(5*time.Minute)) * int64(uplink.PingCost(false))
	est := int64(c.u.Stats().Bytes) + pings
	measured := proxy.Up() + proxy.Down()
	var sample map[string]any
	json.Unmarshal(got[len(got)/2].Raw, &sample)
	t.Logf("24 h: %d health reports (%.0f bytes each on average), link estimate %d bytes (with %d for 288 keepalives), TCP payload through the proxy %d bytes",
		len(got), float64(measured)/float64(len(got)), est, pings, measured)
	if est > 2_000_000 || measured > 2_000_000 {
		t.Errorf("a simulated day costs %d bytes (estimate) / %d (measured): over 2 MB", est, measured)
	}
	if len(got) < 280 {
		t.Errorf("%d reports in 24 h at a 5 min interval", len(got))
	}
	if b, ok := sample["battery"].(map[string]any); !ok || b["soc"] == nil || b["voltage"] == nil {
		t.Errorf("report lacks battery data: %v", sample)
	}
	t.Logf("a full health report is %d bytes of JSON", len(got[len(got)/2].Raw))
}

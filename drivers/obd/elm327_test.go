package obd_test

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/evedge/evedge/drivers/obd"
	"github.com/evedge/evedge/drivers/obd/elmsim"
)

// These tests run the agent's ELM327 driver through a real pseudo-terminal
// against the simulator in elmsim, whose J1979 encoding is written
// independently of the decoder.

const simVIN = "1G1FZ6S07L4100001"

func simState() elmsim.State {
	return elmsim.State{
		SpeedKmh: 60, SOC: 80, ModuleVoltage: 14.2, AmbientC: 21, CoolantC: 25,
		OdometerKm: 12345.6, RunTimeS: 300,
		Stored: []string{"P0133", "U0100"}, Pending: []string{"P0AA6"}, Permanent: []string{"P0133"},
		MIL: true,
	}
}

func simCar(extra ...elmsim.Node) *elmsim.Car {
	nodes := append([]elmsim.Node{{
		Name: "vcu", ReqID: 0x7E0, RespID: 0x7E8, OBD: true, PadByte: 0xAA,
		ECU: &elmsim.OBDECU{State: simState, VIN: simVIN, Name: "VCU-VehicleControl"},
	}}, extra...)
	return elmsim.NewCar(nodes...)
}

func startSim(t *testing.T, sim *elmsim.Sim, link string) *elmsim.PTY {
	t.Helper()
	var p *elmsim.PTY
	var err error
	if link != "" {
		p, err = sim.ServePTYAt(context.Background(), link)
	} else {
		p, err = sim.ServePTY(context.Background())
	}
	if errors.Is(err, elmsim.ErrNotSupported) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func openELM(t *testing.T, path string, opt obd.ELMOptions) *obd.ELM327 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	e, err := obd.OpenELM327(ctx, path, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestELMSimCar(t *testing.T) {
	sim := elmsim.New(simCar())
	p := startSim(t, sim, "")
	e := openELM(t, p.Path(), obd.ELMOptions{})
	if v := e.Info().Version; !strings.Contains(v, "ELM327") {
		t.Errorf("version %q", v)
	}
	ctx := ctxT(t)
	c := &obd.Client{T: e}

	vin, ecu, err := c.VIN(ctx)
	if err != nil || vin != simVIN || ecu != "7E8" {
		t.Errorf("VIN = %q from %q, %v", vin, ecu, err)
	}
	if info := e.Info(); info.ProtoNum != "6" {
		t.Errorf("protocol after search = %+v", info)
	}

	ecus, err := c.SupportedPIDs(ctx)
	if err != nil || len(ecus) != 1 || ecus[0].Name != "7E8" {
		t.Fatalf("supported PIDs: %+v, %v", ecus, err)
	}
	have := map[byte]bool{}
	for _, p := range ecus[0].PIDs {
		have[p] = true
	}
	for _, p := range []byte{0x01, 0x0D, 0x1F, 0x42, 0x46, 0x5B, 0xA6} {
		if !have[p] {
			t.Errorf("PID %02X not reported supported (%X)", p, ecus[0].PIDs)
		}
	}

	// Expected values from the J1979 formulas applied by hand to the state:
	// VSS 60 km/h -> 0x3C; SOC 80 % -> round(80*255/100) = 204 -> 204*100/255 = 80;
	// 14.2 V -> 14200 mV; ambient 21 -> 61 - 40; odometer 123456 x 0.1 km; run time 300 s.
	d, _, err := c.ReadPIDs(ctx, []byte{0x0D, 0x5B, 0x42, 0x46, 0xA6, 0x1F, 0x05})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{"VSS": 60, "BAT_SOC": 80, "VPWR": 14.2, "AAT": 21, "ODO": 12345.6, "RUNTM": 300, "ECT": 25}
	for id, w := range want {
		v, ok := d.ByID[id]
		if !ok || math.Abs(v.Num-w) > 1e-9 {
			t.Errorf("%s = %+v (present %v), want %v", id, v.Num, ok, w)
		}
	}
	if len(d.Problems) > 0 {
		t.Errorf("problems: %v", d.Problems)
	}

	rep, err := c.DTCs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	codes := func(l []obd.ECUDTC) string {
		var s []string
		for _, d := range l {
			s = append(s, d.Code)
			if d.Description == "" {
				t.Errorf("%s has no description", d.Code)
			}
		}
		sort.Strings(s)
		return strings.Join(s, ",")
	}
	if got := codes(rep.Stored); got != "P0133,U0100" {
		t.Errorf("stored %q", got)
	}
	if got := codes(rep.Pending); got != "P0AA6" {
		t.Errorf("pending %q", got)
	}
	if got := codes(rep.Permanent); got != "P0133" {
		t.Errorf("permanent %q", got)
	}
	for _, d := range rep.Stored {
		if d.Code == "P0133" && !strings.Contains(strings.ToLower(d.Description), "sensor circuit slow response") {
			t.Errorf("P0133 description %q", d.Description)
		}
	}
	if v, err := e.Voltage(ctx); err != nil || v < 10 || v > 16 {
		t.Errorf("ATRV = %v, %v", v, err)
	}
}

func TestELMClearNeedsStandstillAndAuthorisation(t *testing.T) {
	var speed atomic.Int64
	cleared := atomic.Bool{}
	state := func() elmsim.State {
		s := simState()
		s.SpeedKmh = float64(speed.Load())
		if cleared.Load() {
			s.Stored, s.Pending = nil, nil
		}
		return s
	}
	car := elmsim.NewCar(elmsim.Node{ReqID: 0x7E0, RespID: 0x7E8, OBD: true,
		ECU: &elmsim.OBDECU{State: state, VIN: simVIN, OnClear: func() { cleared.Store(true) }}})
	p := startSim(t, elmsim.New(car), "")
	e := openELM(t, p.Path(), obd.ELMOptions{})
	c := &obd.Client{T: e}
	ctx := ctxT(t)
	allow := func(context.Context) error { return nil }

	if err := c.ClearDTCs(ctx, nil); !errors.Is(err, obd.ErrNotAllowed) {
		t.Errorf("no gate: %v", err)
	}
	if err := c.ClearDTCs(ctx, &obd.StandstillGate{Client: c}); !errors.Is(err, obd.ErrNotAllowed) {
		t.Errorf("no authorisation: %v", err)
	}
	speed.Store(12)
	if err := c.ClearDTCs(ctx, &obd.StandstillGate{Client: c, Authorised: allow}); !errors.Is(err, obd.ErrNotAllowed) || !strings.Contains(err.Error(), "12 km/h") {
		t.Errorf("moving: %v", err)
	}
	if cleared.Load() {
		t.Fatal("cleared while refused")
	}
	speed.Store(0)
	if err := c.ClearDTCs(ctx, &obd.StandstillGate{Client: c, Authorised: allow}); err != nil {
		t.Fatalf("standstill: %v", err)
	}
	if !cleared.Load() {
		t.Error("ECU did not see the clear")
	}
}

// TestELMReconnect closes the pty under the driver (the adapter unplugged)
// and brings it back at the same path: the driver must answer again within
// 5 s of the adapter's return.
func TestELMReconnect(t *testing.T) {
	link := filepath.Join(t.TempDir(), "ttyOBD")
	p := startSim(t, elmsim.New(simCar()), link)
	e := openELM(t, link, obd.ELMOptions{Timeout: time.Second})
	c := &obd.Client{T: e}
	ctx := ctxT(t)
	if _, _, err := c.ReadPIDs(ctx, []byte{0x0D}); err != nil {
		t.Fatal(err)
	}
	if err := p.Unplug(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.ReadPIDs(ctx, []byte{0x0D}); err == nil {
		t.Fatal("request succeeded with the adapter unplugged")
	} else if !errors.Is(err, obd.ErrAdapter) {
		t.Errorf("unplugged: %v, want ErrAdapter", err)
	}
	time.Sleep(300 * time.Millisecond)
	if err := p.Plug(); err != nil {
		t.Fatal(err)
	}
	back := time.Now()
	var err error
	for time.Since(back) < 5*time.Second {
		if _, _, err = c.ReadPIDs(ctx, []byte{0x0D}); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("not recovered 5 s after replug: %v", err)
	}
	t.Logf("recovered %v after the adapter came back; reconnects %d", time.Since(back).Round(time.Millisecond), e.Stats().Reconnects)
	if e.Stats().Reconnects < 1 {
		t.Error("no reconnect counted")
	}
}

// TestELMFaults: garbage, a silent adapter, CAN ERROR and "?" give clear
// errors and the driver goes on when the fault ends.
func TestELMFaults(t *testing.T) {
	sim := elmsim.New(simCar())
	p := startSim(t, sim, "")
	e := openELM(t, p.Path(), obd.ELMOptions{Timeout: 500 * time.Millisecond})
	c := &obd.Client{T: e}
	ctx := ctxT(t)
	if _, _, err := c.ReadPIDs(ctx, []byte{0x0D}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		f     elmsim.Faults
		check func(error) bool
	}{
		{"can error", elmsim.Faults{CANError: true}, func(err error) bool { return errors.Is(err, obd.ErrBus) }},
		{"unknown", elmsim.Faults{Unknown: true}, func(err error) bool { return err != nil }},
		{"silent", elmsim.Faults{Silent: true}, func(err error) bool { return errors.Is(err, obd.ErrTimeout) || errors.Is(err, obd.ErrAdapter) }},
		{"garbage", elmsim.Faults{Garbage: []byte("\x01\xff#garbage!!\r")}, func(err error) bool { return true }},
		{"split writes", elmsim.Faults{SplitWrites: 3}, func(err error) bool { return err == nil }},
	} {
		sim.SetFaults(tc.f)
		start := time.Now()
		_, _, err := c.ReadPIDs(ctx, []byte{0x0D})
		if !tc.check(err) {
			t.Errorf("%s: err = %v", tc.name, err)
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("%s: took %v", tc.name, d)
		}
		sim.SetFaults(elmsim.Faults{})
		var d *obd.Decoded
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			if d, _, err = c.ReadPIDs(ctx, []byte{0x0D}); err == nil {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if err != nil || d.ByID["VSS"].Num != 60 {
			t.Errorf("%s: not recovered: %v", tc.name, err)
		}
	}
}

// TestELMPollerKiaEV9 replays the real Kia EV9 recordings through the
// simulator and polls them with the signalset through the driver: request
// headers, receive filters and flow control must be set as a real adapter
// needs them (7A0/7A8, 744/74C, 7B3/7BB ... with fc=1).
func TestELMPollerKiaEV9(t *testing.T) {
	dir := filepath.Join("../../../shared/data/obd/kia-ev9")
	if _, err := os.Stat(dir); err != nil {
		if os.Getenv("EVEDGE_REQUIRE_SHARED") != "" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	set, err := obd.LoadSignalset(filepath.Join(dir, "signalset.json"))
	if err != nil {
		t.Fatal(err)
	}
	ts, err := elmsim.LoadOBDbTestCases(filepath.Join(dir, "tests/test_cases/2024/commands"))
	if err != nil {
		t.Fatal(err)
	}
	nodes := elmsim.TranscriptNodes(ts)
	for i := range nodes {
		if te, ok := nodes[i].ECU.(*elmsim.TranscriptECU); ok {
			te.UseCase(0)
		}
	}
	p := startSim(t, elmsim.New(elmsim.NewCar(nodes...)), "")
	e := openELM(t, p.Path(), obd.ELMOptions{Protocol: "6"})

	// Expected: the first recorded case of every command file.
	want := map[string]any{}
	for _, f := range mustGlob(t, filepath.Join(dir, "tests/test_cases/2024/commands/*.yaml")) {
		cf, err := obd.LoadCaseFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range cf.Cases[0].Expected {
			want[k] = v
		}
	}
	got := map[string]obd.Value{}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	poller, err := obd.NewPoller(obd.PollerConfig{
		Transport: e, Set: set, ModelYear: 2024,
		OnValues: func(_ time.Time, _ string, d *obd.Decoded) {
			for _, v := range d.Values {
				got[v.Signal.ID] = v
			}
			if len(got) >= len(want) {
				cancel()
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_ = poller.Run(ctx)
	st := poller.Stats()
	t.Logf("%d values of %d in %v; stats %+v", len(got), len(want), time.Since(start).Round(time.Millisecond), st)
	for k, w := range want {
		v, ok := got[k]
		if !ok {
			t.Errorf("%s not polled", k)
			continue
		}
		var wf float64
		switch x := w.(type) {
		case int:
			wf = float64(x)
		case float64:
			wf = x
		default:
			t.Errorf("%s: expected %T", k, w)
			continue
		}
		if math.Abs(v.Num-wf) > 1e-6*math.Max(1, math.Abs(wf)) {
			t.Errorf("%s = %v, want %v", k, v.Num, wf)
		}
	}
	if st.Errors > 0 {
		t.Errorf("%d request errors", st.Errors)
	}
}

func mustGlob(t *testing.T, pat string) []string {
	m, err := filepath.Glob(pat)
	if err != nil || len(m) == 0 {
		t.Fatalf("glob %s: %v", pat, err)
	}
	return m
}

// TestELMUDS reads a 29-bit ECU's data identifier and trouble codes, with
// a "response pending" before each answer.
func TestELMUDS(t *testing.T) {
	bms := &elmsim.UDSECU{Pending: 1}
	bms.SetDID(0x0101, []byte{0x12, 0x34, 0x56})
	dtc, err := elmsim.UDSDTC("P0A7F", 0x1B)
	if err != nil {
		t.Fatal(err)
	}
	bms.DTCs = []elmsim.DTC{{Code: dtc, Status: 0x09}}
	car := simCar(elmsim.Node{Name: "bms", ReqID: 0x18DA10F1, RespID: 0x18DAF110, ECU: bms})
	p := startSim(t, elmsim.New(car), "")
	e := openELM(t, p.Path(), obd.ELMOptions{})
	ctx := ctxT(t)
	c := &obd.Client{T: e}
	if _, _, err := c.ReadPIDs(ctx, []byte{0x0D}); err != nil { // let the adapter find CAN 11-bit first
		t.Fatal(err)
	}
	b, err := obd.ReadDID(ctx, e, 0x18DA10F1, 0x18DAF110, true, 0x0101)
	if err != nil || string(b) != "\x12\x34\x56" {
		t.Fatalf("DID 0101 = % X, %v", b, err)
	}
	ds, err := obd.ReadUDSDTCs(ctx, e, 0x18DA10F1, 0x18DAF110, true, 0xFF)
	if err != nil || len(ds) != 1 || ds[0].Base() != "P0A7F" || ds[0].FailureType != 0x1B || ds[0].Status != 0x09 {
		t.Fatalf("DTCs = %+v, %v", ds, err)
	}
	if _, err := obd.ReadDID(ctx, e, 0x18DA10F1, 0x18DAF110, true, 0xBEEF); err == nil {
		t.Error("unknown DID read without error")
	} else {
		var nr *obd.NegativeResponse
		if !errors.As(err, &nr) || nr.Code != 0x31 {
			t.Errorf("unknown DID: %v, want request out of range", err)
		}
	}
	// And back to 11-bit.
	if d, _, err := c.ReadPIDs(ctx, []byte{0x0D}); err != nil || d.ByID["VSS"].Num != 60 {
		t.Errorf("after 29-bit: %v", err)
	}
}

// TestELMPollerGoesOn: the adapter falls silent, then prints garbage; the
// poller keeps running and values flow again once the adapter behaves.
func TestELMPollerGoesOn(t *testing.T) {
	sim := elmsim.New(simCar())
	p := startSim(t, sim, "")
	e := openELM(t, p.Path(), obd.ELMOptions{Timeout: 300 * time.Millisecond})
	var last atomic.Int64
	poller, err := obd.NewPoller(obd.PollerConfig{
		Transport: e, PIDs: []byte{0x0D}, PIDPeriod: 100 * time.Millisecond,
		SleepAfter: 3, SleepBackoff: 300 * time.Millisecond,
		OnValues: func(at time.Time, _ string, d *obd.Decoded) {
			if d.ByID["VSS"].Num == 60 {
				last.Store(at.UnixNano())
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- poller.Run(ctx) }()
	defer func() { cancel(); <-done }()
	time.Sleep(500 * time.Millisecond)
	sim.SetFaults(elmsim.Faults{Silent: true})
	time.Sleep(time.Second)
	sim.SetFaults(elmsim.Faults{Garbage: []byte("\x00\x13#@!~ garbage 7E8 10\r")})
	time.Sleep(500 * time.Millisecond)
	sim.SetFaults(elmsim.Faults{})
	healed := time.Now()
	deadline := healed.Add(5 * time.Second)
	for time.Now().Before(deadline) && last.Load() < healed.UnixNano() {
		time.Sleep(50 * time.Millisecond)
	}
	select {
	case err := <-done:
		t.Fatalf("poller stopped: %v", err)
	default:
	}
	if last.Load() < healed.UnixNano() {
		t.Fatalf("no values after the adapter recovered; stats %+v %+v", poller.Stats(), e.Stats())
	}
	st := poller.Stats()
	t.Logf("values again %v after the faults ended; poller %+v; link %+v", time.Unix(0, last.Load()).Sub(healed).Round(time.Millisecond), st, e.Stats())
	if st.Errors+st.NoData == 0 {
		t.Error("the faults were not noticed")
	}
}

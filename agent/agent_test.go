package agent

import (
	"bytes"
	"context"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/evedge/evedge/agent/signals"
	"github.com/evedge/evedge/drivers/can"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const shared = "../../shared/data"

func konaDB(t testing.TB) *signals.Database {
	t.Helper()
	p := shared + "/dbc/hyundai-kona-ev-pcan.dbc"
	if _, err := os.Stat(p); err != nil {
		if os.Getenv("EVEDGE_REQUIRE_SHARED") != "" {
			t.Fatalf("real vehicle data not present at %s: %v", p, err)
		}
		t.Skipf("real vehicle data not present at %s: %v", p, err)
	}
	db, err := signals.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	m, err := signals.LoadMap("../board/vehicles/hyundai-kona-ev.toml")
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Apply(m); err != nil {
		t.Fatal(err)
	}
	return db
}

// TestReplayRealASC replays the real Kona BMS capture through the whole
// pipeline at max speed and checks counters and last values against the
// log text: 879 frame lines ("grep -c Rx"), of which 6 are 7E4/7EC
// diagnostic frames the P-CAN DBC does not define.
func TestReplayRealASC(t *testing.T) {
	db := konaDB(t)
	r, closer, err := can.OpenLog(shared+"/canlogs/kona-bms-precharge-relay-on.asc", "")
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(Options{DB: db})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	a.Add(Source{Name: "asc", Src: NewPaced(ctx, r, 0, nil, false), Close: closer.Close, Skipped: r.Skipped})
	if err := a.Run(ctx); err != nil {
		t.Fatal(err)
	}
	st := a.Stats()
	if len(st) != 1 || st[0].Bus != 0 || st[0].Frames != 879 || st[0].Unknown != 6 || st[0].Errors != 0 {
		t.Fatalf("stats %+v, want bus 0: 879 frames, 6 unknown", st)
	}
	// Last 0x595 line: "4.574120 0 595 Rx d 8 0B 00 B8 B8 00 00 18 0E":
	// VBatt = 0x0E18 * 0.1 = 360.8 V.
	s, ok := a.Table().Get("Vehicle.Powertrain.TractionBattery.CurrentVoltage")
	if !ok || math.Abs(s.Value-360.8) > 1e-9 || s.Unit != "V" {
		t.Fatalf("pack voltage %+v, want 360.8 V", s)
	}
	// Last 0x596: "A9 7B ..." -> 12.3 V; by Message.Signal name too.
	s, ok = a.Table().Get("BatteryCharging.Voltage_12V")
	if !ok || math.Abs(s.Value-12.3) > 1e-9 {
		t.Fatalf("12 V %+v, want 12.3", s)
	}
	// The time is the header's "date Wed, 08 Nov 2023 21:21:54 GMT"
	// (unix 1699478514) plus the last 0x596 line's offset 4.574380 s.
	if got, want := s.Time.UnixNano(), int64(1699478514)*1e9+4574380000; got != want {
		t.Fatalf("12 V sample time %d ns, want %d", got, want)
	}
}

// TestPacedReplay checks the pacing arithmetic with a fake clock: frames
// 1 s apart at speed 4 must be released 250 ms apart.
func TestPacedReplay(t *testing.T) {
	bus := can.NewBus(0)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rx := bus.Subscribe(ctx, 16)
	for i := 0; i < 4; i++ {
		_ = bus.WriteFrame(can.Frame{Time: int64(i) * 1e9, ID: 0x100, Len: 1})
	}
	bus.Close()
	now := time.Unix(1000, 0)
	var slept []time.Duration
	p := NewPaced(ctx, rx, 4, func() time.Time { return now }, true)
	p.sleep = func(_ context.Context, d time.Duration) bool {
		slept = append(slept, d)
		now = now.Add(d)
		return true
	}
	var times []int64
	for p.Receive() {
		times = append(times, p.Frame().Time)
	}
	if len(slept) != 3 || slept[0] != 250*time.Millisecond || slept[2] != 250*time.Millisecond {
		t.Fatalf("slept %v, want 3 x 250ms", slept)
	}
	// Rebased: the first frame is stamped with the wall time at start.
	if times[0] != 1000e9 || times[3] != 1003e9 {
		t.Fatalf("times %v, want 1000e9..1003e9", times)
	}
}

func TestParseSpeed(t *testing.T) {
	for in, want := range map[string]float64{"max": 0, "1": 1, "60": 60, "0.5": 0.5} {
		if got, err := ParseSpeed(in); err != nil || got != want {
			t.Errorf("ParseSpeed(%q) = %v, %v", in, got, err)
		}
	}
	for _, in := range []string{"0", "-1", "fast", "2x", "inf", ""} {
		if _, err := ParseSpeed(in); err == nil {
			t.Errorf("ParseSpeed(%q) accepted", in)
		}
	}
}

// TestShutdownStopsSources: cancelling the context stops a live source and
// Run returns; goleak (TestMain) checks that nothing is left running.
func TestShutdownStopsSources(t *testing.T) {
	db := konaDB(t)
	a, _ := New(Options{DB: db})
	bus := can.NewBus(2)
	ctx, cancel := context.WithCancel(context.Background())
	rx := bus.Subscribe(ctx, 64)
	a.Add(Source{Name: "bus", Src: rx, Run: func(ctx context.Context) error {
		tk := time.NewTicker(time.Millisecond)
		defer tk.Stop()
		f := db.Message("Batt_HV_Status").NewFrame()
		for {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-tk.C:
				_ = bus.WriteFrame(f)
			}
		}
	}})
	done := make(chan error)
	go func() { done <- a.Run(ctx) }()
	time.Sleep(50 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	if st := a.Stats(); len(st) != 1 || st[0].Bus != 2 || st[0].Frames == 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestViewRender(t *testing.T) {
	db := konaDB(t)
	a, _ := New(Options{DB: db})
	m := db.Message("Batt_HV_Status")
	f := m.NewFrame()
	m.Signal("VBatt").Encode(&f, 356.4)
	a.table.Update(m.Decode(&f, nil), time.Now().UnixNano())
	a.buses[0].frames.Add(10)
	var b bytes.Buffer
	v := NewView(a, "test")
	if err := v.Render(&b, time.Now(), 100, 30, false); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"Vehicle.Powertrain.TractionBattery.CurrentVoltage", "356.40", " V", "FRAMES/S"} {
		if !strings.Contains(out, want) {
			t.Errorf("view lacks %q:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "\n"); n > 30 {
		t.Errorf("view has %d lines, height 30", n)
	}
}

func TestLoop(t *testing.T) {
	ctx := context.Background()
	opens := 0
	l := NewLoop(ctx, 3, func() (can.Source, func() error, error) {
		opens++
		bus := can.NewBus(0)
		rx := bus.Subscribe(ctx, 8)
		for _, ts := range []int64{100, 110, 130} {
			_ = bus.WriteFrame(can.Frame{Time: ts, ID: 1})
		}
		bus.Close()
		return rx, nil, nil
	})
	var got []int64
	for l.Receive() {
		got = append(got, l.Frame().Time)
	}
	// Pass length 30 ns + mean gap 15 ns: each pass shifts by 45 ns.
	want := []int64{100, 110, 130, 145, 155, 175, 190, 200, 220}
	if opens != 3 || len(got) != len(want) {
		t.Fatalf("opens %d, times %v", opens, got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("times %v, want %v", got, want)
		}
	}
}

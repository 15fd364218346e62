package agent

import (
	"context"
	"math"
	"os"
	"testing"
	"time"

	"github.com/evedge/evedge/drivers/can"
	"github.com/evedge/evedge/drivers/can/socketcan"
)

// TestVCANAgentRoundTrip runs the agent on a real Linux CAN stack: it is
// run by `make vmtest` inside a qemu VM with vcan (EVEDGE_VCAN=vcan0) and
// skipped elsewhere. A second socket writes Kona BMS frames onto vcan0; the
// agent receives them through SocketCAN, decodes them and the last-known
// value table must hold the values worked out from the bytes.
func TestVCANAgentRoundTrip(t *testing.T) {
	ifname := os.Getenv("EVEDGE_VCAN")
	if ifname == "" {
		t.Skip("needs a vcan interface: set EVEDGE_VCAN (make vmtest does, inside its VM)")
	}
	db := konaDB(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rx, err := socketcan.Open(ctx, ifname, 3)
	if err != nil {
		t.Fatal(err)
	}
	tx, err := socketcan.Open(ctx, ifname, 3)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Close()
	a, _ := New(Options{DB: db})
	a.Add(Source{Name: ifname, Src: rx, Close: rx.Close})
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()

	const n = 1000
	for i := 0; i < n; i++ {
		// Batt_HV_Status: VBatt 48|16@1+ (0.1) = 0x0E18 = 360.8 V at the end;
		// IBatt 32|16@1- (0.1): 0xFF9C = -100 -> -10.0 A, which the map
		// (scale -1: the BMS counts discharge positive) gives VSS as +10 A.
		f := can.Frame{ID: 0x595, Len: 8, Data: [8]byte{0x0B, 0, 0xB8, 0xB8, 0x9C, 0xFF, 0x18 - byte(i%2), 0x0E}}
		if i == n-1 {
			f.Data[6] = 0x18
		}
		if err := tx.WriteFrame(f); err != nil {
			t.Fatal(err)
		}
	}
	// One extended frame the DBC does not know.
	if err := tx.WriteFrame(can.Frame{ID: 0x18DAF110, Flags: can.Extended, Len: 2, Data: [8]byte{1, 2}}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		st := a.Stats()
		if len(st) == 1 && st[0].Frames == n+1 {
			if st[0].Bus != 3 || st[0].Unknown != 1 {
				t.Fatalf("stats %+v, want bus 3 with 1 unknown", st[0])
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("stats %+v after 10 s, want %d frames", st, n+1)
		}
		time.Sleep(10 * time.Millisecond)
	}
	v, ok := a.Table().Get("Vehicle.Powertrain.TractionBattery.CurrentVoltage")
	if !ok || math.Abs(v.Value-360.8) > 1e-9 {
		t.Fatalf("pack voltage %+v, want 360.8", v)
	}
	i, ok := a.Table().Get("Vehicle.Powertrain.TractionBattery.CurrentCurrent")
	if !ok || math.Abs(i.Value-10) > 1e-9 {
		t.Fatalf("pack current %+v, want 10", i)
	}
	// Kernel receive timestamps are wall-clock times of this run.
	if d := time.Since(v.Time); d < 0 || d > time.Minute {
		t.Fatalf("sample time %v is not a receive time of this run", v.Time)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

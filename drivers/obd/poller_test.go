package obd_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/evedge/evedge/drivers/can"
	"github.com/evedge/evedge/drivers/obd"
	"github.com/evedge/evedge/drivers/obd/isotpcan"
)

// The poller tests run the real ISO-TP transport against ECUs served on an
// in-process CAN bus; the ECUs count what reaches them.

type ecuLog struct {
	mu   sync.Mutex
	reqs [][]byte
}

func (l *ecuLog) add(r []byte) {
	l.mu.Lock()
	l.reqs = append(l.reqs, append([]byte(nil), r...))
	l.mu.Unlock()
}

func (l *ecuLog) count(svc byte) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, r := range l.reqs {
		if r[0] == svc {
			n++
		}
	}
	return n
}

func (l *ecuLog) all() [][]byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([][]byte(nil), l.reqs...)
}

// pidData is what the test ECU answers per PID (J1979 lengths).
var pidData = map[byte][]byte{0x05: {0x41}, 0x0D: {0x3C}, 0x1F: {0x01, 0x2C}, 0x42: {0x37, 0x78}, 0x46: {0x3D}, 0x5B: {0xCC}, 0xA6: {0x00, 0x01, 0xE2, 0x40}}

type bench struct {
	bus  *can.Bus
	tr   *isotpcan.Transport
	vcu  ecuLog
	bms  ecuLog
	mute atomic.Bool // ECUs stop answering (car asleep)
	bmsR atomic.Bool // BMS refuses 22 0101 with requestOutOfRange
}

func newBench(t *testing.T) *bench {
	ctx, cancel := context.WithCancel(context.Background())
	b := &bench{bus: can.NewBus(0)}
	vcu := func(req []byte) ([]byte, bool) {
		b.vcu.add(req)
		if b.mute.Load() || req[0] != 0x01 {
			return nil, false
		}
		out := []byte{0x41}
		for _, p := range req[1:] {
			if d, ok := pidData[p]; ok {
				out = append(append(out, p), d...)
			}
		}
		return out, len(out) > 1
	}
	bms := func(req []byte) ([]byte, bool) {
		b.bms.add(req)
		if b.mute.Load() {
			return nil, false
		}
		if b.bmsR.Load() {
			return []byte{0x7F, 0x22, 0x31}, true
		}
		if len(req) == 3 && req[0] == 0x22 && req[1] == 0x01 && req[2] == 0x01 {
			return []byte{0x62, 0x01, 0x01, 0x30, 0x14, 0xE1}, true
		}
		return []byte{0x7F, req[0], 0x11}, true
	}
	var wg sync.WaitGroup
	wg.Add(2)
	// Subscribe before the first request can be sent.
	vcuRx, bmsRx := b.bus.Subscribe(ctx, 256), b.bus.Subscribe(ctx, 256)
	go func() { defer wg.Done(); isotpcan.Serve(ctx, vcuRx, b.bus, 0x7E0, 0x7E8, vcu) }()
	go func() {
		defer wg.Done()
		isotpcan.Serve(ctx, bmsRx, b.bus, 0x7E4, 0x7EC, bms, isotpcan.WithFunctionalID(0))
	}()
	b.tr = isotpcan.New(b.bus.Subscribe(ctx, 256), b.bus, isotpcan.WithFunctionalTimeout(50*time.Millisecond))
	t.Cleanup(func() {
		b.tr.Close()
		cancel()
		b.bus.Close()
		wg.Wait()
	})
	return b
}

func bmsSet(t *testing.T, freq string) *obd.Signalset {
	set, err := obd.ParseSignalset("bms.json", []byte(`{"commands":[{"hdr":"7E4","rax":"7EC","cmd":{"22":"0101"},"freq":`+freq+`,"signals":[
	 {"id":"SOC","name":"soc","fmt":{"bix":0,"len":8,"max":100,"div":2,"unit":"percent"}},
	 {"id":"HV","name":"hv","fmt":{"bix":8,"len":16,"max":6553.5,"div":10,"unit":"volts"}}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	return set
}

func TestPollerRatesAndGrouping(t *testing.T) {
	b := newBench(t)
	var mu sync.Mutex
	got := map[string]float64{}
	p, err := obd.NewPoller(obd.PollerConfig{
		Transport: b.tr, Set: bmsSet(t, "0.2"),
		PIDs: []byte{0x0D, 0x5B, 0x42, 0x46, 0xA6, 0x1F, 0x05}, PIDPeriod: 400 * time.Millisecond,
		OnValues: func(_ time.Time, _ string, d *obd.Decoded) {
			mu.Lock()
			for _, v := range d.Values {
				got[v.Signal.ID] = v.Num
			}
			mu.Unlock()
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 1100*time.Millisecond)
	defer cancel()
	p.Run(ctx)
	// Every 200 ms from t=0 in 1.1 s: 6 polls of the BMS; the 7 PIDs every
	// 400 ms: 3 rounds of 2 requests (6 + 1 PIDs).
	if n := b.bms.count(0x22); n < 5 || n > 7 {
		t.Errorf("BMS polled %d times in 1.1 s at 200 ms", n)
	}
	if n := b.vcu.count(0x01); n < 5 || n > 7 {
		t.Errorf("%d service 01 requests, want about 6", n)
	}
	for _, r := range b.vcu.all() {
		if r[0] == 0x01 && len(r)-1 > 6 {
			t.Errorf("request with %d PIDs: % X", len(r)-1, r)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	// 0x30/2 = 24 %; 0x14E1/10 = 534.5 V; 60 km/h; 0xCC = 80 %; 0x3778 = 14.2 V;
	// 0x3D-40 = 21 C; 0x1E240/10 = 12345.6 km; 0x12C = 300 s; 0x41-40 = 25 C.
	for id, w := range map[string]float64{"SOC": 24, "HV": 534.5, "VSS": 60, "BAT_SOC": 80, "VPWR": 14.2, "AAT": 21, "ODO": 12345.6, "RUNTM": 300, "ECT": 25} {
		if v, ok := got[id]; !ok || v-w > 1e-9 || w-v > 1e-9 {
			t.Errorf("%s = %v (seen %v), want %v", id, v, ok, w)
		}
	}
}

// TestPollerGuard: while the guard says the car sleeps, nothing at all is
// sent on the bus; polling resumes when it wakes and stops again.
func TestPollerGuard(t *testing.T) {
	b := newBench(t)
	var awake atomic.Bool
	p, err := obd.NewPoller(obd.PollerConfig{
		Transport: b.tr, Set: bmsSet(t, "0.1"), PIDs: []byte{0x0D}, PIDPeriod: 100 * time.Millisecond,
		GuardEvery: 20 * time.Millisecond,
		Guard: obd.GuardFunc(func(context.Context) (bool, string) {
			if awake.Load() {
				return true, "test: awake"
			}
			return false, "test: asleep"
		}),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { p.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	time.Sleep(400 * time.Millisecond)
	if n := b.vcu.count(0x01) + b.bms.count(0x22); n != 0 {
		t.Fatalf("%d requests while the car sleeps", n)
	}
	if st := p.Stats(); !st.Asleep || st.SleepReason != "test: asleep" {
		t.Errorf("stats %+v", st)
	}
	awake.Store(true)
	time.Sleep(400 * time.Millisecond)
	if n := b.bms.count(0x22); n < 2 {
		t.Fatalf("%d BMS requests after waking", n)
	}
	awake.Store(false)
	time.Sleep(100 * time.Millisecond) // a request in flight may finish
	before := b.vcu.count(0x01) + b.bms.count(0x22)
	time.Sleep(400 * time.Millisecond)
	if after := b.vcu.count(0x01) + b.bms.count(0x22); after != before {
		t.Errorf("%d requests after the car fell asleep", after-before)
	}
}

// TestPollerStopsWhenUnanswered: ECUs that do not answer (the car went to
// sleep, the guard did not notice) get SleepAfter requests, then silence
// for SleepBackoff.
func TestPollerStopsWhenUnanswered(t *testing.T) {
	b := newBench(t)
	b.mute.Store(true)
	p, err := obd.NewPoller(obd.PollerConfig{
		Transport: b.tr, Set: bmsSet(t, "0.1"), PIDs: []byte{0x0D}, PIDPeriod: 100 * time.Millisecond,
		SleepAfter: 3, SleepBackoff: 2 * time.Second, GuardEvery: 20 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	p.Run(ctx)
	if n := b.vcu.count(0x01) + b.bms.count(0x22); n != 3 {
		t.Errorf("%d requests to a silent car, want 3 then a pause; stats %+v", n, p.Stats())
	}
	if st := p.Stats(); !st.Asleep || st.NoData != 3 {
		t.Errorf("stats %+v", st)
	}
}

// TestPollerDisablesRefused: a command the ECU refuses (request out of
// range) three times is dropped; the rest goes on.
func TestPollerDisablesRefused(t *testing.T) {
	b := newBench(t)
	b.bmsR.Store(true)
	p, err := obd.NewPoller(obd.PollerConfig{
		Transport: b.tr, Set: bmsSet(t, "0.1"), PIDs: []byte{0x0D}, PIDPeriod: 100 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 800*time.Millisecond)
	defer cancel()
	p.Run(ctx)
	st := p.Stats()
	if n := b.bms.count(0x22); n != 3 {
		t.Errorf("refused command sent %d times, want 3", n)
	}
	if len(st.Disabled) != 1 || st.Disabled[0] != "7E4.7EC.220101" {
		t.Errorf("disabled %v", st.Disabled)
	}
	if n := b.vcu.count(0x01); n < 6 {
		t.Errorf("PID 0D polled %d times; the refused command must not stop the others", n)
	}
}

//go:build cgo

package malgo

import (
	"context"
	"errors"
	"testing"
	"time"

	ma "github.com/gen2brain/malgo"
	"go.uber.org/goleak"

	"github.com/evedge/evedge/drivers/audio"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestNullBackendConstant guards the off-by-one in malgo v0.11.24:
// ma.BackendNull names miniaudio's custom backend, which without callbacks
// has no devices, and the real null backend is one further. If malgo fixes
// its enumeration this fails: set nullBackend = ma.BackendNull.
func TestNullBackendConstant(t *testing.T) {
	if ctx, err := ma.InitContext([]ma.Backend{ma.BackendNull}, ma.ContextConfig{}, nil); err == nil {
		ctx.Uninit()
		ctx.Free()
		t.Fatal("ma.BackendNull now initialises: malgo fixed the off-by-one; drop the +1 in nullBackend")
	}
	ctx, err := ma.InitContext([]ma.Backend{nullBackend}, ma.ContextConfig{}, nil)
	if err != nil {
		t.Fatalf("ma.BackendNull+1 (miniaudio's null backend): %v", err)
	}
	ctx.Uninit()
	ctx.Free()
}

func TestDevicesNull(t *testing.T) {
	for _, k := range []Kind{CaptureDevice, PlaybackDevice} {
		devs, err := Devices(BackendNull, k)
		if err != nil {
			t.Fatal(err)
		}
		if len(devs) == 0 || devs[0].Name == "" || devs[0].ID == "" {
			t.Errorf("kind %d: devices %+v", k, devs)
		}
		t.Logf("null backend, kind %d: %+v", k, devs)
	}
}

// TestCaptureNull records from the null device: silence, at about real
// time, in the requested rate and channel count.
func TestCaptureNull(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
	}{
		{"f32 16k mono", Config{Backend: BackendNull, SampleRate: 16000, Channels: 1}},
		{"s16 48k 4ch", Config{Backend: BackendNull, SampleRate: 48000, Channels: 4, Format: Int16}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := OpenCapture(tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			var src audio.Source = c
			if f := src.Format(); f.SampleRate != tc.cfg.SampleRate || f.Channels != tc.cfg.Channels {
				t.Errorf("format %+v", f)
			}
			start := time.Now()
			frames := 0
			for frames < tc.cfg.SampleRate/5 && src.Receive() { // 200 ms
				s := src.Samples()
				if len(s)%tc.cfg.Channels != 0 {
					t.Fatalf("period of %d samples is not whole frames", len(s))
				}
				for _, v := range s {
					if v != 0 {
						t.Fatalf("null capture gave %v, want silence", v)
					}
				}
				if got := len(c.Int16()); got != len(s) {
					t.Fatalf("Int16 has %d samples, Samples %d", got, len(s))
				}
				frames += len(s) / tc.cfg.Channels
			}
			el := time.Since(start)
			if frames < tc.cfg.SampleRate/5 {
				t.Fatalf("capture ended after %d frames: %v", frames, src.Err())
			}
			// The null device runs on a timer; 200 ms of audio cannot come
			// much faster than real time.
			if el < 100*time.Millisecond || el > 5*time.Second {
				t.Errorf("200 ms of audio took %v", el)
			}
			c.Close()
			if c.Receive() {
				t.Error("Receive after Close returned true")
			}
			if c.Err() != nil {
				t.Errorf("Err after Close: %v", c.Err())
			}
			c.Close() // idempotent
		})
	}
}

// TestCaptureReceiveAfterCloseQueued: with periods still queued when the
// capture is closed, Receive returns false every time (it used to pick at
// random between a queued period and the closed signal).
func TestCaptureReceiveAfterCloseQueued(t *testing.T) {
	for range 20 {
		c, err := OpenCapture(Config{Backend: BackendNull, PeriodMs: 5})
		if err != nil {
			t.Fatal(err)
		}
		if !c.Receive() {
			t.Fatalf("first Receive: %v", c.Err())
		}
		time.Sleep(50 * time.Millisecond) // the null device queues more periods
		c.Close()
		if c.Receive() {
			t.Fatal("Receive after Close returned true with periods queued")
		}
	}
}

func TestCaptureCloseUnblocksReceive(t *testing.T) {
	c, err := OpenCapture(Config{Backend: BackendNull, PeriodMs: 500})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan bool)
	go func() {
		for c.Receive() {
		}
		done <- true
	}()
	time.Sleep(50 * time.Millisecond)
	c.Close()
	select {
	case <-done:
	case <-time.After(3 * time.Second):
		t.Fatal("Receive did not return after Close")
	}
}

func TestPlaybackNull(t *testing.T) {
	for _, f := range []SampleFormat{Float32, Int16} {
		p, err := OpenPlayback(Config{Backend: BackendNull, SampleRate: 16000, Channels: 2, Format: f, Buffer: 5})
		if err != nil {
			t.Fatal(err)
		}
		// 300 ms of stereo, more than the 50 ms queue: Write must block and
		// the null device must consume at about real time.
		x := make([]float32, 2*16000*3/10)
		for i := range x {
			x[i] = float32(i%100) / 100
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		start := time.Now()
		if err := p.Play(ctx, x); err != nil {
			t.Fatal(err)
		}
		if el := time.Since(start); el < 150*time.Millisecond {
			t.Errorf("300 ms played in %v", el)
		}
		cancel()
		// A cancelled context stops a blocked write.
		ctx, cancel = context.WithCancel(context.Background())
		cancel()
		if _, err := p.write(ctx, make([]float32, 10*len(p.ring))); !errors.Is(err, context.Canceled) {
			t.Errorf("write with a cancelled context: %v", err)
		}
		p.Close()
		if _, err := p.Write(make([]float32, 2*len(p.ring))); err == nil {
			t.Error("Write after Close succeeded")
		}
	}
}

func TestConfigErrors(t *testing.T) {
	for _, cfg := range []Config{
		{SampleRate: 10},
		{Channels: 99},
		{PeriodMs: -1},
		{Buffer: -2},
		{Format: 7},
		{Backend: 42},
		{Backend: BackendNull, Device: "not hex"},
	} {
		if c, err := OpenCapture(cfg); err == nil {
			c.Close()
			t.Errorf("%+v accepted", cfg)
		}
	}
}

// TestNoDeviceIsSentinel: on a machine without sound hardware the real
// backends must say audio.ErrNoDevice, not hand out the null device.
func TestNoDeviceIsSentinel(t *testing.T) {
	c, err := OpenCapture(Config{})
	if err == nil {
		c.Close()
		t.Skip("this machine has a capture device")
	}
	if !errors.Is(err, audio.ErrNoDevice) {
		t.Fatalf("open without hardware: %v, want audio.ErrNoDevice", err)
	}
	t.Logf("as expected: %v", err)
	if _, err := Devices(BackendAuto, CaptureDevice); err != nil && !errors.Is(err, audio.ErrNoDevice) {
		t.Errorf("Devices without hardware: %v", err)
	}
}

//go:build cgo

package malgo

// #include <stdlib.h>
import "C"

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"unsafe"

	ma "github.com/gen2brain/malgo"

	"github.com/evedge/evedge/drivers/audio"
)

// nullBackend is miniaudio's null backend. malgo v0.11.24's BackendNull is
// off by one against the bundled miniaudio (it names ma_backend_custom);
// TestNullBackendConstant fails when a malgo release fixes it.
const nullBackend = ma.Backend(ma.BackendNull + 1)

// realBackends are tried, in miniaudio's priority order, for BackendAuto:
// every backend but custom, null and webaudio.
var realBackends = []ma.Backend{
	ma.BackendWasapi, ma.BackendDsound, ma.BackendWinmm, ma.BackendCoreaudio,
	ma.BackendSndio, ma.BackendAudio4, ma.BackendOss, ma.BackendPulseaudio,
	ma.BackendAlsa, ma.BackendJack, ma.BackendAaudio, ma.BackendOpensl,
}

func backends(b Backend) []ma.Backend {
	switch b {
	case BackendALSA:
		return []ma.Backend{ma.BackendAlsa}
	case BackendPulseAudio:
		return []ma.Backend{ma.BackendPulseaudio}
	case BackendNull:
		return []ma.Backend{nullBackend}
	}
	return realBackends
}

// noDevice reports whether a miniaudio error means "no hardware".
func noDevice(err error) bool {
	for _, e := range []ma.Result{ma.ErrNoBackend, ma.ErrNoDevice, ma.ErrDoesNotExist,
		ma.ErrFailedToInitBackend, ma.ErrFailedToOpenBackendDevice, ma.ErrAPINotFound} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

func newContext(b Backend) (*ma.AllocatedContext, error) {
	ctx, err := ma.InitContext(backends(b), ma.ContextConfig{}, nil)
	if err != nil {
		if noDevice(err) {
			return nil, fmt.Errorf("audio/malgo: %s backend: %w (%w)", b, audio.ErrNoDevice, err)
		}
		return nil, fmt.Errorf("audio/malgo: %s backend: %w", b, err)
	}
	return ctx, nil
}

func freeContext(ctx *ma.AllocatedContext) {
	_ = ctx.Uninit()
	ctx.Free()
}

// Devices lists the devices of one direction. An empty list is
// audio.ErrNoDevice.
func Devices(b Backend, k Kind) ([]DeviceInfo, error) {
	ctx, err := newContext(b)
	if err != nil {
		return nil, err
	}
	defer freeContext(ctx)
	infos, err := ctx.Devices(deviceType(k))
	if err != nil {
		return nil, fmt.Errorf("audio/malgo: listing %s devices: %w", b, err)
	}
	var out []DeviceInfo
	for _, d := range infos {
		out = append(out, DeviceInfo{ID: d.ID.String(), Name: d.Name(), Default: d.IsDefault != 0})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("audio/malgo: %s backend: %w", b, audio.ErrNoDevice)
	}
	return out, nil
}

func deviceType(k Kind) ma.DeviceType {
	if k == PlaybackDevice {
		return ma.Playback
	}
	return ma.Capture
}

// device is what Capture and Playback share: a context and an open device.
type device struct {
	cfg     Config
	ctx     *ma.AllocatedContext
	dev     *ma.Device
	idC     unsafe.Pointer // C copy of the device ID, or nil
	closeMu sync.Mutex
	closed  bool
}

func openDevice(cfg Config, k Kind, cb ma.DeviceCallbacks) (*device, error) {
	d := &device{cfg: cfg}
	var err error
	if d.ctx, err = newContext(cfg.Backend); err != nil {
		return nil, err
	}
	dc := ma.DefaultDeviceConfig(deviceType(k))
	dc.SampleRate = uint32(cfg.SampleRate)
	dc.PeriodSizeInMilliseconds = uint32(cfg.PeriodMs)
	sub := ma.SubConfig{Format: ma.FormatF32, Channels: uint32(cfg.Channels)}
	if cfg.Format == Int16 {
		sub.Format = ma.FormatS16
	}
	if cfg.Device != "" {
		raw, err := hex.DecodeString(cfg.Device)
		var id ma.DeviceID
		if err != nil || len(raw) > len(id) {
			freeContext(d.ctx)
			return nil, fmt.Errorf("audio/malgo: invalid 'Device' %q", cfg.Device)
		}
		copy(id[:], raw)
		d.idC = C.CBytes(id[:])
		sub.DeviceID = d.idC
	}
	if k == PlaybackDevice {
		dc.Playback = sub
	} else {
		dc.Capture = sub
	}
	d.dev, err = ma.InitDevice(d.ctx.Context, dc, cb)
	if err != nil {
		d.free()
		if noDevice(err) {
			return nil, fmt.Errorf("audio/malgo: open %s device %q: %w (%w)", cfg.Backend, cfg.Device, audio.ErrNoDevice, err)
		}
		return nil, fmt.Errorf("audio/malgo: open %s device %q: %w", cfg.Backend, cfg.Device, err)
	}
	return d, nil
}

func (d *device) free() {
	if d.idC != nil {
		C.free(d.idC)
		d.idC = nil
	}
	freeContext(d.ctx)
}

// close stops and frees the device once; it reports whether this call did.
func (d *device) close() bool {
	d.closeMu.Lock()
	defer d.closeMu.Unlock()
	if d.closed {
		return false
	}
	d.closed = true
	d.dev.Uninit() // stops the device: no callback runs after this
	d.free()
	return true
}

// Capture records from a device. It implements audio.Source: Receive
// blocks for the next period. If the reader falls more than Config.Buffer
// periods behind, periods are dropped and counted.
type Capture struct {
	d       *device
	sampleB int
	free    chan []byte
	data    chan []byte
	done    chan struct{}
	stopped chan struct{} // closed by the device's stop callback
	dropped atomic.Int64

	cur   []float32
	cur16 []int16
	raw   []byte
	err   error
}

// OpenCapture opens and starts a capture device.
func OpenCapture(cfg Config) (*Capture, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	c := &Capture{
		sampleB: 4,
		free:    make(chan []byte, cfg.Buffer),
		data:    make(chan []byte, cfg.Buffer),
		done:    make(chan struct{}),
		stopped: make(chan struct{}),
	}
	if cfg.Format == Int16 {
		c.sampleB = 2
	}
	period := cfg.SampleRate * cfg.PeriodMs / 1000 * cfg.Channels * c.sampleB
	for i := 0; i < cfg.Buffer; i++ {
		c.free <- make([]byte, 0, period)
	}
	var stopOnce sync.Once
	c.d, err = openDevice(cfg, CaptureDevice, ma.DeviceCallbacks{
		Data: c.onData,
		Stop: func() { stopOnce.Do(func() { close(c.stopped) }) },
	})
	if err != nil {
		return nil, err
	}
	if err := c.d.dev.Start(); err != nil {
		c.d.close()
		return nil, fmt.Errorf("audio/malgo: start capture: %w", err)
	}
	return c, nil
}

// onData runs on miniaudio's thread: copy the period into a free buffer or
// count it dropped; never block.
func (c *Capture) onData(_, in []byte, _ uint32) {
	select {
	case b := <-c.free:
		b = append(b[:0], in...)
		c.data <- b // cannot block: at most Buffer buffers exist
	default:
		c.dropped.Add(1)
	}
}

// Format implements audio.Source.
func (c *Capture) Format() audio.Format { return c.d.cfg.audioFormat() }

// Receive waits for the next period; false after Close or if the device
// stopped (Err says which).
func (c *Capture) Receive() bool {
	if c.raw != nil {
		c.free <- c.raw
		c.raw = nil
	}
	// Closed first: with a period still queued the select below would
	// pick at random between it and done, and a Receive after Close could
	// return true.
	select {
	case <-c.done:
		return false
	default:
	}
	var b []byte
	select {
	case b = <-c.data:
	case <-c.done:
		return false
	case <-c.stopped:
		select {
		case b = <-c.data:
		default:
			select {
			case <-c.done:
			default:
				c.err = errors.New("audio/malgo: capture device stopped")
			}
			return false
		}
	}
	c.raw = b
	c.cur, c.cur16 = c.cur[:0], c.cur16[:0]
	ne := binary.NativeEndian
	if c.sampleB == 2 {
		for i := 0; i+2 <= len(b); i += 2 {
			c.cur16 = append(c.cur16, int16(ne.Uint16(b[i:])))
		}
		c.cur = audio.Int16ToFloat32(c.cur, c.cur16)
	} else {
		for i := 0; i+4 <= len(b); i += 4 {
			c.cur = append(c.cur, math.Float32frombits(ne.Uint32(b[i:])))
		}
	}
	return true
}

// Samples is the last period as float32 in [-1, 1], interleaved.
func (c *Capture) Samples() []float32 { return c.cur }

// Int16 is the last period as int16 when Config.Format is Int16 (else
// converted from float).
func (c *Capture) Int16() []int16 {
	if c.sampleB == 4 {
		c.cur16 = audio.Float32ToInt16(c.cur16[:0], c.cur)
	}
	return c.cur16
}

// Dropped is the number of periods lost because the reader was slow.
func (c *Capture) Dropped() int64 { return c.dropped.Load() }

// Err implements audio.Source: nil after Close.
func (c *Capture) Err() error { return c.err }

// Close stops the device and ends Receive. It must not race with Receive
// on another goroutine other than to unblock it.
func (c *Capture) Close() error {
	if c.d.close() {
		close(c.done)
	}
	return nil
}

// Playback plays samples through a device. Write queues interleaved float32
// samples (converted to the device format in the callback); when the queue
// runs dry the device plays silence and counts an underrun.
type Playback struct {
	d *device

	mu        sync.Mutex
	ring      []float32
	head, n   int // read position, queued samples
	space     chan struct{}
	empty     chan struct{}
	underruns atomic.Int64
	done      chan struct{}
}

// OpenPlayback opens and starts a playback device.
func OpenPlayback(cfg Config) (*Playback, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	p := &Playback{
		ring:  make([]float32, cfg.SampleRate*cfg.PeriodMs/1000*cfg.Channels*cfg.Buffer),
		space: make(chan struct{}, 1),
		empty: make(chan struct{}, 1),
		done:  make(chan struct{}),
	}
	p.d, err = openDevice(cfg, PlaybackDevice, ma.DeviceCallbacks{Data: p.onData})
	if err != nil {
		return nil, err
	}
	if err := p.d.dev.Start(); err != nil {
		p.d.close()
		return nil, fmt.Errorf("audio/malgo: start playback: %w", err)
	}
	return p, nil
}

func (p *Playback) onData(out, _ []byte, _ uint32) {
	s16 := p.d.cfg.Format == Int16
	size := 4
	if s16 {
		size = 2
	}
	want := len(out) / size
	p.mu.Lock()
	had := p.n
	n := min(want, p.n)
	ne := binary.NativeEndian
	for i := 0; i < n; i++ {
		v := p.ring[(p.head+i)%len(p.ring)]
		if s16 {
			ne.PutUint16(out[2*i:], uint16(audio.Int16Of(v)))
		} else {
			ne.PutUint32(out[4*i:], math.Float32bits(v))
		}
	}
	p.head = (p.head + n) % len(p.ring)
	p.n -= n
	left := p.n
	p.mu.Unlock()
	clear(out[n*size:])
	if had > 0 && n < want {
		p.underruns.Add(1)
	}
	if n > 0 {
		signal(p.space)
	}
	if left == 0 {
		signal(p.empty)
	}
}

func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// Format is the stream format Write expects.
func (p *Playback) Format() audio.Format { return p.d.cfg.audioFormat() }

// Write queues samples (interleaved, Config.Channels per frame), blocking
// while the queue is full. It returns how many were queued.
func (p *Playback) Write(samples []float32) (int, error) {
	return p.write(context.Background(), samples)
}

// Play queues samples and waits until the device has taken them all.
func (p *Playback) Play(ctx context.Context, samples []float32) error {
	if _, err := p.write(ctx, samples); err != nil {
		return err
	}
	return p.Drain(ctx)
}

func (p *Playback) write(ctx context.Context, samples []float32) (int, error) {
	written := 0
	for len(samples) > 0 {
		p.mu.Lock()
		free := len(p.ring) - p.n
		k := min(free, len(samples))
		tail := (p.head + p.n) % len(p.ring)
		for i := 0; i < k; i++ {
			p.ring[(tail+i)%len(p.ring)] = samples[i]
		}
		p.n += k
		p.mu.Unlock()
		samples = samples[k:]
		written += k
		if len(samples) == 0 {
			break
		}
		select {
		case <-p.space:
		case <-p.done:
			return written, errors.New("audio/malgo: playback closed")
		case <-ctx.Done():
			return written, ctx.Err()
		}
	}
	return written, nil
}

// Drain waits until every queued sample has been handed to the device.
func (p *Playback) Drain(ctx context.Context) error {
	for {
		p.mu.Lock()
		n := p.n
		p.mu.Unlock()
		if n == 0 {
			return nil
		}
		select {
		case <-p.empty:
		case <-p.done:
			return errors.New("audio/malgo: playback closed")
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Underruns counts callbacks that found the queue short mid-stream.
func (p *Playback) Underruns() int64 { return p.underruns.Load() }

// Close stops the device; queued samples are discarded.
func (p *Playback) Close() error {
	if p.d.close() {
		close(p.done)
	}
	return nil
}

// Package agent is the evedge daemon: it wires frame sources (SocketCAN
// buses, log replay, the simulated car) to the decode stage and the
// last-known-value table, keeps per-bus counters, and shuts down in order:
// sources stop first, then the decode stage drains what they delivered.
// It is the only package that imports everything.
package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/evedge/evedge/agent/signals"
	"github.com/evedge/evedge/drivers/can"
)

// Source is a frame source the agent runs: a bus, a log replay, the sim.
type Source struct {
	// Name is shown in logs and the live view ("can0", "replay kona.asc").
	Name string
	// Src delivers frames; Receive must return false once ctx is done.
	Src can.Source
	// Run, if set, is started beside the source (for example the simulator
	// that writes to the bus Src reads). Its error is reported.
	Run func(ctx context.Context) error
	// Close releases the source after it stopped.
	Close func() error
	// Dropped reports frames the source lost (receive overruns).
	Dropped func() uint64
	// Skipped reports unparseable log lines.
	Skipped func() int
	// Values, for a source without frames (Src nil) such as an OBD-II
	// poller, runs until ctx is done and hands decoded values to emit. The
	// values' signals must belong to the agent's database (see
	// signals.Database.AddExternal); emit may be called from any goroutine
	// but not concurrently for the same signal.
	Values func(ctx context.Context, emit func(vals []signals.Value, t int64)) error
}

// Agent runs the pipeline.
type Agent struct {
	db    *signals.Database
	table *signals.Table
	log   *slog.Logger
	now   func() time.Time

	sources []Source
	buses   [256]busCounters
	started time.Time

	mu      sync.Mutex
	srcErrs []error
	running atomic.Bool

	rec       Recorder
	clock     *secondClock // nil: no OnSecond
	recErrors atomic.Uint64
	extValues atomic.Uint64 // values from frameless sources (OBD)
}

type busCounters struct {
	frames   atomic.Uint64
	unknown  atomic.Uint64
	errors   atomic.Uint64
	values   atomic.Uint64
	lastSeen atomic.Int64
}

// Recorder keeps what the agent sees: raw frames and decoded values. The
// store (agent/store) implements it through a small adapter in the command;
// nil records nothing.
type Recorder interface {
	// AppendFrames records raw frames; the slice is reused after the call.
	AppendFrames(frames []can.Frame) error
	// RecordValues records the values decoded from one frame at t (unix ns).
	RecordValues(vals []signals.Value, t int64)
}

// Options configure an Agent.
type Options struct {
	DB       *signals.Database // with the signal map applied
	Recorder Recorder          // nil: record nothing
	Logger   *slog.Logger      // nil: discard
	Now      func() time.Time  // nil: time.Now
	// OnSecond, when set, is called for every whole second of data time
	// the frames and values pass, in order, after everything stamped
	// before that second is in the table (see Table); it runs on the
	// decoding path, so it must be quick.
	OnSecond func(t time.Time)
}

// New returns an agent decoding with opts.DB.
func New(opts Options) (*Agent, error) {
	if opts.DB == nil {
		return nil, errors.New("agent: no DBC database")
	}
	a := &Agent{db: opts.DB, table: signals.NewTable(opts.DB), log: opts.Logger, now: opts.Now, rec: opts.Recorder}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	if opts.OnSecond != nil {
		a.clock = newSecondClock(opts.OnSecond)
	}
	if a.now == nil {
		a.now = time.Now
	}
	return a, nil
}

// Add registers a source; call before Run.
func (a *Agent) Add(s Source) { a.sources = append(a.sources, s) }

// Table is the last-known-value table.
func (a *Agent) Table() *signals.Table { return a.table }

// DB is the decoder database.
func (a *Agent) DB() *signals.Database { return a.db }

// Run runs until ctx is done or every source has ended, then drains the
// decode stage. It returns the first source error, if any.
func (a *Agent) Run(ctx context.Context) error {
	if len(a.sources) == 0 {
		return errors.New("agent: no source (configure a CAN interface, an OBD adapter, --replay or the sim board)")
	}
	a.started = a.now()
	a.running.Store(true)
	defer a.running.Store(false)

	srcCtx, stopSources := context.WithCancel(ctx)
	defer stopSources()
	frames := make(chan can.Frame, 8192)

	var srcWG, runWG sync.WaitGroup
	frameSources := 0
	for i := range a.sources {
		s := a.sources[i]
		if s.Run != nil {
			runWG.Add(1)
			go func() {
				defer runWG.Done()
				if err := s.Run(srcCtx); err != nil && !errors.Is(err, context.Canceled) {
					a.srcErr(fmt.Errorf("%s: %w", s.Name, err))
					stopSources()
				}
			}()
		}
		if s.Src == nil {
			// A frameless source runs beside the frame sources and stops
			// with them (or with ctx when there are none).
			runWG.Add(1)
			go func() {
				defer runWG.Done()
				if s.Values == nil {
					a.srcErr(fmt.Errorf("%s: source has neither frames nor values", s.Name))
					return
				}
				if err := s.Values(srcCtx, a.emitValues); err != nil && !errors.Is(err, context.Canceled) {
					a.srcErr(fmt.Errorf("%s: %w", s.Name, err))
				}
			}()
			continue
		}
		frameSources++
		srcWG.Add(1)
		go func() {
			defer srcWG.Done()
			a.pump(srcCtx, s, frames)
		}()
	}
	if frameSources == 0 {
		<-srcCtx.Done()
	}
	decoded := make(chan struct{})
	go func() {
		defer close(decoded)
		a.decode(frames)
	}()
	srcWG.Wait()
	stopSources() // sources ended by themselves (replay finished): stop runners
	runWG.Wait()
	close(frames)
	<-decoded
	for _, s := range a.sources {
		if s.Close != nil {
			if err := s.Close(); err != nil {
				a.srcErr(fmt.Errorf("%s: close: %w", s.Name, err))
			}
		}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return errors.Join(a.srcErrs...)
}

// emitValues takes values from a frameless source (OBD poller).
func (a *Agent) emitValues(vals []signals.Value, t int64) {
	if len(vals) == 0 {
		return
	}
	if a.clock != nil {
		a.clock.advance(t)
	}
	a.table.Update(vals, t)
	a.extValues.Add(uint64(len(vals)))
	if a.rec != nil {
		a.rec.RecordValues(vals, t)
	}
}

func (a *Agent) srcErr(err error) {
	a.mu.Lock()
	a.srcErrs = append(a.srcErrs, err)
	a.mu.Unlock()
}

func (a *Agent) pump(ctx context.Context, s Source, out chan<- can.Frame) {
	for s.Src.Receive() {
		select {
		case out <- s.Src.Frame():
		case <-ctx.Done():
			return
		}
	}
	if err := s.Src.Err(); err != nil && !errors.Is(err, context.Canceled) {
		a.srcErr(fmt.Errorf("%s: %w", s.Name, err))
	}
}

// decode is the hot path: lookup, decode, update the table and counters,
// and hand frames (in batches) and values to the recorder.
func (a *Agent) decode(in <-chan can.Frame) {
	out := make([]signals.Value, 0, 256)
	var batch []can.Frame
	if a.rec != nil {
		batch = make([]can.Frame, 0, 1024)
	}
	flush := func() {
		if len(batch) == 0 {
			return
		}
		if err := a.rec.AppendFrames(batch); err != nil {
			if a.recErrors.Add(1) == 1 {
				a.log.Error("recording frames failed; the agent goes on", "err", err)
			}
		}
		batch = batch[:0]
	}
	for f := range in {
		c := &a.buses[f.Bus]
		c.frames.Add(1)
		c.lastSeen.Store(f.Time)
		if a.clock != nil {
			a.clock.advance(f.Time)
		}
		if a.rec != nil {
			batch = append(batch, f)
		}
		if f.Flags&can.ErrorFrame != 0 {
			c.errors.Add(1)
		} else if m := a.db.Lookup(&f); m == nil {
			c.unknown.Add(1)
		} else {
			out = m.Decode(&f, out[:0])
			a.table.Update(out, f.Time)
			c.values.Add(uint64(len(out)))
			if a.rec != nil {
				a.rec.RecordValues(out, f.Time)
			}
		}
		if a.rec != nil && (len(batch) == cap(batch) || len(in) == 0) {
			flush()
		}
	}
	if a.rec != nil {
		flush()
	}
}

// ExternalValues counts values from frameless sources (OBD pollers).
func (a *Agent) ExternalValues() uint64 { return a.extValues.Load() }

// RecordErrors counts failed hand-overs to the recorder.
func (a *Agent) RecordErrors() uint64 { return a.recErrors.Load() }

// BusStats are one bus's counters since start.
type BusStats struct {
	Bus     uint8
	Frames  uint64 // frames received
	Unknown uint64 // frames whose id the DBC does not define
	Errors  uint64 // error frames
	Values  uint64 // signal values decoded
}

// SourceStats are one source's loss counters.
type SourceStats struct {
	Name    string
	Dropped uint64 // frames lost by the source (overruns)
	Skipped int    // log lines that did not parse
}

// Stats returns counters of the buses that have seen frames.
func (a *Agent) Stats() []BusStats {
	var out []BusStats
	for i := range a.buses {
		c := &a.buses[i]
		n := c.frames.Load()
		if n == 0 {
			continue
		}
		out = append(out, BusStats{Bus: uint8(i), Frames: n, Unknown: c.unknown.Load(), Errors: c.errors.Load(), Values: c.values.Load()})
	}
	return out
}

// SourceStats returns each source's loss counters.
func (a *Agent) SourceStats() []SourceStats {
	out := make([]SourceStats, 0, len(a.sources))
	for _, s := range a.sources {
		st := SourceStats{Name: s.Name}
		if s.Dropped != nil {
			st.Dropped = s.Dropped()
		}
		if s.Skipped != nil {
			st.Skipped = s.Skipped()
		}
		out = append(out, st)
	}
	return out
}

// Started is when Run began.
func (a *Agent) Started() time.Time { return a.started }

// DataNow is the newest frame time seen on any bus: the clock of the data,
// which runs ahead of or behind the wall clock in replays and the sim.
func (a *Agent) DataNow() time.Time {
	var t int64
	for i := range a.buses {
		if v := a.buses[i].lastSeen.Load(); v > t {
			t = v
		}
	}
	return time.Unix(0, t)
}

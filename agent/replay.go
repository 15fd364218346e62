package agent

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/evedge/evedge/drivers/can"
)

// Paced replays a source at speed times the recorded pace: with speed 2 a
// 10 s log plays in 5 s. speed <= 0 means as fast as the pipeline takes it.
// Frame times are rebased so the first frame is stamped with start (unix ns)
// when rebase is set, keeping relative logs (GVRET, ASC) in wall time.
type Paced struct {
	src    can.Source
	ctx    context.Context
	speed  float64
	sleep  func(ctx context.Context, d time.Duration) bool
	now    func() time.Time
	rebase bool

	first    bool
	t0Log    int64
	t0Wall   time.Time
	shift    int64
	f        can.Frame
	canceled bool
}

// NewPaced wraps src. now and sleep may be nil (real clock).
func NewPaced(ctx context.Context, src can.Source, speed float64, now func() time.Time, rebase bool) *Paced {
	if now == nil {
		now = time.Now
	}
	return &Paced{src: src, ctx: ctx, speed: speed, now: now, sleep: sleepCtx, rebase: rebase, first: true}
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// Receive returns the next frame once it is due.
func (p *Paced) Receive() bool {
	if p.ctx.Err() != nil {
		p.canceled = true
		return false
	}
	if !p.src.Receive() {
		return false
	}
	f := p.src.Frame()
	if p.first {
		p.first = false
		p.t0Log = f.Time
		p.t0Wall = p.now()
		if p.rebase {
			p.shift = p.t0Wall.UnixNano() - f.Time
		}
	}
	if p.speed > 0 {
		due := time.Duration(float64(f.Time-p.t0Log) / p.speed)
		if wait := due - p.now().Sub(p.t0Wall); wait > time.Millisecond {
			if !p.sleep(p.ctx, wait) {
				p.canceled = true
				return false
			}
		}
	}
	f.Time += p.shift
	p.f = f
	return true
}

// Frame returns the frame read by Receive.
func (p *Paced) Frame() can.Frame { return p.f }

// Err returns the wrapped source's error.
func (p *Paced) Err() error { return p.src.Err() }

// ParseSpeed reads a replay speed: a positive number, or "max" (returns 0).
func ParseSpeed(s string) (float64, error) {
	if s == "max" {
		return 0, nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v <= 0 || math.IsInf(v, 0) {
		return 0, fmt.Errorf("speed %q: expected a positive number or \"max\"", s)
	}
	return v, nil
}

// Loop replays a log again and again: each pass is shifted in time so that
// frame times keep increasing (pass n+1 starts one mean frame interval
// after the last frame of pass n). passes <= 0 loops until ctx is done.
type Loop struct {
	ctx    context.Context
	open   func() (can.Source, func() error, error)
	passes int

	cur      can.Source
	closeCur func() error
	pass     int
	shift    int64
	first    int64
	last     int64
	n        int64
	f        can.Frame
	err      error
}

// NewLoop returns a source that calls open for each pass.
func NewLoop(ctx context.Context, passes int, open func() (can.Source, func() error, error)) *Loop {
	return &Loop{ctx: ctx, open: open, passes: passes}
}

// Receive returns the next frame of the current pass, opening the next pass
// at the end of one.
func (l *Loop) Receive() bool {
	for {
		if l.err != nil || l.ctx.Err() != nil {
			return false
		}
		if l.cur == nil {
			if l.passes > 0 && l.pass >= l.passes {
				return false
			}
			src, closer, err := l.open()
			if err != nil {
				l.err = err
				return false
			}
			l.cur, l.closeCur = src, closer
			if l.pass > 0 {
				gap := int64(time.Millisecond)
				if l.n > 1 && l.last > l.first {
					gap = (l.last - l.first) / (l.n - 1)
				}
				l.shift += l.last - l.first + gap
			}
			l.pass++
			l.n = 0
		}
		if l.cur.Receive() {
			f := l.cur.Frame()
			if l.n == 0 {
				l.first = f.Time
			}
			l.last = f.Time
			l.n++
			f.Time += l.shift
			l.f = f
			return true
		}
		err := l.cur.Err()
		if l.closeCur != nil {
			if cerr := l.closeCur(); err == nil {
				err = cerr
			}
		}
		l.cur = nil
		if err != nil {
			l.err = err
			return false
		}
		if l.n == 0 { // an empty log would loop forever
			return false
		}
	}
}

// Frame returns the frame read by Receive.
func (l *Loop) Frame() can.Frame { return l.f }

// Err returns the first error of a pass.
func (l *Loop) Err() error { return l.err }

// Pass is the number of the current pass, from 1.
func (l *Loop) Pass() int { return l.pass }

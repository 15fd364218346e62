package agent

import (
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// secondClock calls fn once for every whole second of data time the
// agent's data passes, in order, each time after the values stamped
// before that second are in the table: consumers that sample the table
// once a second (the fault model) see every second of the data, whether
// it arrives in real time or from a replay at 100×.
type secondClock struct {
	next atomic.Int64 // the next whole second to tick (unix ns); notStarted before the first frame
	mu   sync.Mutex
	fn   func(time.Time)
}

const notStarted = math.MinInt64

func newSecondClock(fn func(time.Time)) *secondClock {
	c := &secondClock{fn: fn}
	c.next.Store(notStarted)
	return c
}

// maxCatchUp bounds the seconds ticked after a jump in data time; a longer
// jump ticks only its last second (consumers see a gap).
const maxCatchUp = 10 * time.Minute

// advance moves the clock to t (unix ns), ticking the seconds it passes.
// Data going back by more than a minute (a replay starting over) restarts
// it. Cheap when no second is passed: one atomic load.
func (c *secondClock) advance(t int64) {
	const sec = int64(time.Second)
	n := c.next.Load()
	if n != notStarted && t < n && t > n-int64(time.Minute) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	n = c.next.Load()
	if n == notStarted || t <= n-int64(time.Minute) {
		c.next.Store(floorSec(t) + sec)
		return
	}
	if t < n {
		return
	}
	last := floorSec(t)
	from := n
	if last-from > int64(maxCatchUp) {
		from = last
	}
	for b := from; b <= last; b += sec {
		c.fn(time.Unix(0, b))
	}
	c.next.Store(last + sec)
}

func floorSec(t int64) int64 {
	const sec = int64(time.Second)
	f := t / sec * sec
	if f > t {
		f -= sec
	}
	return f
}

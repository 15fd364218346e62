package agent

import (
	"testing"
	"time"
)

// TestSecondClock: every whole second passed is ticked once, in order,
// including seconds without data; long jumps tick only their end; going
// back a minute restarts.
func TestSecondClock(t *testing.T) {
	var got []int64
	c := newSecondClock(func(t time.Time) { got = append(got, t.Unix()) })
	s := int64(time.Second)
	c.advance(100*s + 300)        // starts: next tick at 101
	c.advance(100*s + 900_000_00) // same second
	c.advance(101 * s)            // exactly on 101
	c.advance(101*s + 5)
	c.advance(104*s + 7) // 102, 103, 104
	c.advance(103 * s)   // a little back (another bus): nothing
	want := []int64{101, 102, 103, 104}
	if !equal(got, want) {
		t.Fatalf("ticks %v, want %v", got, want)
	}
	got = nil
	c.advance(104*s + int64(time.Hour)) // a jump: only its last second
	if !equal(got, []int64{104 + 3600}) {
		t.Fatalf("after a jump %v", got)
	}
	got = nil
	c.advance(50 * s) // a replay starts over: restart, no tick
	c.advance(51 * s)
	if !equal(got, []int64{51}) {
		t.Fatalf("after going back %v", got)
	}
	got = nil
	c = newSecondClock(func(t time.Time) { got = append(got, t.Unix()) })
	c.advance(-1) // logs with relative times: floor, not truncation toward zero
	c.advance(0)
	if !equal(got, []int64{0}) {
		t.Fatalf("around 0: %v", got)
	}
}

func equal(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func BenchmarkSecondClockNoTick(b *testing.B) {
	c := newSecondClock(func(time.Time) {})
	c.advance(1)
	for i := 0; b.Loop(); i++ {
		c.advance(int64(i % 1000))
	}
}

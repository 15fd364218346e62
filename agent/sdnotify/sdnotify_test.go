package sdnotify

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// listen opens a real unixgram socket, as systemd does for a Type=notify
// unit, and returns its path and a channel of the datagrams it receives.
func listen(t *testing.T) (string, <-chan string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify.sock")
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan string, 100)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(ch)
		buf := make([]byte, 4096)
		for {
			n, err := c.Read(buf)
			if err != nil {
				return
			}
			ch <- string(buf[:n])
		}
	}()
	t.Cleanup(func() { c.Close(); wg.Wait() })
	return path, ch
}

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func recv(t *testing.T, ch <-chan string) string {
	t.Helper()
	select {
	case s := <-ch:
		return s
	case <-time.After(5 * time.Second):
		t.Fatal("no notification")
		return ""
	}
}

func TestNotify(t *testing.T) {
	path, ch := listen(t)
	n, err := FromEnv(env(map[string]string{"NOTIFY_SOCKET": path}), 42)
	if err != nil || n == nil {
		t.Fatal(n, err)
	}
	if n.WatchdogInterval() != 0 {
		t.Error("watchdog without WATCHDOG_USEC")
	}
	for _, tc := range []struct {
		send func() error
		want string
	}{
		{func() error { return n.Ready("board sim") }, "READY=1\nSTATUS=board sim\n"},
		{func() error { return n.Ready("") }, "READY=1\n"},
		{func() error { return n.Watchdog() }, "WATCHDOG=1\n"},
		{func() error { return n.Status("recording") }, "STATUS=recording\n"},
		{func() error { return n.Stopping() }, "STOPPING=1\n"},
	} {
		if err := tc.send(); err != nil {
			t.Fatal(err)
		}
		if got := recv(t, ch); got != tc.want {
			t.Errorf("got %q, want %q", got, tc.want)
		}
	}
}

func TestFromEnv(t *testing.T) {
	// No NOTIFY_SOCKET: a nil Notifier whose methods do nothing.
	n, err := FromEnv(env(nil), 42)
	if n != nil || err != nil {
		t.Fatal(n, err)
	}
	if n.Ready("x") != nil || n.Stopping() != nil || n.WatchdogInterval() != 0 {
		t.Error("nil Notifier")
	}
	n.RunWatchdog(context.Background(), WatchdogOptions{}) // returns at once
	for _, tc := range []struct {
		env     map[string]string
		wd      time.Duration
		wantErr string
	}{
		{map[string]string{"NOTIFY_SOCKET": "/run/x", "WATCHDOG_USEC": "30000000"}, 30 * time.Second, ""},
		{map[string]string{"NOTIFY_SOCKET": "@abstract", "WATCHDOG_USEC": "2000000", "WATCHDOG_PID": "42"}, 2 * time.Second, ""},
		{map[string]string{"NOTIFY_SOCKET": "/run/x", "WATCHDOG_USEC": "2000000", "WATCHDOG_PID": "7"}, 0, ""},
		{map[string]string{"NOTIFY_SOCKET": "/run/x", "WATCHDOG_USEC": "soon"}, 0, "WATCHDOG_USEC"},
		{map[string]string{"NOTIFY_SOCKET": "relative"}, 0, "NOTIFY_SOCKET"},
	} {
		n, err := FromEnv(env(tc.env), 42)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%v: error %v", tc.env, err)
			}
			continue
		}
		if err != nil || n.WatchdogInterval() != tc.wd {
			t.Errorf("%v: %v, watchdog %v want %v", tc.env, err, n.WatchdogInterval(), tc.wd)
		}
	}
}

// RunWatchdog pings at half WATCHDOG_USEC and withholds pings while the
// health check fails.
func TestRunWatchdog(t *testing.T) {
	path, ch := listen(t)
	n, err := FromEnv(env(map[string]string{"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "100000"}), 42) // 100 ms
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	sick := false
	var withheld int
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	start := time.Now()
	go func() {
		defer close(done)
		n.RunWatchdog(ctx, WatchdogOptions{Healthy: func() error {
			mu.Lock()
			defer mu.Unlock()
			if sick {
				return ErrUnhealthy
			}
			return nil
		}, OnChange: func(err error) {
			if errors.Is(err, ErrUnhealthy) {
				mu.Lock()
				withheld++
				mu.Unlock()
			}
		}})
	}()
	for i := 0; i < 4; i++ {
		if got := recv(t, ch); got != "WATCHDOG=1\n" {
			t.Fatalf("got %q", got)
		}
	}
	// Four pings: at 0, 50, 100, 150 ms.
	if el := time.Since(start); el < 140*time.Millisecond || el > 2*time.Second {
		t.Errorf("4 pings took %v, want about 150ms (half of 100ms apart)", el)
	}
	mu.Lock()
	sick = true
	mu.Unlock()
	// Keep-alives sent before the check turned, then the status line.
	for {
		got := recv(t, ch)
		if got == "WATCHDOG=1\n" {
			continue
		}
		if want := "STATUS=unhealthy; watchdog keep-alives withheld\n"; got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
		break
	}
	time.Sleep(200 * time.Millisecond) // four intervals
	if len(ch) != 0 {
		t.Errorf("%d notifications sent while unhealthy, after the status: %q", len(ch), <-ch)
	}
	mu.Lock()
	if withheld != 1 {
		t.Errorf("unhealthy reported %d times, want once", withheld)
	}
	mu.Unlock()
	cancel()
	<-done
}

// watchdogT runs RunWatchdog with ticks from the test: each tick is one
// health check, and the datagrams arrive in order, so the test knows what
// was sent at each without timing.
type watchdogT struct {
	t       *testing.T
	ch      <-chan string
	tick    chan time.Time
	checked chan struct{} // one per call of Healthy
	mu      sync.Mutex
	err     error // what Healthy returns
	changes []error
	done    chan struct{}
	cancel  context.CancelFunc
}

func startWatchdog(t *testing.T, status string) *watchdogT {
	path, ch := listen(t)
	// A watchdog interval of an hour: only the test's ticks count.
	n, err := FromEnv(env(map[string]string{"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "3600000000"}), 42)
	if err != nil {
		t.Fatal(err)
	}
	w := &watchdogT{t: t, ch: ch, tick: make(chan time.Time), checked: make(chan struct{}, 1), done: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	w.cancel = cancel
	go func() {
		defer close(w.done)
		n.RunWatchdog(ctx, WatchdogOptions{
			Status: status,
			Healthy: func() error {
				w.mu.Lock()
				err := w.err
				w.mu.Unlock()
				w.checked <- struct{}{}
				return err
			},
			OnChange: func(err error) {
				w.mu.Lock()
				w.changes = append(w.changes, err)
				w.mu.Unlock()
			},
			tick: w.tick,
		})
	}()
	t.Cleanup(func() { cancel(); <-w.done })
	<-w.checked // the first check, at once
	return w
}

func (w *watchdogT) set(err error) { w.mu.Lock(); w.err = err; w.mu.Unlock() }

// check ticks once and returns once the health was checked: a later set
// affects later checks only.
func (w *watchdogT) check() {
	w.tick <- time.Now()
	<-w.checked
}

func (w *watchdogT) expect(want string) {
	w.t.Helper()
	if got := recv(w.t, w.ch); got != want {
		w.t.Fatalf("got %q, want %q", got, want)
	}
}

func TestWatchdogHealthChanges(t *testing.T) {
	w := startWatchdog(t, "board sim")
	w.expect("WATCHDOG=1\n") // the first check, at once
	w.check()
	w.expect("WATCHDOG=1\n")

	// The pipeline stalls: no keep-alive, one status line, one change.
	w.set(errors.New("decode stage stalled: 8193 frames waiting, none decoded for 31s"))
	w.check()
	w.expect("STATUS=unhealthy: decode stage stalled: 8193 frames waiting, none decoded for 31s; watchdog keep-alives withheld\n")
	// Still unhealthy, for another reason: silence (no repeat per check).
	w.set(fmt.Errorf("store commit running for 45s\nstorage hung?"))
	w.check()
	w.check()
	// Healthy again: the keep-alive comes with the normal status, and it is
	// the next datagram, so nothing was sent in between.
	w.set(nil)
	w.check()
	w.expect("WATCHDOG=1\nSTATUS=board sim\n")
	w.check()
	w.expect("WATCHDOG=1\n")
	// A multi-line reason stays on one STATUS line.
	w.set(fmt.Errorf("%w: store commit running for 45s\nstorage hung?", ErrUnhealthy))
	w.check()
	w.expect("STATUS=unhealthy: store commit running for 45s; storage hung?; watchdog keep-alives withheld\n")

	w.cancel()
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.changes) != 3 || w.changes[0] == nil || w.changes[1] != nil || w.changes[2] == nil {
		t.Fatalf("changes %v, want unhealthy, healthy, unhealthy", w.changes)
	}
	for _, err := range []error{w.changes[0], w.changes[2]} {
		if !errors.Is(err, ErrUnhealthy) {
			t.Errorf("change %v does not wrap ErrUnhealthy", err)
		}
	}
	if !strings.Contains(w.changes[0].Error(), "8193 frames waiting") {
		t.Errorf("first change lost its reason: %v", w.changes[0])
	}
}

// Unhealthy from the first check (a start that hangs at once): no
// keep-alive at all, and the status says why.
func TestWatchdogUnhealthyAtStart(t *testing.T) {
	path, ch := listen(t)
	n, err := FromEnv(env(map[string]string{"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "3600000000"}), 42)
	if err != nil {
		t.Fatal(err)
	}
	tick := make(chan time.Time)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	var changes int
	go func() {
		defer close(done)
		n.RunWatchdog(ctx, WatchdogOptions{Healthy: func() error { return errors.New("stuck") },
			OnChange: func(error) { changes++ }, tick: tick})
	}()
	if got := recv(t, ch); got != "STATUS=unhealthy: stuck; watchdog keep-alives withheld\n" {
		t.Fatalf("got %q", got)
	}
	tick <- time.Now()
	tick <- time.Now() // taken only after the previous check is done
	cancel()
	<-done
	if len(ch) != 0 || changes != 1 {
		t.Fatalf("%d more datagrams, %d changes; want none and 1", len(ch), changes)
	}
}

// Send errors (systemd's socket gone) are reported once per episode.
func TestWatchdogSendErrors(t *testing.T) {
	n, err := FromEnv(env(map[string]string{"NOTIFY_SOCKET": filepath.Join(t.TempDir(), "gone.sock"), "WATCHDOG_USEC": "3600000000"}), 42)
	if err != nil {
		t.Fatal(err)
	}
	tick := make(chan time.Time)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	var errs []error
	go func() {
		defer close(done)
		n.RunWatchdog(ctx, WatchdogOptions{OnError: func(err error) { errs = append(errs, err) }, tick: tick})
	}()
	for range 3 {
		tick <- time.Now()
	}
	tick <- time.Now() // the third check is done once this one is taken
	cancel()
	<-done
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "sdnotify") {
		t.Fatalf("send errors reported: %v, want one", errs)
	}
}

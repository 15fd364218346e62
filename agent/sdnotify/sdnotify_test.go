package sdnotify

import (
	"context"
	"errors"
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
	n.RunWatchdog(context.Background(), nil, nil) // returns at once
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
		n.RunWatchdog(ctx, func() error {
			mu.Lock()
			defer mu.Unlock()
			if sick {
				return ErrUnhealthy
			}
			return nil
		}, func(err error) {
			if errors.Is(err, ErrUnhealthy) {
				mu.Lock()
				withheld++
				mu.Unlock()
			}
		})
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
	time.Sleep(60 * time.Millisecond)
	for len(ch) > 0 {
		<-ch // a ping sent before the check turned
	}
	time.Sleep(200 * time.Millisecond)
	if len(ch) != 0 {
		t.Errorf("%d keep-alives sent while unhealthy", len(ch))
	}
	mu.Lock()
	if withheld < 2 {
		t.Errorf("withheld %d keep-alives, want at least 2", withheld)
	}
	mu.Unlock()
	cancel()
	<-done
}

// Package sdnotify speaks systemd's service notification protocol
// (sd_notify(3)): READY=1 once the agent runs, WATCHDOG=1 keep-alives for
// a unit with WatchdogSec, STOPPING=1 on shutdown, STATUS= lines for
// `systemctl status`. It is a datagram to the unix socket named by
// NOTIFY_SOCKET; when that is unset (not started by systemd, or a unit
// that is not Type=notify) every call does nothing.
//
// Pure Go, no libsystemd: the protocol is one sendto per message.
package sdnotify

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
)

// Notifier sends notifications to the service manager. The zero value and
// a nil *Notifier do nothing.
type Notifier struct {
	addr     *net.UnixAddr
	watchdog time.Duration // WatchdogSec, 0 when off
}

// FromEnv reads NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID through
// getenv (os.Getenv when nil) for process pid (os.Getpid() when 0). It
// returns nil when NOTIFY_SOCKET is unset: every method of a nil Notifier
// is a no-op. A watchdog meant for another process (WATCHDOG_PID) is off.
func FromEnv(getenv func(string) string, pid int) (*Notifier, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	if pid == 0 {
		pid = os.Getpid()
	}
	sock := getenv("NOTIFY_SOCKET")
	if sock == "" {
		return nil, nil
	}
	if !strings.HasPrefix(sock, "/") && !strings.HasPrefix(sock, "@") {
		return nil, fmt.Errorf("sdnotify: NOTIFY_SOCKET %q: expected an absolute path or an @abstract name", sock)
	}
	if sock[0] == '@' {
		sock = "\x00" + sock[1:] // Linux abstract namespace
	}
	n := &Notifier{addr: &net.UnixAddr{Name: sock, Net: "unixgram"}}
	if us := getenv("WATCHDOG_USEC"); us != "" {
		v, err := strconv.ParseUint(us, 10, 63)
		if err != nil || v == 0 {
			return n, fmt.Errorf("sdnotify: WATCHDOG_USEC %q: expected a positive number of microseconds", us)
		}
		if p := getenv("WATCHDOG_PID"); p != "" && p != strconv.Itoa(pid) {
			return n, nil // the watchdog is for another process
		}
		n.watchdog = time.Duration(v) * time.Microsecond
	}
	return n, nil
}

// WatchdogInterval is the unit's WatchdogSec (0 when off).
func (n *Notifier) WatchdogInterval() time.Duration {
	if n == nil {
		return 0
	}
	return n.watchdog
}

// Send sends state lines ("READY=1", "STATUS=...") in one datagram.
func (n *Notifier) Send(state ...string) error {
	if n == nil || n.addr == nil {
		return nil
	}
	c, err := net.DialUnix("unixgram", nil, n.addr)
	if err != nil {
		return fmt.Errorf("sdnotify: %w", err)
	}
	defer c.Close()
	if _, err := c.Write([]byte(strings.Join(state, "\n") + "\n")); err != nil {
		return fmt.Errorf("sdnotify: %w", err)
	}
	return nil
}

// Ready tells systemd that start-up finished (Type=notify units are
// "activating" until then), with a status line.
func (n *Notifier) Ready(status string) error {
	if status == "" {
		return n.Send("READY=1")
	}
	return n.Send("READY=1", "STATUS="+status)
}

// Stopping tells systemd that the service is shutting down.
func (n *Notifier) Stopping() error { return n.Send("STOPPING=1") }

// Status sets the status line shown by `systemctl status`.
func (n *Notifier) Status(s string) error { return n.Send("STATUS=" + s) }

// Watchdog sends one keep-alive.
func (n *Notifier) Watchdog() error { return n.Send("WATCHDOG=1") }

// ErrUnhealthy is wrapped by the errors RunWatchdog reports for a failed
// health check; a health check may wrap it itself.
var ErrUnhealthy = errors.New("unhealthy")

// WatchdogOptions configure RunWatchdog.
type WatchdogOptions struct {
	// Healthy is called before each keep-alive (nil: always healthy). An
	// error withholds the keep-alive, so that systemd restarts the agent
	// once WatchdogSec passes without one, and is shown by `systemctl
	// status` (STATUS=). It must return quickly and never block.
	Healthy func() error
	// Status is the STATUS= line sent again when the agent is healthy
	// after it was not (the status given to Ready).
	Status string
	// OnChange, when set, is called once per change of health: with the
	// error (wrapping ErrUnhealthy) when a check fails after passing or
	// at the first check, with nil when a check passes after failing.
	OnChange func(err error)
	// OnError, when set, receives the errors of sending notifications,
	// once per episode (the first failure after a success).
	OnError func(error)

	tick <-chan time.Time // tests: ticks instead of the watchdog interval
}

// RunWatchdog sends WATCHDOG=1 at half the watchdog interval until ctx is
// done, as sd_watchdog_enabled(3) advises, the first one at once. Before
// each it calls o.Healthy. While that fails no keep-alive is sent; the
// first failure sends "STATUS=unhealthy: <reason> ..." and calls
// o.OnChange, and the first success after it sends the keep-alive with
// STATUS=<o.Status> and calls o.OnChange(nil). Without a watchdog it
// returns at once.
func (n *Notifier) RunWatchdog(ctx context.Context, o WatchdogOptions) {
	if n == nil {
		return
	}
	ticks := o.tick
	if ticks == nil {
		iv := n.WatchdogInterval() / 2
		if iv <= 0 {
			return
		}
		t := time.NewTicker(iv)
		defer t.Stop()
		ticks = t.C
	}
	healthy, sendOK := true, true
	send := func(lines ...string) {
		err := n.Send(lines...)
		if err != nil && sendOK && o.OnError != nil {
			o.OnError(err)
		}
		sendOK = err == nil
	}
	ping := func() {
		var err error
		if o.Healthy != nil {
			err = o.Healthy()
		}
		if err != nil {
			if !errors.Is(err, ErrUnhealthy) {
				err = fmt.Errorf("%w: %w", ErrUnhealthy, err)
			}
			if healthy {
				healthy = false
				send("STATUS=" + statusLine(err.Error()+"; watchdog keep-alives withheld"))
				if o.OnChange != nil {
					o.OnChange(err)
				}
			}
			return
		}
		if healthy {
			send("WATCHDOG=1")
			return
		}
		healthy = true
		if o.Status != "" {
			send("WATCHDOG=1", "STATUS="+statusLine(o.Status))
		} else {
			send("WATCHDOG=1")
		}
		if o.OnChange != nil {
			o.OnChange(nil)
		}
	}
	ping()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticks:
			ping()
		}
	}
}

// statusLine makes s one line: the protocol is one assignment per line.
func statusLine(s string) string {
	return strings.NewReplacer("\r\n", "; ", "\n", "; ", "\r", "; ").Replace(s)
}

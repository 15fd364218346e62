package elmsim

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// testVIN and its bytes, written by hand for the expected answers.
const testVIN = "1G1FZ6S07L4100001" // 31 47 31 46 5A 36 53 30 37 4C 34 31 30 30 30 30 31

func testState() State {
	return State{
		SpeedKmh: 60, RPM: 1726, SOC: 80, ModuleVoltage: 14.2, AmbientC: 21, CoolantC: 25,
		OdometerKm: 12345.6, RunTimeS: 300,
		Stored: []string{"P0A7F", "U0100"}, Pending: []string{"P0AA6"}, Permanent: []string{"P0A7F"},
		MIL: true,
	}
}

// testCar has one OBD ECU at 7E0/7E8 padding with AA.
func testCar() *Car {
	return NewCar(Node{
		Name: "ecm", ReqID: 0x7E0, RespID: 0x7E8, OBD: true, PadByte: 0xAA,
		ECU: &OBDECU{State: testState, VIN: testVIN, Name: "ECM-EngineControl"},
	})
}

// startPTY serves sim on a pty for the duration of the test.
func startPTY(t *testing.T, sim *Sim) *PTY {
	t.Helper()
	p, err := sim.ServePTY(context.Background())
	if errors.Is(err, ErrNotSupported) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// client is the agent's side: the slave of the pty, opened like a tty.
type client struct {
	t   *testing.T
	f   *os.File
	buf []byte
}

func dial(t *testing.T, path string) *client {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	c := &client{t: t, f: f}
	t.Cleanup(func() { f.Close() })
	return c
}

func (c *client) send(s string) {
	c.t.Helper()
	if _, err := c.f.Write([]byte(s)); err != nil {
		c.t.Fatal(err)
	}
}

// readPrompt reads until the '>' prompt and returns everything up to it.
func (c *client) readPrompt() string {
	c.t.Helper()
	s, err := c.readUntil(">", 5*time.Second)
	if err != nil {
		c.t.Fatalf("reading up to the prompt: %v (got %q)", err, s)
	}
	return s
}

func (c *client) readUntil(end string, d time.Duration) (string, error) {
	deadline := time.Now().Add(d)
	tmp := make([]byte, 256)
	for {
		if i := bytes.Index(c.buf, []byte(end)); i >= 0 {
			s := string(c.buf[:i+len(end)])
			c.buf = c.buf[i+len(end):]
			return s, nil
		}
		c.f.SetReadDeadline(deadline)
		n, err := c.f.Read(tmp)
		c.buf = append(c.buf, tmp[:n]...)
		if err != nil {
			s := string(c.buf)
			c.buf = nil
			return s, err
		}
	}
}

// cmd sends a command with its CR and returns the answer with the prompt.
func (c *client) cmd(s string) string {
	c.t.Helper()
	c.send(s + "\r")
	return c.readPrompt()
}

// expect runs commands and compares their exact output.
func (c *client) expect(pairs ...string) {
	c.t.Helper()
	for i := 0; i+1 < len(pairs); i += 2 {
		if got := c.cmd(pairs[i]); got != pairs[i+1] {
			c.t.Errorf("%q:\n got %q\nwant %q", pairs[i], got, pairs[i+1])
		}
	}
}

// init resets the adapter the way drivers do and turns echo off.
func (c *client) init(cmds ...string) {
	c.t.Helper()
	if got := c.cmd("ATZ"); !strings.HasPrefix(got, "ATZ\r\r\rELM327 v") {
		c.t.Fatalf("ATZ: got %q", got)
	}
	c.expect("ATE0", "ATE0\rOK\r\r>")
	for _, s := range cmds {
		if got := c.cmd(s); got != "OK\r\r>" {
			c.t.Fatalf("%q: got %q", s, got)
		}
	}
}

// quiet reports whether nothing arrives within d.
func (c *client) quiet(d time.Duration) bool {
	s, err := c.readUntil(">", d)
	c.buf = append([]byte(s), c.buf...)
	return errors.Is(err, os.ErrDeadlineExceeded) && s == ""
}

func lines(ls ...string) string { return strings.Join(ls, "\r") + "\r\r>" }

package elmsim

import (
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/tarm/serial"
)

// TestTarmSerial opens the pty with the serial library the agent uses.
func TestTarmSerial(t *testing.T) {
	p := startPTY(t, New(testCar()))
	port, err := serial.OpenPort(&serial.Config{Name: p.Path(), Baud: 38400, ReadTimeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer port.Close()
	if _, err := port.Write([]byte("ATZ\r")); err != nil {
		t.Fatal(err)
	}
	var got []byte
	buf := make([]byte, 64)
	deadline := time.Now().Add(3 * time.Second)
	for !strings.HasSuffix(string(got), ">") && time.Now().Before(deadline) {
		n, err := port.Read(buf)
		if err != nil && !errors.Is(err, io.EOF) {
			t.Fatal(err)
		}
		got = append(got, buf[:n]...)
	}
	if string(got) != "ATZ\r\r\rELM327 v1.5\r\r>" {
		t.Errorf("got %q", got)
	}
}

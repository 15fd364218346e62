//go:build !cgo

package malgo

import (
	"errors"
	"testing"
)

func TestStubSaysNoCgo(t *testing.T) {
	if _, err := OpenCapture(Config{}); !errors.Is(err, ErrNoCgo) {
		t.Errorf("OpenCapture: %v", err)
	}
	if _, err := OpenPlayback(Config{}); !errors.Is(err, ErrNoCgo) {
		t.Errorf("OpenPlayback: %v", err)
	}
	if _, err := Devices(BackendNull, CaptureDevice); !errors.Is(err, ErrNoCgo) {
		t.Errorf("Devices: %v", err)
	}
}

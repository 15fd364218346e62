//go:build linux

package socketcan

import (
	"errors"
	"strings"
	"testing"
)

// LinkStatus talks to the real kernel: loopback is refused as not CAN, a
// missing interface is named.
func TestLinkStatusHost(t *testing.T) {
	if _, err := LinkStatus("lo"); err == nil || !strings.Contains(err.Error(), "not a CAN interface") {
		t.Errorf("lo: %v", err)
	}
	if _, err := LinkStatus("nosuchcan9"); err == nil || !strings.Contains(err.Error(), "nosuchcan9") {
		t.Errorf("missing: %v", err)
	}
	if err := Configure("nosuchcan9", LinkConfig{Bitrate: 500000}); err == nil {
		t.Error("Configure on a missing link succeeded")
	}
	if err := Configure("lo", LinkConfig{Bitrate: 500000}); err == nil || errors.Is(err, ErrNotConfigurable) {
		t.Errorf("Configure lo: %v", err)
	}
}

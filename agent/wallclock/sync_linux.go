//go:build linux

package wallclock

import "golang.org/x/sys/unix"

// KernelSynced reports whether the kernel considers the clock
// synchronised: adjtimex(2) does not return TIME_ERROR, which it does
// while STA_UNSYNC is set (from boot until NTP, chrony or
// systemd-timesyncd discipline the clock). An adjtimex failure counts as
// synchronised, so that a sandbox without the call does not wait forever.
func KernelSynced() bool {
	var tx unix.Timex
	state, err := unix.Adjtimex(&tx)
	if err != nil {
		return true
	}
	return state != unix.TIME_ERROR
}

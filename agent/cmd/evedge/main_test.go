package main

import (
	"os"
	"testing"
)

// TestMain lets tests start this test binary as the real evedge command
// (EVEDGE_TEST_MAIN=1 ./evedge.test run ...), so that crash tests kill the
// same code path as ./bin/evedge without a separate build.
func TestMain(m *testing.M) {
	if os.Getenv("EVEDGE_TEST_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

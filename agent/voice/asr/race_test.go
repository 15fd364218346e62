//go:build race

package asr

// raceEnabled: TestOtherDomain (one goroutine, 80 syntheses and
// decodings) is skipped under the race detector, which adds nothing to it
// and makes it take minutes.
const raceEnabled = true

package service

import (
	"crypto/sha256"
	"encoding/hex"
	"math"
	"strings"

	"github.com/evedge/evedge/agent/signals"
	"github.com/evedge/evedge/drivers/can"
)

// Profile is a market's privacy rules for what leaves the car: exports
// through the service API (values, logs, reports) and the uplink.
type Profile struct {
	Name string
	// Location: "keep", "coarse" (rounded to CoarseDecimals decimal
	// degrees: 2 is about 1 km) or "drop".
	Location       string
	CoarseDecimals int
	// HashVINUplink replaces the VIN by a salted SHA-256 in what the
	// uplink sends; HashVINExport does the same in exports.
	HashVINUplink, HashVINExport bool
	// DropFrame, set by Bind, drops raw frames that carry location
	// signals from log exports when Location is not "keep" (a raw frame
	// cannot be coarsened).
	DropFrame func(*can.Frame) bool
}

// Profiles are the built-in market profiles. EU (GDPR): location is
// personal data, removed from exports; the VIN is hashed on the uplink. CN
// (GB/T 32960 and the 2021 automotive data security provisions): location
// stays in the car (dropped from exports) and the VIN is kept, as the
// national platform requires it. US: location coarsened to about 1 km.
var Profiles = map[string]Profile{
	"default": {Name: "default", Location: "coarse", CoarseDecimals: 2, HashVINUplink: true},
	"EU":      {Name: "EU", Location: "drop", HashVINUplink: true, HashVINExport: false},
	"CN":      {Name: "CN", Location: "drop"},
	"US":      {Name: "US", Location: "coarse", CoarseDecimals: 2},
}

// locationPrefix is the VSS branch of the vehicle's position.
const locationPrefix = "Vehicle.CurrentLocation."

// IsLocation reports whether a signal name (VSS path) is location data.
func IsLocation(name string) bool { return strings.HasPrefix(name, locationPrefix) }

// Value applies the profile to one value: it returns the value to export
// and whether to export it at all.
func (p Profile) Value(name string, v float64) (float64, bool) {
	if !IsLocation(name) {
		return v, true
	}
	switch p.Location {
	case "keep":
		return v, true
	case "coarse":
		if strings.HasSuffix(name, ".Latitude") || strings.HasSuffix(name, ".Longitude") {
			m := math.Pow(10, float64(p.CoarseDecimals))
			return math.Round(v*m) / m, true
		}
		return v, !strings.HasSuffix(name, ".Altitude") && !strings.HasSuffix(name, ".Heading")
	}
	return 0, false
}

// Bind returns the profile with DropFrame set for db: frames of messages
// that carry a signal mapped to a location path are left out of log
// exports unless the profile keeps location.
func (p Profile) Bind(db *signals.Database) Profile {
	if p.Location == "keep" || db == nil {
		return p
	}
	ids := map[uint32]bool{}
	for _, s := range db.Signals {
		if s.Mapping != nil && IsLocation(s.Mapping.VSS) {
			ids[s.Message.ID] = true
		}
	}
	if len(ids) == 0 {
		return p
	}
	p.DropFrame = func(f *can.Frame) bool { return ids[f.ID] }
	return p
}

// HashVIN returns the salted SHA-256 of a VIN, hex, as the uplink sends it.
func HashVIN(vin, salt string) string {
	h := sha256.Sum256([]byte(salt + "\x00" + vin))
	return hex.EncodeToString(h[:16])
}

// filterIter drops frames from a FrameIterator.
type filterIter struct {
	it      FrameIterator
	drop    func(*can.Frame) bool
	cur     can.Frame
	dropped uint64
}

func (f *filterIter) Next() bool {
	for f.it.Next() {
		f.cur = f.it.Frame()
		if f.drop(&f.cur) {
			f.dropped++
			continue
		}
		return true
	}
	return false
}

func (f *filterIter) Frame() can.Frame { return f.cur }
func (f *filterIter) Err() error       { return f.it.Err() }

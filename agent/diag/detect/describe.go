package detect

import (
	"math"
	"strconv"
	"time"

	"github.com/evedge/evedge/agent/diag"
	"github.com/evedge/evedge/agent/diag/kb"
)

// Diagnosis is the body of a "diagnosis" event: a model detection with
// what a technician needs to act on it, in every language of the
// knowledge base.
type Diagnosis struct {
	Time  time.Time `json:"time"`
	Kind  string    `json:"kind"`  // "model"
	State string    `json:"state"` // "raised" or "cleared"
	Fault string    `json:"fault"` // knowledge-base id, e.g. cooling_loss
	// Component is the knowledge base's component id; ComponentName its
	// name per language; HighVoltage marks components where the safety
	// notes about high-voltage work apply.
	Component     string            `json:"component"`
	ComponentName map[string]string `json:"component_name,omitempty"`
	HighVoltage   bool              `json:"high_voltage"`
	// Severity is the knowledge base's hint in GB/T 32960.3 terms (1 does
	// not affect driving, 2 limit driving, 3 stop).
	Severity   int     `json:"severity"`
	Confidence float64 `json:"confidence"`
	Score      float64 `json:"score"`
	Threshold  float64 `json:"threshold"`
	// Evidence are the signals the knowledge base charts for the fault,
	// summarised over the detection window (model inputs) or read at the
	// time (others); signals the vehicle does not provide are left out.
	Evidence map[string]Stat `json:"evidence"`
	Features []Feature       `json:"features,omitempty"`
	// DTCs are the trouble codes active at the time; RelatedDTCs the
	// generic codes that commonly accompany the fault.
	DTCs        []string `json:"dtcs"`
	RelatedDTCs []string `json:"related_dtcs,omitempty"`
	// Window is the detection window's raw 1 Hz samples; Pin the store pin
	// that keeps the window's frames (0: none).
	Window *Window `json:"window,omitempty"`
	// Text is the knowledge base's text per language code (en, zh, de,
	// es, fr).
	Text map[string]kb.Text `json:"text,omitempty"`
}

// Window is a window of samples of the model inputs, oldest first, one a
// second; null marks a missing value.
type Window struct {
	From    time.Time `json:"from"`
	To      time.Time `json:"to"`
	Pin     int64     `json:"pin,omitempty"`
	PinFrom time.Time `json:"pin_from,omitzero"`
	PinTo   time.Time `json:"pin_to,omitzero"`
	Paths   []string  `json:"paths"`
	Samples [][]Num   `json:"samples"`
}

// Num is a float that encodes NaN as JSON null.
type Num float64

// MarshalJSON writes null for NaN and infinities.
func (n Num) MarshalJSON() ([]byte, error) {
	f := float64(n)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, f, 'g', 6, 64), nil
}

// UnmarshalJSON reads null as NaN.
func (n *Num) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*n = Num(math.NaN())
		return nil
	}
	f, err := strconv.ParseFloat(string(b), 64)
	*n = Num(f)
	return err
}

// Describe builds the diagnosis of a change. k may be nil (no text);
// read, when not nil, supplies evidence signals that are not model
// inputs; dtcs are the trouble codes active at the time. withWindow adds
// the raw window (store events carry it; uplink events leave it out to
// save bytes, the cloud can ask for the logs).
func Describe(c *Change, k *kb.KB, read diag.Read, dtcs []string, withWindow bool) Diagnosis {
	d := Diagnosis{Time: c.Time, Kind: "model", State: "cleared", Fault: c.Fault,
		Confidence: round(c.Confidence, 3), Score: round(c.Score, 3), Threshold: round(c.Threshold, 3),
		Features: c.Features, DTCs: dtcs}
	if c.Raised {
		d.State = "raised"
	}
	if d.DTCs == nil {
		d.DTCs = []string{}
	}
	var evidence []string
	if k != nil {
		if e, _, ok := k.Lookup(c.Fault, "en"); ok {
			d.Component, d.Severity, d.RelatedDTCs, d.Text = e.Component, e.Severity, e.DTCs, e.Text
			evidence = e.Evidence
			if comp, _, ok := k.Component(e.Component, "en"); ok {
				d.HighVoltage, d.ComponentName = comp.HV, comp.Name
			}
		}
	}
	if d.Severity == 0 {
		d.Severity = 2
	}
	d.Evidence = map[string]Stat{}
	for _, p := range evidence {
		if s, ok := c.Evidence[p]; ok {
			d.Evidence[p] = s
		} else if read != nil {
			if v, ok := read(p); ok && !math.IsNaN(v) && !math.IsInf(v, 0) {
				v = round(v, 4)
				d.Evidence[p] = Stat{Last: v, Min: v, Max: v, Mean: v, N: 1}
			}
		}
	}
	if len(d.Evidence) == 0 {
		d.Evidence = c.Evidence // no knowledge-base entry: every model input
	}
	if withWindow && len(c.Window) > 0 {
		w := &Window{From: c.Time.Add(-time.Duration(len(c.Window)-1) * time.Second), To: c.Time,
			Paths: diag.ModelInputPaths[:], Samples: make([][]Num, len(c.Window))}
		for i, s := range c.Window {
			row := make([]Num, len(s))
			for j, v := range s {
				row[j] = Num(v)
			}
			w.Samples[i] = row
		}
		d.Window = w
	}
	return d
}

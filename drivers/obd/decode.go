package obd

import (
	"fmt"
	"os"
	"strings"

	"gopkg.in/yaml.v3"
)

// Decoded is the result of decoding the answers to one request.
type Decoded struct {
	// Values in the order decoded. A later answer for the same signal
	// (another ECU, another PID) replaces an earlier one in ByID.
	Values []Value
	ByID   map[string]Value
	// Problems are answers or signals that could not be decoded.
	Problems []string
}

func (d *Decoded) add(vs []Value) {
	if d.ByID == nil {
		d.ByID = map[string]Value{}
	}
	for _, v := range vs {
		d.Values = append(d.Values, v)
		d.ByID[v.Signal.ID] = v
	}
}

// DecodeResponses decodes answers with the signalset. cmd is the command
// that was sent (nil when unknown, as for recorded traffic): answers that
// match it are decoded with it, others are matched by service, parameter and
// response id against the signalset's commands, then against the SAE J1979
// service 01 table. This is the one decoding path of the poller, of
// `evedge obd read/watch` and of `evedge obd decode`.
func (s *Signalset) DecodeResponses(cmd *Command, rs []Response) *Decoded {
	d := &Decoded{}
	var buf []Value
	for _, r := range rs {
		if n := r.Negative(); n != nil {
			if !r.IsPending() {
				d.Problems = append(d.Problems, n.Error())
			}
			continue
		}
		c := cmd
		if c == nil || !c.accepts(&r) {
			c = s.match(&r)
		}
		if c == nil && len(r.Data) > 0 && r.Data[0] == 0x41 {
			vs, probs := decodeMode01(r.Data)
			d.add(vs)
			d.Problems = append(d.Problems, probs...)
			continue
		}
		if c == nil {
			d.Problems = append(d.Problems, fmt.Sprintf("answer from %s % X matches no command", idString(r.ID), head(r.Data, 3)))
			continue
		}
		var err error
		buf, err = c.Decode(r.Data, buf[:0])
		d.add(buf)
		if err != nil {
			d.Problems = append(d.Problems, err.Error())
		}
	}
	return d
}

func idString(id uint32) string {
	if id > 0x7FF {
		return fmt.Sprintf("%08X", id)
	}
	return fmt.Sprintf("%03X", id)
}

// accepts reports whether r answers c: same service and parameter, and the
// response id c expects (any id when c has none or the adapter hid it).
func (c *Command) accepts(r *Response) bool {
	if _, ok := c.Match(r.Data); !ok {
		return false
	}
	return c.req.RxID == 0 || r.ID == 0 || r.ID == c.req.RxID
}

// match finds the command that r answers: the last one in the file with the
// same service, parameter and response id, else one without a response id
// (OBDb's reference decoder does the same).
func (s *Signalset) match(r *Response) *Command {
	if s == nil {
		return nil
	}
	var generic *Command
	for i := len(s.Commands) - 1; i >= 0; i-- {
		c := s.Commands[i]
		if _, ok := c.Match(r.Data); !ok {
			continue
		}
		if c.Rax == "" {
			if generic == nil {
				generic = c
			}
			continue
		}
		if r.ID == 0 || r.ID == c.req.RxID {
			return c
		}
	}
	return generic
}

// decodeMode01 decodes a (possibly multi-PID) service 01 answer with the
// built-in SAE J1979 table.
func decodeMode01(data []byte) ([]Value, []string) {
	parts, err := SplitMode01(data)
	var probs []string
	if err != nil {
		probs = append(probs, err.Error())
	}
	j := J1979()
	var out []Value
	for _, p := range parts {
		c := j.match(&Response{Data: p.Data})
		if c == nil {
			probs = append(probs, fmt.Sprintf("service 01 PID %02X is not in the J1979 table", p.PID))
			continue
		}
		var e error
		out, e = c.Decode(p.Data, out)
		if e != nil {
			probs = append(probs, e.Error())
		}
	}
	return out, probs
}

// CaseFile is an OBDb test-case file: recorded raw answers to one command
// with the values they decode to.
type CaseFile struct {
	Path      string `yaml:"-"`
	CommandID string `yaml:"command_id"`
	// CANIDFormat is ELEVEN_BIT (default) or TWENTY_NINE_BIT.
	CANIDFormat string `yaml:"can_id_format"`
	ExtAddr     *bool  `yaml:"extended_addressing_enabled"`
	Cases       []Case `yaml:"test_cases"`
}

// Case is one recorded answer.
type Case struct {
	Response string         `yaml:"response"`
	Expected map[string]any `yaml:"expected_values"`
}

// LoadCaseFile reads an OBDb test-case YAML file.
func LoadCaseFile(path string) (*CaseFile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f CaseFile
	if err := yaml.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if f.CommandID == "" {
		return nil, fmt.Errorf("%s: no command_id", path)
	}
	f.Path = path
	return &f, nil
}

// CommandFor returns the signalset command a case file is about, or nil
// (service 01 files, or commands the signalset lacks).
func (s *Signalset) CommandFor(f *CaseFile) *Command {
	return s.LookupCommand(f.CommandID)
}

// AnswerOptionsFor returns how to read a case file's recorded lines: headers
// on, 29-bit ids when the file or the command says so, extended addressing
// when the file or the command (e=..) says so.
func AnswerOptionsFor(f *CaseFile, c *Command) AnswerOptions {
	o := AnswerOptions{Headers: true}
	is29 := strings.EqualFold(f.CANIDFormat, "TWENTY_NINE_BIT")
	if f.CANIDFormat == "" && c != nil {
		is29 = c.req.Extended
	}
	o.IDs29 = &is29
	if c != nil {
		// Recordings made with echo on start with the request.
		o.Echo = fmt.Sprintf("%X", c.req.Data)
	}
	switch {
	case f.ExtAddr != nil:
		o.ExtAddr = *f.ExtAddr
	case c != nil:
		o.ExtAddr = c.req.ExtAddr
	default:
		o.ExtAddr = strings.Contains(f.CommandID, "e=")
	}
	return o
}

// DecodeCase decodes one recorded answer of a case file.
func (s *Signalset) DecodeCase(f *CaseFile, i int) *Decoded {
	c := s.CommandFor(f)
	a := ParseAnswer(f.Cases[i].Response, AnswerOptionsFor(f, c))
	d := s.DecodeResponses(c, a.Messages)
	d.Problems = append(a.Problems, d.Problems...)
	if a.Status != nil && len(a.Messages) == 0 {
		d.Problems = append(d.Problems, a.Status.Error())
	}
	return d
}

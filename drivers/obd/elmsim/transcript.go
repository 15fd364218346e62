package elmsim

import (
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"
)

// Transcript is one command recorded from a real car with the answers an
// ELM327 printed for it, as CAN frames.
type Transcript struct {
	// Source names the file it was read from.
	Source string
	// Header is the request id (OBDb "HDR"), RespID the id of the answers
	// (OBDb "RAX").
	Header, RespID uint32
	Extended       bool
	// Command is the request payload ("22 01 01").
	Command []byte
	// Options are the OBDb command options after "|" ("fc=1": the
	// scanner sends flow control to the header itself).
	Options map[string]string
	// Cases are the recorded answers, one frame list per case.
	Cases [][]Frame
}

type obdbTestFile struct {
	CommandID string `yaml:"command_id"`
	TestCases []struct {
		Response string `yaml:"response"`
	} `yaml:"test_cases"`
}

// LoadOBDbTestCase reads one OBDb test-case file
// (tests/test_cases/<year>/commands/<HDR.RAX.CMD|options>.yaml): its
// command_id, and each test case's response, the lines an ELM327 printed
// with ATH1 and ATS0, one CAN frame per line ("7EC103E620101EFFBE7").
// Lines that are not frames (an echoed command, "NO DATA") are skipped.
func LoadOBDbTestCase(path string) (Transcript, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Transcript{}, fmt.Errorf("elmsim: %w", err)
	}
	return ParseOBDbTestCase(b, path)
}

// ParseOBDbTestCase parses the contents of an OBDb test-case file.
func ParseOBDbTestCase(data []byte, source string) (Transcript, error) {
	var f obdbTestFile
	if err := yaml.Unmarshal(data, &f); err != nil {
		return Transcript{}, fmt.Errorf("elmsim: %s: %w", source, err)
	}
	t, err := parseCommandID(f.CommandID)
	if err != nil {
		return Transcript{}, fmt.Errorf("elmsim: %s: %w", source, err)
	}
	t.Source = source
	cmd := strings.ToUpper(hex.EncodeToString(t.Command))
	for i, tc := range f.TestCases {
		var frames []Frame
		for _, line := range strings.Split(tc.Response, "\n") {
			fr, ok := parseRecordedFrame(line, t.Extended, cmd)
			if ok {
				frames = append(frames, fr)
			}
		}
		if len(frames) == 0 {
			return Transcript{}, fmt.Errorf("elmsim: %s: test case %d: no CAN frame in the response", source, i)
		}
		t.Cases = append(t.Cases, frames)
	}
	if len(t.Cases) == 0 {
		return Transcript{}, fmt.Errorf("elmsim: %s: no test cases", source)
	}
	return t, nil
}

// LoadOBDbTestCases reads every .yaml file under dir (e.g. an OBDb
// repository's tests/test_cases/2024/commands), sorted by path.
func LoadOBDbTestCases(dir string) ([]Transcript, error) {
	var paths []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && (strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml")) {
			paths = append(paths, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("elmsim: %w", err)
	}
	slices.Sort(paths)
	var ts []Transcript
	for _, p := range paths {
		t, err := LoadOBDbTestCase(p)
		if err != nil {
			return nil, err
		}
		ts = append(ts, t)
	}
	return ts, nil
}

// parseCommandID reads "7E4.7EC.220101|fc=1" (HDR.RAX.CMD|options) or
// "7DF.0902" (HDR.CMD). A 6-digit 29-bit id gets the priority 18.
func parseCommandID(id string) (Transcript, error) {
	var t Transcript
	main, opts, _ := strings.Cut(strings.TrimSpace(id), "|")
	if opts != "" {
		t.Options = map[string]string{}
		for _, o := range strings.FieldsFunc(opts, func(r rune) bool { return r == ',' || r == '|' }) {
			k, v, _ := strings.Cut(o, "=")
			t.Options[k] = v
		}
	}
	parts := strings.Split(main, ".")
	if len(parts) != 2 && len(parts) != 3 {
		return t, fmt.Errorf("invalid command_id %q", id)
	}
	var err error
	var ext bool
	if t.Header, ext, err = parseID(parts[0]); err != nil {
		return t, fmt.Errorf("invalid command_id %q: %w", id, err)
	}
	t.Extended = ext
	if len(parts) == 3 {
		var rext bool
		if t.RespID, rext, err = parseID(parts[1]); err != nil {
			return t, fmt.Errorf("invalid command_id %q: %w", id, err)
		}
		if rext != ext {
			return t, fmt.Errorf("invalid command_id %q: mixed 11 and 29-bit ids", id)
		}
	} else if ext {
		t.RespID = t.Header&0xFFFF0000 | (t.Header&0xFF)<<8 | (t.Header>>8)&0xFF
	} else {
		t.RespID = t.Header + 8
	}
	cmd, err := hex.DecodeString(parts[len(parts)-1])
	if err != nil || len(cmd) == 0 {
		return t, fmt.Errorf("invalid command_id %q: bad command", id)
	}
	t.Command = cmd
	return t, nil
}

func parseID(s string) (uint32, bool, error) {
	v, err := strconv.ParseUint(s, 16, 32)
	if err != nil {
		return 0, false, err
	}
	switch len(s) {
	case 3:
		return uint32(v), false, nil
	case 6:
		return 0x18<<24 | uint32(v), true, nil
	case 8:
		return uint32(v) & 0x1FFFFFFF, true, nil
	}
	return 0, false, fmt.Errorf("id %q: want 3, 6 or 8 hex digits", s)
}

// parseRecordedFrame reads one line printed with ATH1 ATS0 (spaces are
// tolerated): the id, then 1-8 data bytes.
func parseRecordedFrame(line string, ext bool, cmd string) (Frame, bool) {
	s := strings.ToUpper(strings.Join(strings.Fields(line), ""))
	if s == "" || s == cmd {
		return Frame{}, false
	}
	idLen := 3
	if ext {
		idLen = 8
	}
	if len(s) <= idLen || (len(s)-idLen)%2 != 0 || len(s)-idLen > 16 {
		return Frame{}, false
	}
	id, err := strconv.ParseUint(s[:idLen], 16, 32)
	if err != nil {
		return Frame{}, false
	}
	data, err := hex.DecodeString(s[idLen:])
	if err != nil {
		return Frame{}, false
	}
	return Frame{ID: uint32(id), Extended: ext, Data: data}, true
}

// TranscriptECU replays recorded answers: a request equal to a recorded
// command gets the frames of its next test case (cycling), or of the case
// chosen with UseCase. It implements FrameAnswerer, so the frames go on the
// bus exactly as recorded (PCI, padding) and the adapter reformats them
// according to its ATH/ATS/ATCAF settings.
type TranscriptECU struct {
	mu      sync.Mutex
	entries map[string]*transcriptEntry
	fixed   int
}

type transcriptEntry struct {
	t    Transcript
	next int
}

// NewTranscriptECU returns an ECU answering these transcripts. Callers
// normally use TranscriptNodes, which also places them on the bus.
func NewTranscriptECU(ts ...Transcript) *TranscriptECU {
	e := &TranscriptECU{entries: map[string]*transcriptEntry{}, fixed: -1}
	for _, t := range ts {
		e.Add(t)
	}
	return e
}

// Add adds or replaces the transcript of a command.
func (e *TranscriptECU) Add(t Transcript) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.entries[string(t.Command)] = &transcriptEntry{t: t}
}

// UseCase makes every command answer its i-th case (modulo the number of
// cases); a negative i cycles through them, one per request (default).
func (e *TranscriptECU) UseCase(i int) {
	e.mu.Lock()
	e.fixed = i
	e.mu.Unlock()
}

// AnswerFrames implements FrameAnswerer.
func (e *TranscriptECU) AnswerFrames(req []byte) ([]Frame, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	en, ok := e.entries[string(req)]
	if !ok {
		return nil, false
	}
	i := e.fixed
	if i < 0 {
		i = en.next
		en.next = (en.next + 1) % len(en.t.Cases)
	}
	frames := en.t.Cases[i%len(en.t.Cases)]
	out := make([]Frame, len(frames))
	for k, f := range frames {
		out[k] = Frame{ID: f.ID, Extended: f.Extended, Data: slices.Clone(f.Data)}
	}
	return out, true
}

// Handle implements ECU for requests without a transcript: no answer.
func (e *TranscriptECU) Handle(req []byte) [][]byte { return nil }

// TranscriptNodes places transcripts on the bus: one node per (header,
// answer id) pair.
func TranscriptNodes(ts []Transcript) []Node {
	type key struct{ req, resp uint32 }
	ecus := map[key]*TranscriptECU{}
	var nodes []Node
	for _, t := range ts {
		k := key{t.Header, t.RespID}
		e, ok := ecus[k]
		if !ok {
			e = NewTranscriptECU()
			ecus[k] = e
			nodes = append(nodes, Node{
				Name:  fmt.Sprintf("transcript %s", formatID(t.Header, t.Extended, false)),
				ECU:   e,
				ReqID: t.Header, RespID: t.RespID,
			})
		}
		e.Add(t)
	}
	return nodes
}

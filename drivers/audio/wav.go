package audio

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
)

// DefaultMaxWAVBytes bounds the sample data DecodeWAV accepts when the
// caller passes no limit: 64 MiB is about 35 minutes of 16 kHz mono PCM16.
const DefaultMaxWAVBytes = 64 << 20

// WAV encodings, from the fmt chunk's format tag or the extensible subformat.
const (
	wavPCM        = 1
	wavFloat      = 3
	wavExtensible = 0xFFFE
)

// WAV is a decoded file.
type WAV struct {
	Buffer
	Bits  int  // bits per sample as stored (8, 16, 24, 32 or 64)
	Float bool // IEEE float samples rather than integers
	// Truncated is set when the data chunk was shorter than its header
	// declares (a recording cut off mid-write); Note says by how much.
	Truncated bool
	Note      string
}

// WAVError is a malformed or unsupported file. Field names the part of the
// file at fault ("RIFF header", "fmt chunk: channels", "data chunk"...).
type WAVError struct {
	File  string
	Field string
	Msg   string
}

func (e *WAVError) Error() string {
	name := e.File
	if name == "" {
		name = "wav"
	}
	return fmt.Sprintf("%s: %s: %s", name, e.Field, e.Msg)
}

// ReadWAVFile decodes the WAV file at path with the default size limit.
func ReadWAVFile(path string) (*WAV, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return DecodeWAV(f, path, 0)
}

// DecodeWAV reads a RIFF/WAVE file: PCM 8 (unsigned), 16, 24 and 32-bit
// integers, 32 and 64-bit IEEE float, plain or WAVE_FORMAT_EXTENSIBLE, any
// channel count and rate. Chunks other than fmt and data are skipped (with
// their pad byte). A data chunk shorter than declared is accepted with
// Truncated set; a partial last frame is dropped. name labels errors;
// maxBytes bounds the sample data (<= 0 means DefaultMaxWAVBytes).
func DecodeWAV(r io.Reader, name string, maxBytes int64) (*WAV, error) {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxWAVBytes
	}
	fail := func(field, format string, args ...any) error {
		return &WAVError{File: name, Field: field, Msg: fmt.Sprintf(format, args...)}
	}
	br := bufio.NewReader(r)
	var hdr [12]byte
	if _, err := io.ReadFull(br, hdr[:]); err != nil {
		return nil, fail("RIFF header", "%v", noEOF(err))
	}
	if string(hdr[0:4]) != "RIFF" {
		if string(hdr[0:4]) == "RF64" {
			return nil, fail("RIFF header", "RF64 (64-bit WAV) not supported")
		}
		return nil, fail("RIFF header", "not a RIFF file (starts %q)", hdr[0:4])
	}
	if string(hdr[8:12]) != "WAVE" {
		return nil, fail("RIFF header", "form type %q, want \"WAVE\"", hdr[8:12])
	}

	var (
		w       WAV
		tag     uint16
		haveFmt bool
	)
	for {
		var ch [8]byte
		if _, err := io.ReadFull(br, ch[:]); err != nil {
			if err == io.EOF {
				if !haveFmt {
					return nil, fail("fmt chunk", "missing")
				}
				return nil, fail("data chunk", "missing")
			}
			return nil, fail("chunk header", "%v", noEOF(err))
		}
		id := string(ch[0:4])
		size := int64(binary.LittleEndian.Uint32(ch[4:8]))
		switch id {
		case "fmt ":
			if haveFmt {
				return nil, fail("fmt chunk", "repeated")
			}
			if size < 16 || size > 1024 {
				return nil, fail("fmt chunk", "size %d, want 16..1024", size)
			}
			buf := make([]byte, size+size&1)
			n, err := io.ReadFull(br, buf)
			if int64(n) < size {
				return nil, fail("fmt chunk", "%v", noEOF(err))
			}
			var ferr error
			tag, ferr = w.parseFmt(buf[:size], fail)
			if ferr != nil {
				return nil, ferr
			}
			haveFmt = true
		case "data":
			if !haveFmt {
				return nil, fail("data chunk", "comes before the fmt chunk")
			}
			if err := w.readData(br, size, maxBytes, tag, fail); err != nil {
				return nil, err
			}
			return &w, nil
		default:
			// LIST, fact, cue, JUNK, PAD...: skip with the pad byte.
			skip := size + size&1
			n, err := io.CopyN(io.Discard, br, skip)
			if err != nil && n < size {
				return nil, fail(fmt.Sprintf("%q chunk", id), "declares %d bytes, file ends after %d", size, n)
			}
		}
	}
}

// parseFmt fills Format, Bits and Float from a fmt chunk body and returns
// the effective format tag (PCM or float).
func (w *WAV) parseFmt(b []byte, fail func(string, string, ...any) error) (uint16, error) {
	le := binary.LittleEndian
	tag := le.Uint16(b[0:2])
	channels := int(le.Uint16(b[2:4]))
	rate := le.Uint32(b[4:8])
	blockAlign := int(le.Uint16(b[12:14]))
	bits := int(le.Uint16(b[14:16]))
	if tag == wavExtensible {
		if len(b) < 40 {
			return 0, fail("fmt chunk", "extensible format needs 40 bytes, have %d", len(b))
		}
		if cb := le.Uint16(b[16:18]); cb < 22 {
			return 0, fail("fmt chunk: cbSize", "%d, want >= 22 for WAVE_FORMAT_EXTENSIBLE", cb)
		}
		valid := int(le.Uint16(b[18:20]))
		if valid > bits {
			return 0, fail("fmt chunk: valid bits", "%d exceeds container size %d", valid, bits)
		}
		guid := b[24:40]
		// KSDATAFORMAT_SUBTYPE_*: the tag, then 00000000-0010-8000-00AA00389B71.
		const suffix = "\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"
		if string(guid[2:]) != suffix {
			return 0, fail("fmt chunk: subformat", "unknown GUID % x", guid)
		}
		tag = le.Uint16(guid[0:2])
	}
	switch tag {
	case wavPCM:
		if bits != 8 && bits != 16 && bits != 24 && bits != 32 {
			return 0, fail("fmt chunk: bits per sample", "%d not supported for PCM (8, 16, 24, 32)", bits)
		}
	case wavFloat:
		if bits != 32 && bits != 64 {
			return 0, fail("fmt chunk: bits per sample", "%d not supported for float (32, 64)", bits)
		}
		w.Float = true
	default:
		return 0, fail("fmt chunk: format tag", "0x%04x not supported (PCM, IEEE float, extensible)", tag)
	}
	if channels == 0 {
		return 0, fail("fmt chunk: channels", "0")
	}
	if rate == 0 || rate > 1<<22 {
		return 0, fail("fmt chunk: sample rate", "%d out of range", rate)
	}
	if want := channels * bits / 8; blockAlign != want {
		return 0, fail("fmt chunk: block align", "%d, want %d for %d channels of %d bits", blockAlign, want, channels, bits)
	}
	w.Channels, w.SampleRate, w.Bits = channels, int(rate), bits
	return tag, nil
}

func (w *WAV) readData(r io.Reader, size, maxBytes int64, tag uint16, fail func(string, string, ...any) error) error {
	streamed := size == 0 || size == 0xFFFFFFFF // written by a recorder that never seeked back
	want := size
	if streamed {
		want = maxBytes + 1
	} else if size > maxBytes {
		return fail("data chunk", "%d bytes exceeds the limit of %d", size, maxBytes)
	}
	// Read in pieces so a lying header cannot make us allocate its size.
	var raw []byte
	piece := make([]byte, 64<<10)
	for int64(len(raw)) < want {
		n, err := io.ReadFull(r, piece[:min(int64(len(piece)), want-int64(len(raw)))])
		raw = append(raw, piece[:n]...)
		if err != nil {
			break
		}
	}
	if int64(len(raw)) > maxBytes {
		return fail("data chunk", "more than the limit of %d bytes", maxBytes)
	}
	block := w.Channels * w.Bits / 8
	if !streamed && int64(len(raw)) < size {
		w.Truncated = true
		w.Note = fmt.Sprintf("data chunk declares %d bytes, file holds %d", size, len(raw))
	}
	if rem := len(raw) % block; rem != 0 {
		raw = raw[:len(raw)-rem]
		if w.Note == "" {
			w.Note = fmt.Sprintf("dropped a partial frame of %d bytes", rem)
		}
	}
	w.Data = decodeSamples(make([]float32, 0, len(raw)/(w.Bits/8)), raw, w.Bits, tag == wavFloat)
	return nil
}

func decodeSamples(dst []float32, raw []byte, bits int, float bool) []float32 {
	le := binary.LittleEndian
	switch {
	case float && bits == 32:
		for i := 0; i+4 <= len(raw); i += 4 {
			dst = append(dst, sanitize(float64(math.Float32frombits(le.Uint32(raw[i:])))))
		}
	case float && bits == 64:
		for i := 0; i+8 <= len(raw); i += 8 {
			dst = append(dst, sanitize(math.Float64frombits(le.Uint64(raw[i:]))))
		}
	case bits == 8:
		for _, v := range raw {
			dst = append(dst, float32(int(v)-128)*(1.0/128))
		}
	case bits == 16:
		for i := 0; i+2 <= len(raw); i += 2 {
			dst = append(dst, float32(int16(le.Uint16(raw[i:])))*(1.0/32768))
		}
	case bits == 24:
		for i := 0; i+3 <= len(raw); i += 3 {
			v := int32(uint32(raw[i])<<8|uint32(raw[i+1])<<16|uint32(raw[i+2])<<24) >> 8
			dst = append(dst, float32(v)*(1.0/(1<<23)))
		}
	case bits == 32:
		for i := 0; i+4 <= len(raw); i += 4 {
			dst = append(dst, float32(float64(int32(le.Uint32(raw[i:])))*(1.0/(1<<31))))
		}
	}
	return dst
}

// sanitize maps NaN to 0 and clamps infinities, so a corrupt float file
// cannot poison the filters downstream.
func sanitize(v float64) float32 {
	switch {
	case v != v:
		return 0
	case v > 1e6:
		return 1e6
	case v < -1e6:
		return -1e6
	}
	return float32(v)
}

func noEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	if err == nil {
		return io.ErrUnexpectedEOF
	}
	return err
}

// EncodeWAV writes b as a 16-bit PCM WAV file (samples are rounded and
// clipped to int16).
func EncodeWAV(w io.Writer, b Buffer) error {
	if err := b.Validate(); err != nil {
		return err
	}
	if len(b.Data)%b.Channels != 0 {
		return fmt.Errorf("audio: %d samples is not a whole number of %d-channel frames", len(b.Data), b.Channels)
	}
	if b.Channels > 0xFFFF || int64(b.SampleRate) > 0xFFFFFFFF/(2*int64(b.Channels)) {
		return fmt.Errorf("audio: format %+v does not fit a WAV header", b.Format)
	}
	dataLen := int64(len(b.Data)) * 2
	if dataLen+36 > 0xFFFFFFFF {
		return fmt.Errorf("audio: %d samples do not fit a WAV file", len(b.Data))
	}
	le := binary.LittleEndian
	h := make([]byte, 44)
	copy(h[0:], "RIFF")
	le.PutUint32(h[4:], uint32(36+dataLen))
	copy(h[8:], "WAVEfmt ")
	le.PutUint32(h[16:], 16)
	le.PutUint16(h[20:], wavPCM)
	le.PutUint16(h[22:], uint16(b.Channels))
	le.PutUint32(h[24:], uint32(b.SampleRate))
	le.PutUint32(h[28:], uint32(b.SampleRate*b.Channels*2))
	le.PutUint16(h[32:], uint16(b.Channels*2))
	le.PutUint16(h[34:], 16)
	copy(h[36:], "data")
	le.PutUint32(h[40:], uint32(dataLen))
	bw := bufio.NewWriter(w)
	bw.Write(h)
	var s [2]byte
	for _, v := range b.Data {
		le.PutUint16(s[:], uint16(Int16Of(v)))
		bw.Write(s[:])
	}
	return bw.Flush()
}

// WriteWAVFile writes b to path as 16-bit PCM.
func WriteWAVFile(path string, b Buffer) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := EncodeWAV(f, b); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

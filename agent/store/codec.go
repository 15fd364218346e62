package store

// This file holds the frame block codec: how one block of frames (one bus,
// at most one second, sorted by time) becomes the blob of one row.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"

	"github.com/klauspost/compress/zstd"

	"github.com/evedge/evedge/drivers/can"
)

// Codecs of a frame block, stored in frame_blocks.codec.
const (
	// codecColumnarZstd is the columnar layout below, compressed with zstd.
	codecColumnarZstd = 1
)

// Limits of the block layout that the decoder enforces.
const (
	// maxBlockFramesLimit is the largest number of frames a block may hold.
	maxBlockFramesLimit = 1 << 16
	// maxRawBlock bounds the size of a decompressed block: the header,
	// a dictionary of at most n entries (5-byte ID + flags as a varint) and
	// per frame a 2-byte index, a length byte, a 10-byte time varint and
	// 8 payload bytes.
	maxRawBlock = 64 + maxBlockFramesLimit*(6+2+1+10+8)
)

// errCorrupt is wrapped by every error the block decoder returns.
var errCorrupt = errors.New("corrupt frame block")

func corrupt(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errCorrupt, fmt.Sprintf(format, args...))
}

// The columnar layout of a block before compression (all integers are
// unsigned LEB128 varints, "zigzag" marks a signed one zigzag-encoded):
//
//	version      byte, 1
//	n            frames in the block, 1..65536
//	t0           zigzag, time of the first frame (unix ns)
//	unit         time unit in ns (>= 1): the GCD of all t[i]-t0, so that
//	             logs with microsecond timestamps cost no more than needed
//	mode         time predictor, 0 or 1 (below)
//	k            dictionary entries, 1..n
//	k entries    ID<<8 | Flags, in order of first appearance
//	index column n entry indexes: 1 byte each if k <= 256, else 2 bytes LE
//	len column   n Len bytes
//	time column  n-1 zigzag residuals u[i] - pred(i), in frame order, where
//	             u[i] = (t[i]-t0)/unit. Mode 0 predicts u[i-1] (bursty
//	             traffic); mode 1 predicts, for an entry seen at least twice
//	             before, its last time plus its mean period so far in the
//	             block (periodic traffic: the residual is the jitter), else
//	             u[i-1]. The encoder picks the mode with the smaller
//	             residuals.
//	payload      8 bytes per frame, grouped by entry (entry 0's frames,
//	             then entry 1's ...) and within an entry transposed (byte 0
//	             of all its frames, then byte 1 ...), each byte the
//	             difference (mod 256) with the same byte of the entry's
//	             previous frame (0 for the first).
//
// Periodic messages make the time residuals tiny, repeated payloads become
// runs of zeros and counters runs of ones; zstd then removes what is left.
// All eight data bytes are kept whatever Len says, so any Frame value
// round-trips bit for bit.
const layoutVersion = 1

// Time predictors (the mode byte).
const (
	predictPrevFrame = 0
	predictPeriod    = 1
)

// blockEncoder turns blocks of frames into blobs. It reuses its buffers and
// its zstd encoder across blocks and is not safe for concurrent use.
type blockEncoder struct {
	zenc *zstd.Encoder
	raw  []byte
	dict map[uint64]int
	ent  []entryState
	idx  []uint16
	res  [2][]int64
}

// entryState is what the codec tracks per dictionary entry while it walks
// a block.
type entryState struct {
	key         uint64
	first, prev int64 // in units since t0
	seen        int
	data        [8]byte
	count       int // frames of the entry in the block
	payOff      int // start of the entry's payload group
	m           int // frames of the entry done so far
}

// predict returns the predicted time (in units) of the next frame of es,
// given the previous frame's time prevU.
func (es *entryState) predict(mode byte, prevU int64) int64 {
	if mode == predictPeriod && es.seen >= 2 {
		return es.prev + (es.prev-es.first)/int64(es.seen-1)
	}
	return prevU
}

func (es *entryState) observe(u int64) {
	if es.seen == 0 {
		es.first = u
	}
	es.prev = u
	es.seen++
}

func newBlockEncoder() (*blockEncoder, error) {
	zenc, err := zstd.NewWriter(nil,
		zstd.WithEncoderLevel(zstd.SpeedBetterCompression),
		zstd.WithEncoderConcurrency(1),
		zstd.WithEncoderCRC(false),
		zstd.WithZeroFrames(true),
		zstd.WithWindowSize(1<<20),
	)
	if err != nil {
		return nil, err
	}
	return &blockEncoder{zenc: zenc, dict: make(map[uint64]int)}, nil
}

func (e *blockEncoder) close() error { return e.zenc.Close() }

func frameKey(f *can.Frame) uint64 { return uint64(f.ID)<<8 | uint64(f.Flags) }

// encode appends the blob of frames to dst. frames must be non-empty and
// at most maxBlockFramesLimit long; they are expected sorted by time
// (unsorted frames still round-trip, only less compactly).
func (e *blockEncoder) encode(dst []byte, frames []can.Frame) []byte {
	raw := e.encodeRaw(frames)
	return e.zenc.EncodeAll(raw, dst)
}

func zigzag(v int64) uint64 { return uint64(v<<1) ^ uint64(v>>63) }

func (e *blockEncoder) encodeRaw(frames []can.Frame) []byte {
	n := len(frames)
	clear(e.dict)
	e.ent = e.ent[:0]
	if cap(e.idx) < n {
		e.idx = make([]uint16, n)
	}
	idx := e.idx[:n]
	t0 := frames[0].Time
	var g uint64
	for i := range frames {
		f := &frames[i]
		k := frameKey(f)
		j, ok := e.dict[k]
		if !ok {
			j = len(e.ent)
			e.dict[k] = j
			e.ent = append(e.ent, entryState{key: k})
		}
		idx[i] = uint16(j)
		e.ent[j].count++
		g = gcd(g, uint64(f.Time-t0))
	}
	if g == 0 || !sortedSpan(frames) {
		g = 1
	}
	// Residuals under both predictors; keep the cheaper.
	var cost [2]int
	for mode := range 2 {
		res := e.res[mode][:0]
		for j := range e.ent {
			e.ent[j].seen = 0
		}
		var prevU int64
		for i := range frames {
			u := int64(uint64(frames[i].Time-t0) / g)
			es := &e.ent[idx[i]]
			if i > 0 {
				r := u - es.predict(byte(mode), prevU)
				res = append(res, r)
				cost[mode] += bits.Len64(zigzag(r))
			}
			es.observe(u)
			prevU = u
		}
		e.res[mode] = res
	}
	mode := predictPrevFrame
	if cost[predictPeriod] < cost[predictPrevFrame] {
		mode = predictPeriod
	}

	raw := e.raw[:0]
	raw = append(raw, layoutVersion)
	raw = binary.AppendUvarint(raw, uint64(n))
	raw = binary.AppendVarint(raw, t0)
	raw = binary.AppendUvarint(raw, g)
	raw = append(raw, byte(mode))
	raw = binary.AppendUvarint(raw, uint64(len(e.ent)))
	for j := range e.ent {
		raw = binary.AppendUvarint(raw, e.ent[j].key)
	}
	wide := len(e.ent) > 256
	for _, j := range idx {
		if wide {
			raw = binary.LittleEndian.AppendUint16(raw, j)
		} else {
			raw = append(raw, byte(j))
		}
	}
	for i := range frames {
		raw = append(raw, frames[i].Len)
	}
	for _, r := range e.res[mode] {
		raw = binary.AppendVarint(raw, r)
	}
	// Payloads grouped by entry, transposed, as byte differences.
	off := len(raw)
	for j := range e.ent {
		e.ent[j].payOff = off
		off += 8 * e.ent[j].count
	}
	raw = grow(raw, off)
	for i := range frames {
		es := &e.ent[idx[i]]
		d := frames[i].Data
		c, m := es.count, es.m
		p := raw[es.payOff : es.payOff+8*c]
		for b := range 8 {
			p[b*c+m] = d[b] - es.data[b]
		}
		es.data = d
		es.m++
	}
	e.raw = raw
	return raw
}

// sortedSpan reports whether frames are sorted by time over a span small
// enough (2^61 ns, 73 years) for times to be counted in units.
func sortedSpan(frames []can.Frame) bool {
	for i := 1; i < len(frames); i++ {
		if frames[i].Time < frames[i-1].Time {
			return false
		}
	}
	return uint64(frames[len(frames)-1].Time-frames[0].Time) < 1<<61
}

// grow returns b extended to length n (n >= len(b)).
func grow(b []byte, n int) []byte {
	if n <= cap(b) {
		return b[:n]
	}
	nb := make([]byte, n, n+n/4)
	copy(nb, b)
	return nb
}

func gcd(a, b uint64) uint64 {
	if a == 0 {
		return b
	}
	if b == 0 {
		return a
	}
	// Binary GCD: no divisions.
	s := bits.TrailingZeros64(a | b)
	a >>= bits.TrailingZeros64(a)
	for b != 0 {
		b >>= bits.TrailingZeros64(b)
		if a > b {
			a, b = b, a
		}
		b -= a
	}
	return a << s
}

// blockDecoder turns blobs back into frames. It is safe for concurrent use
// when each goroutine has its own scratch (see decode).
type blockDecoder struct {
	zdec *zstd.Decoder
}

func newBlockDecoder() (*blockDecoder, error) {
	zdec, err := zstd.NewReader(nil,
		zstd.WithDecoderConcurrency(1),
		zstd.WithDecoderMaxMemory(maxRawBlock),
		zstd.WithDecoderMaxWindow(1<<20),
	)
	if err != nil {
		return nil, err
	}
	return &blockDecoder{zdec: zdec}, nil
}

func (d *blockDecoder) close() { d.zdec.Close() }

// decodeScratch holds the buffers one decoding goroutine reuses.
type decodeScratch struct {
	raw []byte
	ent []entryState
}

// decode decodes blob (codec codecColumnarZstd) into dst[:0] and returns
// the frames, with Bus set to bus. Corrupt input gives an error wrapping
// errCorrupt, never a panic.
func (d *blockDecoder) decode(dst []can.Frame, blob []byte, bus uint8, sc *decodeScratch) ([]can.Frame, error) {
	raw, err := d.zdec.DecodeAll(blob, sc.raw[:0])
	if err != nil {
		return dst[:0], corrupt("zstd: %v", err)
	}
	sc.raw = raw
	return decodeRaw(dst[:0], raw, bus, sc)
}

// reader is a bounds-checked cursor over a raw block.
type reader struct {
	b   []byte
	err error
}

func (r *reader) uvarint(what string) uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = corrupt("bad varint in %s", what)
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) varint(what string) int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.err = corrupt("bad varint in %s", what)
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) bytes(n int, what string) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > len(r.b) {
		r.err = corrupt("%s: need %d bytes, have %d", what, n, len(r.b))
		return nil
	}
	s := r.b[:n]
	r.b = r.b[n:]
	return s
}

func decodeRaw(dst []can.Frame, raw []byte, bus uint8, sc *decodeScratch) ([]can.Frame, error) {
	r := reader{b: raw}
	if v := r.bytes(1, "version"); r.err == nil && v[0] != layoutVersion {
		return dst, corrupt("layout version %d", v[0])
	}
	n64 := r.uvarint("count")
	t0 := r.varint("t0")
	g := r.uvarint("unit")
	modeb := r.bytes(1, "mode")
	k64 := r.uvarint("dictionary size")
	if r.err != nil {
		return dst, r.err
	}
	mode := modeb[0]
	switch {
	case n64 == 0 || n64 > maxBlockFramesLimit:
		return dst, corrupt("frame count %d", n64)
	case k64 == 0 || k64 > n64:
		return dst, corrupt("dictionary size %d for %d frames", k64, n64)
	case g == 0 || g > 1<<62:
		return dst, corrupt("time unit %d", g)
	case mode > predictPeriod:
		return dst, corrupt("time mode %d", mode)
	}
	n, k := int(n64), int(k64)
	// Each frame needs at least an index byte, a len byte, 8 payload bytes
	// and (after the first) a time byte: refuse a count the data cannot
	// hold before allocating for it.
	if len(r.b) < n*11-1+k {
		return dst, corrupt("%d frames in %d bytes", n, len(r.b))
	}
	if cap(sc.ent) < k {
		sc.ent = make([]entryState, k)
	}
	ent := sc.ent[:k]
	for j := range ent {
		ent[j] = entryState{key: r.uvarint("dictionary")}
		if ent[j].key>>40 != 0 {
			return dst, corrupt("dictionary entry %#x", ent[j].key)
		}
	}
	width := 1
	if k > 256 {
		width = 2
	}
	idxCol := r.bytes(n*width, "index column")
	lenCol := r.bytes(n, "len column")
	if r.err != nil {
		return dst, r.err
	}
	if cap(dst) < n {
		dst = make([]can.Frame, 0, n)
	}
	dst = dst[:n]
	entryOf := func(i int) int {
		if width == 1 {
			return int(idxCol[i])
		}
		return int(binary.LittleEndian.Uint16(idxCol[2*i:]))
	}
	var prevU int64
	for i := range n {
		j := entryOf(i)
		if j >= k {
			return dst[:0], corrupt("frame %d: entry %d of %d", i, j, k)
		}
		es := &ent[j]
		var u int64
		if i > 0 {
			u = es.predict(mode, prevU) + r.varint("time column")
			if r.err != nil {
				return dst[:0], r.err
			}
		}
		es.observe(u)
		es.count++
		prevU = u
		dst[i] = can.Frame{
			Time:  t0 + u*int64(g),
			ID:    uint32(es.key >> 8),
			Bus:   bus,
			Len:   lenCol[i],
			Flags: can.Flags(es.key),
		}
	}
	off := 0
	for j := range ent {
		ent[j].payOff = off
		off += 8 * ent[j].count
	}
	pay := r.bytes(off, "payload column")
	if r.err != nil {
		return dst[:0], r.err
	}
	if len(r.b) != 0 {
		return dst[:0], corrupt("%d trailing bytes", len(r.b))
	}
	for i := range n {
		es := &ent[entryOf(i)]
		c, m := es.count, es.m
		p := pay[es.payOff : es.payOff+8*c]
		var d [8]byte
		for b := range 8 {
			d[b] = p[b*c+m] + es.data[b]
		}
		es.data = d
		es.m++
		dst[i].Data = d
	}
	return dst, nil
}

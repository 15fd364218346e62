package isotpcan

import "time"

// Defaults. The timing parameters are those of ISO 15765-4 (P2 50 ms, P2*
// 5 s, N_Bs and N_Cr 1 s) with P2 raised to 150 ms, because gateways on
// electric cars often answer later than the 50 ms a directly wired ECU
// needs, and a functional collection window of 300 ms, long enough for ECUs
// behind a gateway.
const (
	DefaultPadByte           = 0xAA
	DefaultP2                = 150 * time.Millisecond
	DefaultP2Star            = 5 * time.Second
	DefaultFunctionalTimeout = 300 * time.Millisecond
	DefaultFrameTimeout      = time.Second
	DefaultMaxWait           = 10
)

// Option configures New or Serve. Each option says which of the two it
// concerns; the other ignores it.
type Option func(*config)

type config struct {
	pad          bool
	padByte      byte
	p2           time.Duration
	p2Star       time.Duration
	functional   time.Duration
	frameTimeout time.Duration
	maxWait      int
	blockSize    byte
	stMin        byte
	closeSource  bool

	// Serve only.
	extAddr         bool
	rxAddr, txAddr  byte
	functionalID    uint32
	functionalIDSet bool
	pendingN        int
	pendingDelay    time.Duration
	sleep           func(ctxDone <-chan struct{}, d time.Duration) bool
	extendedIDs     bool
	extendedIDsSet  bool
}

func newConfig(opts []Option) config {
	c := config{
		pad:          true,
		padByte:      DefaultPadByte,
		p2:           DefaultP2,
		p2Star:       DefaultP2Star,
		functional:   DefaultFunctionalTimeout,
		frameTimeout: DefaultFrameTimeout,
		maxWait:      DefaultMaxWait,
		sleep:        sleep,
	}
	for _, o := range opts {
		o(&c)
	}
	return c
}

// WithPadding pads every frame sent to 8 bytes with b (New and Serve). The
// default pads with 0xAA, as ISO 15765-4 asks of OBD testers.
func WithPadding(b byte) Option {
	return func(c *config) { c.pad, c.padByte = true, b }
}

// WithoutPadding sends frames as short as their content (New and Serve).
func WithoutPadding() Option {
	return func(c *config) { c.pad = false }
}

// WithP2 sets how long a physical request waits for the start of its answer
// when the request has no Timeout (New; default DefaultP2).
func WithP2(d time.Duration) Option {
	return func(c *config) { c.p2 = positive(d, DefaultP2) }
}

// WithP2Star sets how long to wait after a "response pending" answer
// (0x7F sid 0x78) for the next answer from the same ECU (New; default
// DefaultP2Star).
func WithP2Star(d time.Duration) Option {
	return func(c *config) { c.p2Star = positive(d, DefaultP2Star) }
}

// WithFunctionalTimeout sets how long a functional request collects answers
// when the request has no Timeout (New; default DefaultFunctionalTimeout).
func WithFunctionalTimeout(d time.Duration) Option {
	return func(c *config) { c.functional = positive(d, DefaultFunctionalTimeout) }
}

// WithFrameTimeout sets how long the Transport waits for the ECU's
// flow-control frame and for the next consecutive frame of an answer (ISO
// 15765-2 N_Bs and N_Cr; New; default DefaultFrameTimeout). Serve has no
// timeouts: a new request abandons what it waited for.
func WithFrameTimeout(d time.Duration) Option {
	return func(c *config) { c.frameTimeout = positive(d, DefaultFrameTimeout) }
}

// WithMaxWait sets how many flow-control Wait frames a sender accepts in a
// row before it gives up (ISO 15765-2 N_WFTmax; New and Serve; default
// DefaultMaxWait).
func WithMaxWait(n int) Option {
	return func(c *config) { c.maxWait = max(n, 0) }
}

// WithFlowControl sets the block size and STmin byte (see isotp.STmin) of
// the flow-control frames sent when receiving a multi-frame message (New and
// Serve). The default, 0 and 0, lets the sender send everything at once.
func WithFlowControl(blockSize, stMin byte) Option {
	return func(c *config) { c.blockSize, c.stMin = blockSize, stMin }
}

// WithCloseSource makes Transport.Close also close the source, when it has
// a Close() error method (a socketcan.Conn has), and wait for the reading
// goroutine to end (New). Without it closing the source is the caller's
// job.
func WithCloseSource() Option {
	return func(c *config) { c.closeSource = true }
}

// WithExtAddr makes Serve use extended addressing: it takes only request
// frames whose first byte is rx (its own address) and starts every frame it
// sends with tx (the tester's address) (Serve).
func WithExtAddr(rx, tx byte) Option {
	return func(c *config) { c.extAddr, c.rxAddr, c.txAddr = true, rx, tx }
}

// WithFunctionalID sets the functional request id Serve also answers single
// frames on; 0 turns functional requests off (Serve; default
// obd.FunctionalID, or obd.FunctionalID29 with 29-bit ids).
func WithFunctionalID(id uint32) Option {
	return func(c *config) { c.functionalID, c.functionalIDSet = id, true }
}

// WithExtendedIDs makes Serve use 29-bit ids, or 11-bit ids when false
// (Serve; by default the ids are 29-bit when either is above 0x7FF).
func WithExtendedIDs(extended bool) Option {
	return func(c *config) { c.extendedIDs, c.extendedIDsSet = extended, true }
}

// WithPending makes Serve answer n times "response pending" (0x7F sid
// 0x78), d apart, before each real answer (Serve), as a slow ECU does.
func WithPending(n int, d time.Duration) Option {
	return func(c *config) { c.pendingN, c.pendingDelay = max(n, 0), max(d, 0) }
}

func positive(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// sleep waits d or until done is closed; false when done was closed.
func sleep(done <-chan struct{}, d time.Duration) bool {
	if d <= 0 {
		select {
		case <-done:
			return false
		default:
			return true
		}
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-done:
		return false
	}
}

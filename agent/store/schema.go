package store

// schemaVersion is stored in PRAGMA user_version. Open refuses a database
// with a newer version than it knows.
const schemaVersion = 1

// schema creates the tables of a new database (user_version 0). The
// statements run in one transaction.
var schema = []string{
	// Small bookkeeping values: rollup progress, the largest block span.
	`CREATE TABLE meta (
		key   TEXT PRIMARY KEY,
		value INTEGER NOT NULL
	) WITHOUT ROWID`,

	// Bytes and rows per quota class, kept in the same transaction as the
	// rows they count, so that they are right after any crash. bytes is
	// the estimate described in quota.go (payload plus a fixed overhead
	// per row); evicted_* count what eviction deleted, ever.
	`CREATE TABLE class_usage (
		class         INTEGER PRIMARY KEY,
		bytes         INTEGER NOT NULL,
		rows          INTEGER NOT NULL,
		evicted_rows  INTEGER NOT NULL,
		evicted_bytes INTEGER NOT NULL
	)`,

	// Raw frames: one row per block of frames of one bus spanning at most
	// max_block_span ns, sorted by time; blob is the block codec's output
	// (codec.go). Oldest first means lowest id (first written), which
	// stays right when the clock jumps.
	`CREATE TABLE frame_blocks (
		id      INTEGER PRIMARY KEY,
		bus     INTEGER NOT NULL,
		t_first INTEGER NOT NULL,
		t_last  INTEGER NOT NULL,
		n       INTEGER NOT NULL,
		codec   INTEGER NOT NULL,
		blob    BLOB NOT NULL
	)`,
	`CREATE INDEX frame_blocks_bus_t ON frame_blocks (bus, t_first)`,
	`CREATE INDEX frame_blocks_t ON frame_blocks (t_first)`,

	// Signal names interned to small integers.
	`CREATE TABLE signal_names (
		id   INTEGER PRIMARY KEY,
		name TEXT NOT NULL UNIQUE
	)`,

	// One row per signal per second that had values: sec is unix seconds
	// (floor), sum/n give the mean. The key starts with the time, so new
	// rows are appended at the right edge of the b-tree (a few pages per
	// commit whatever the number of signals) and eviction deletes from the
	// left edge.
	`CREATE TABLE signal_1s (
		sec  INTEGER NOT NULL,
		sig  INTEGER NOT NULL,
		min  REAL NOT NULL,
		max  REAL NOT NULL,
		sum  REAL NOT NULL,
		last REAL NOT NULL,
		n    INTEGER NOT NULL,
		PRIMARY KEY (sec, sig)
	) WITHOUT ROWID`,

	// One row per signal per minute, computed from signal_1s when the
	// minute is over; kept longer (its own quota).
	`CREATE TABLE signal_1m (
		minute INTEGER NOT NULL,
		sig    INTEGER NOT NULL,
		min    REAL NOT NULL,
		max    REAL NOT NULL,
		sum    REAL NOT NULL,
		last   REAL NOT NULL,
		n      INTEGER NOT NULL,
		PRIMARY KEY (minute, sig)
	) WITHOUT ROWID`,

	`CREATE TABLE events (
		id       INTEGER PRIMARY KEY,
		t        INTEGER NOT NULL,
		kind     TEXT NOT NULL,
		severity INTEGER NOT NULL,
		source   TEXT NOT NULL,
		body     BLOB
	)`,
	`CREATE INDEX events_t ON events (t)`,
	`CREATE INDEX events_kind_t ON events (kind, t)`,

	// MQTT messages waiting for the uplink. The (kind, id, priority)
	// index lets NextBatch order without reading payloads.
	`CREATE TABLE outbox (
		id       INTEGER PRIMARY KEY,
		kind     TEXT NOT NULL,
		priority INTEGER NOT NULL,
		topic    TEXT NOT NULL,
		payload  BLOB NOT NULL,
		qos      INTEGER NOT NULL,
		retain   INTEGER NOT NULL,
		t        INTEGER NOT NULL
	)`,
	`CREATE INDEX outbox_kind ON outbox (kind, id, priority)`,

	// Time windows whose frames and 1 s summaries eviction must keep.
	`CREATE TABLE pins (
		id      INTEGER PRIMARY KEY,
		t_from  INTEGER NOT NULL,
		t_to    INTEGER NOT NULL,
		reason  TEXT NOT NULL,
		expires INTEGER NOT NULL,
		created INTEGER NOT NULL
	)`,
}

// Keys of the meta table.
const (
	// metaRollupDone is the last minute whose rollups are complete.
	metaRollupDone = "rollup_done"
	// metaMaxSpan is the largest block span (ns) ever written, which
	// bounds how far before a query's start a block may begin.
	metaMaxSpan = "max_block_span"
	// metaEventNext and metaOutboxNext are the next ids, so that ids are
	// never reused, even after the tables emptied.
	metaEventNext  = "event_next"
	metaOutboxNext = "outbox_next"
)

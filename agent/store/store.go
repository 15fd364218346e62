package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/mattn/go-sqlite3"

	"github.com/evedge/evedge/drivers/can"
)

// FileName is the name of the database file in Options.Dir.
const FileName = "evedge.db"

// Quotas are the bytes each class of data may use on disk.
type Quotas struct {
	Frames  int64 // raw frame blocks
	Signals int64 // 1 s signal summaries
	Rollups int64 // 1 min signal rollups
	Events  int64
	Outbox  int64
}

// DefaultQuotas fit a 1 GB budget.
var DefaultQuotas = Quotas{
	Frames:  768 << 20,
	Signals: 128 << 20,
	Rollups: 64 << 20,
	Events:  32 << 20,
	Outbox:  32 << 20,
}

// Total returns the sum of the quotas.
func (q Quotas) Total() int64 { return q.Frames + q.Signals + q.Rollups + q.Events + q.Outbox }

func (q Quotas) byClass() [numClasses]int64 {
	return [numClasses]int64{q.Frames, q.Signals, q.Rollups, q.Events, q.Outbox}
}

// Options configure a Store. The zero value of each field selects its
// default.
type Options struct {
	// Dir is the folder of the database (Dir/evedge.db); it is created if
	// missing. Required.
	Dir string
	// Quotas per class; a zero field takes its DefaultQuotas value.
	Quotas Quotas
	// CommitInterval is how often buffered writes are committed (default
	// 1 s); it bounds what a crash can lose. Negative: never in the
	// background, only on Flush, when much is buffered, and on Close.
	CommitInterval time.Duration
	// Now is the clock (default time.Now): event times when unset, pin
	// expiry at each commit, outbox message times.
	Now func() time.Time
	// MaxBlockFrames caps the frames of one block (default 8192, at most
	// 65536).
	MaxBlockFrames int
	// MaxBlockSpan caps the time one block spans (default and most 1 s).
	MaxBlockSpan time.Duration
	// SyncNormal selects synchronous=NORMAL instead of FULL (see the
	// package documentation).
	SyncNormal bool
	// MaxPending caps the memory held by data waiting for a commit
	// (default 64 MiB). Past it, the oldest waiting frames are dropped and
	// counted in Stats.DroppedFrames; it only happens when commits keep
	// failing.
	MaxPending int64
	// ReadOnly opens an existing database for queries only (exports while
	// the agent records): no schema change, no commit, no reserve file,
	// never moved aside when it looks corrupt. Writes return ErrReadOnly.
	ReadOnly bool
	// OnError, when set, receives errors of background commits, once per
	// episode (the first failure after a success). It must not call back
	// into the Store.
	OnError func(error)
}

const (
	defaultMaxBlockFrames = 8192
	defaultMaxPending     = 64 << 20
)

func (o Options) withDefaults() (Options, error) {
	if o.Dir == "" {
		return o, errors.New("store: Options.Dir is empty")
	}
	q, d := &o.Quotas, DefaultQuotas
	for _, p := range []struct {
		v    *int64
		def  int64
		name string
	}{{&q.Frames, d.Frames, "Frames"}, {&q.Signals, d.Signals, "Signals"}, {&q.Rollups, d.Rollups, "Rollups"}, {&q.Events, d.Events, "Events"}, {&q.Outbox, d.Outbox, "Outbox"}} {
		switch {
		case *p.v == 0:
			*p.v = p.def
		case *p.v < 0:
			return o, fmt.Errorf("store: invalid 'Quotas.%s' %d (want bytes > 0)", p.name, *p.v)
		}
	}
	if o.CommitInterval == 0 {
		o.CommitInterval = time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	switch {
	case o.MaxBlockFrames == 0:
		o.MaxBlockFrames = defaultMaxBlockFrames
	case o.MaxBlockFrames < 0 || o.MaxBlockFrames > maxBlockFramesLimit:
		return o, fmt.Errorf("store: invalid 'MaxBlockFrames' %d (want 1..%d)", o.MaxBlockFrames, maxBlockFramesLimit)
	}
	switch {
	case o.MaxBlockSpan == 0:
		o.MaxBlockSpan = time.Second
	case o.MaxBlockSpan < 0 || o.MaxBlockSpan > time.Second:
		return o, fmt.Errorf("store: invalid 'MaxBlockSpan' %v (want 0 < span <= 1s)", o.MaxBlockSpan)
	}
	if o.MaxPending == 0 {
		o.MaxPending = defaultMaxPending
	}
	return o, nil
}

// Errors returned by the Store.
var (
	// ErrClosed is returned by every method after Close.
	ErrClosed = errors.New("store: closed")
	// ErrReadOnly is returned by writes to a store opened with ReadOnly.
	ErrReadOnly = errors.New("store: opened read-only")
	// ErrDiskFull is wrapped by errors caused by a full disk.
	ErrDiskFull = errors.New("store: disk full")
)

// Store is the bounded history. Its methods are safe for concurrent use.
type Store struct {
	opts  Options
	path  string
	db    *sql.DB
	w     *sql.Conn // the one writing connection
	stmts map[string]*sql.Stmt
	enc   *blockEncoder
	dec   *blockDecoder
	// ctx is the writer's statements' context. It is never cancelled: a
	// context that can be makes database/sql and go-sqlite3 start a
	// goroutine per statement to watch it, which tripled the cost of a
	// small upsert.
	ctx context.Context

	pageSize int64
	quotas   [numClasses]int64

	// wmu serialises commits: the writer connection, the encoder and the
	// accounting below it.
	wmu      sync.Mutex
	usage    [numClasses]classUsage
	ratio    float64   // real bytes per estimated byte, from the last commit
	fullCap  int64     // size cap learnt from a full disk; 0 = none
	fsCap    int64     // size cap from the file system's free space; 0 = none
	room     int64     // files + free space at the last look
	fullRoom int64     // room when fullCap was set
	walPages int64     // wal_autocheckpoint in force
	retry    *batch    // a batch whose commit failed, written first next time
	shut     bool      // Close is done with the writer
	inFull   bool      // in a disk-full episode
	lastFull time.Time // when the disk was last found full
	inError  bool      // in an error episode
	rollDone int64     // last minute with complete rollups
	hasRoll  bool
	// partialStale: 1 s rows were written since the minute in progress
	// was last rolled up (by Flush or Close).
	partialStale bool
	maxSpan      atomic.Int64 // meta max_block_span (read by queries)
	pages        int64        // page_count after the last commit
	freePages    int64        // freelist_count after the last commit

	// mu guards the buffers the writers fill and the in-memory state the
	// queries read.
	mu      sync.Mutex
	closed  bool
	backlog bool      // four early commits' worth of frames wait
	failing bool      // the last commit failed
	writing time.Time // when the commit holding the writer began; zero: none
	buf     pending
	open    [256][]can.Frame // the open block of each bus
	free    [][]can.Frame    // frame slices to reuse
	names   map[string]int64
	nameOf  []string // by id
	sigs    []sigAgg // by id
	pins    []Pin
	nextIDs struct{ event, outbox, pin, name int64 }
	ctrs    map[string]int64 // meta-backed counters, sequences and nonces (counters.go)
	stats   counters
	pub     published // what Stats reports of the writer's state

	kick chan struct{}
	// firstKick schedules one early commit after the first frames.
	firstKick sync.Once
	stop      chan struct{}
	done      chan struct{}
}

// Open opens (or creates) the store in opts.Dir. A database left by a
// crashed process is recovered by SQLite (its WAL replayed). One that
// SQLite reports corrupt or not a database is moved aside (evedge.db.
// corrupt-<unix time>) and a new one created; Stats.Recreated says so.
func Open(opts Options) (*Store, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	path := filepath.Join(opts.Dir, FileName)
	if opts.ReadOnly {
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
		s, err := open(opts, path)
		if err != nil {
			return nil, fmt.Errorf("store: %s: %w", path, err)
		}
		close(s.done)
		return s, nil
	}
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	s, err := open(opts, path)
	if err != nil && isCorrupt(err) {
		aside := fmt.Sprintf("%s.corrupt-%d", path, opts.Now().Unix())
		for _, suf := range []string{"", "-wal", "-shm"} {
			if rerr := os.Rename(path+suf, aside+suf); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
				return nil, fmt.Errorf("store: %s: %w (and moving it aside: %v)", path, err, rerr)
			}
		}
		s, err = open(opts, path)
		if s != nil {
			s.stats.recreated = true
		}
	}
	if err != nil {
		return nil, fmt.Errorf("store: %s: %w", path, err)
	}
	if opts.CommitInterval > 0 {
		go s.loop()
	} else {
		close(s.done)
	}
	return s, nil
}

func dsn(path string, syncNormal bool) string {
	v := url.Values{}
	// auto_vacuum only acts on a new database, but the driver sets it on
	// every connection, and on an existing database whose WAL holds
	// frames that costs a write: on a full disk the store could not be
	// opened again (TestDiskFull). Set it only where there is no
	// database yet (no file, or an empty one).
	if fi, err := os.Stat(path); err != nil || fi.Size() == 0 {
		v.Set("_auto_vacuum", "incremental")
	}
	v.Set("_journal_mode", "WAL")
	if syncNormal {
		v.Set("_synchronous", "NORMAL")
	} else {
		v.Set("_synchronous", "FULL")
	}
	v.Set("_busy_timeout", "10000")
	v.Set("_txlock", "immediate")
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + v.Encode()
}

func open(opts Options, path string) (s *Store, err error) {
	source := dsn(path, opts.SyncNormal)
	if opts.ReadOnly {
		source = "file:" + (&url.URL{Path: path}).EscapedPath() + "?mode=ro&_busy_timeout=10000"
	}
	db, err := sql.Open("sqlite3", source)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(4)
	db.SetMaxIdleConns(4)
	db.SetConnMaxIdleTime(time.Minute)
	ctx := context.Background()
	s = &Store{
		opts:   opts,
		path:   path,
		db:     db,
		ctx:    ctx,
		quotas: opts.Quotas.byClass(),
		ratio:  1,
		names:  map[string]int64{},
		stmts:  map[string]*sql.Stmt{},
		kick:   make(chan struct{}, 1),
		stop:   make(chan struct{}),
		done:   make(chan struct{}),
	}
	defer func() {
		if err != nil {
			s.release()
			s = nil
		}
	}()
	if s.w, err = db.Conn(ctx); err != nil {
		return s, err
	}
	if s.enc, err = newBlockEncoder(); err != nil {
		return s, err
	}
	if s.dec, err = newBlockDecoder(); err != nil {
		return s, err
	}
	if opts.ReadOnly {
		v, err := s.queryInt("PRAGMA user_version")
		if err != nil {
			return s, err
		}
		if v != schemaVersion {
			return s, fmt.Errorf("schema version %d, this evedge reads %d", v, schemaVersion)
		}
		if s.pageSize, err = s.queryInt("PRAGMA page_size"); err != nil {
			return s, err
		}
	} else {
		if err = s.initSchema(); err != nil {
			return s, err
		}
		if err = s.configure(); err != nil {
			return s, err
		}
	}
	if err = s.load(); err != nil {
		return s, err
	}
	return s, nil
}

// release closes what open made, ignoring errors.
func (s *Store) release() {
	s.closeStmts()
	if s.w != nil {
		s.w.Close()
	}
	s.db.Close()
	if s.enc != nil {
		s.enc.close()
	}
	if s.dec != nil {
		s.dec.close()
	}
}

// stmt returns the writer connection's prepared statement for q, preparing
// it the first time (with wmu held, or during Open).
func (s *Store) stmt(q string) (*sql.Stmt, error) {
	if st, ok := s.stmts[q]; ok {
		return st, nil
	}
	st, err := s.w.PrepareContext(s.ctx, q)
	if err != nil {
		return nil, err
	}
	s.stmts[q] = st
	return st, nil
}

// exec runs q on the writer connection; statements with arguments are
// prepared once and reused.
func (s *Store) exec(q string, args ...any) (sql.Result, error) {
	if len(args) == 0 {
		return s.w.ExecContext(s.ctx, q)
	}
	st, err := s.stmt(q)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(s.ctx, args...)
}

// drain runs a statement that returns rows to its end (PRAGMA
// incremental_vacuum does one page per row).
func (s *Store) drain(q string) error {
	rows, err := s.w.QueryContext(s.ctx, q)
	if err != nil {
		return err
	}
	for rows.Next() {
	}
	return closeRows(rows)
}

// query is exec for statements that return rows.
func (s *Store) query(q string, args ...any) (*sql.Rows, error) {
	st, err := s.stmt(q)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(s.ctx, args...)
}

// queryRow is query for one row.
func (s *Store) queryRow(q string, args ...any) *sql.Row {
	st, err := s.stmt(q)
	if err != nil {
		return s.w.QueryRowContext(s.ctx, q, args...) // reports err
	}
	return st.QueryRowContext(s.ctx, args...)
}

func (s *Store) closeStmts() {
	for q, st := range s.stmts {
		st.Close()
		delete(s.stmts, q)
	}
}

func (s *Store) queryInt(q string, args ...any) (int64, error) {
	var v sql.NullInt64
	err := s.w.QueryRowContext(s.ctx, q, args...).Scan(&v)
	return v.Int64, err
}

func (s *Store) initSchema() error {
	ver, err := s.queryInt("PRAGMA user_version")
	if err != nil {
		return err
	}
	switch {
	case ver == schemaVersion:
		return nil
	case ver > schemaVersion:
		return fmt.Errorf("schema version %d is newer than this program's %d", ver, schemaVersion)
	case ver != 0:
		return fmt.Errorf("unknown schema version %d", ver)
	}
	if _, err := s.exec("BEGIN IMMEDIATE"); err != nil {
		return err
	}
	stmts := append([]string{}, schema...)
	for c := range numClasses {
		stmts = append(stmts, fmt.Sprintf("INSERT INTO class_usage VALUES (%d, 0, 0, 0, 0)", c))
	}
	stmts = append(stmts, fmt.Sprintf("PRAGMA user_version = %d", schemaVersion), "COMMIT")
	for _, q := range stmts {
		if _, err := s.exec(q); err != nil {
			s.exec("ROLLBACK")
			return fmt.Errorf("creating schema: %w", err)
		}
	}
	return nil
}

// configure sets the writer connection's pragmas: WAL checkpoints sized to
// the quota, the journal size limit, a cache for the index edges, and
// temporary b-trees (rollup GROUP BY) in memory instead of on flash.
func (s *Store) configure() error {
	var err error
	if s.pageSize, err = s.queryInt("PRAGMA page_size"); err != nil {
		return err
	}
	s.capFromFS()
	if err := s.applyWALLimit(); err != nil {
		return err
	}
	s.ensureReserve()
	for _, q := range []string{
		"PRAGMA cache_size = -8192",
		"PRAGMA temp_store = MEMORY",
	} {
		if _, err := s.exec(q); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	return nil
}

// load reads the state kept in memory: usage, names, pins, next ids, meta.
func (s *Store) load() error {
	rows, err := s.w.QueryContext(s.ctx, "SELECT class, bytes, rows, evicted_rows, evicted_bytes FROM class_usage")
	if err != nil {
		return err
	}
	for rows.Next() {
		var c int
		var u classUsage
		if err := rows.Scan(&c, &u.bytes, &u.rows, &u.evictedRows, &u.evictedBytes); err != nil {
			rows.Close()
			return err
		}
		if c >= 0 && c < numClasses {
			s.usage[c] = u
		}
	}
	if err := closeRows(rows); err != nil {
		return err
	}

	rows, err = s.w.QueryContext(s.ctx, "SELECT id, name FROM signal_names ORDER BY id")
	if err != nil {
		return err
	}
	for rows.Next() {
		var id int64
		var name string
		if err := rows.Scan(&id, &name); err != nil {
			rows.Close()
			return err
		}
		s.names[name] = id
		for int64(len(s.nameOf)) <= id {
			s.nameOf = append(s.nameOf, "")
			s.sigs = append(s.sigs, sigAgg{})
		}
		s.nameOf[id] = name
	}
	if err := closeRows(rows); err != nil {
		return err
	}
	s.nextIDs.name = int64(len(s.nameOf))

	rows, err = s.w.QueryContext(s.ctx, "SELECT id, t_from, t_to, reason, expires, created FROM pins ORDER BY id")
	if err != nil {
		return err
	}
	for rows.Next() {
		var p Pin
		var from, to, exp, created int64
		if err := rows.Scan(&p.ID, &from, &to, &p.Reason, &exp, &created); err != nil {
			rows.Close()
			return err
		}
		p.From, p.To, p.Created = time.Unix(0, from), time.Unix(0, to), time.Unix(0, created)
		if exp != 0 {
			p.Expires = time.Unix(0, exp)
		}
		s.pins = append(s.pins, p)
	}
	if err := closeRows(rows); err != nil {
		return err
	}

	for _, x := range []struct {
		dst *int64
		q   string
	}{
		{&s.nextIDs.event, "SELECT max(id) FROM events"},
		{&s.nextIDs.outbox, "SELECT max(id) FROM outbox"},
		{&s.nextIDs.pin, "SELECT max(id) FROM pins"},
	} {
		v, err := s.queryInt(x.q)
		if err != nil {
			return err
		}
		*x.dst = v + 1
	}
	// Ids of acknowledged messages must not come back: an empty outbox
	// restarts its ids after the highest ever used, which SQLite keeps
	// only with AUTOINCREMENT; store it in meta instead.
	if v, ok, err := s.meta(metaOutboxNext); err != nil {
		return err
	} else if ok && v > s.nextIDs.outbox {
		s.nextIDs.outbox = v
	}
	if v, ok, err := s.meta(metaEventNext); err != nil {
		return err
	} else if ok && v > s.nextIDs.event {
		s.nextIDs.event = v
	}

	if v, ok, err := s.meta(metaRollupDone); err != nil {
		return err
	} else if ok {
		s.rollDone, s.hasRoll = v, true
	}
	s.maxSpan.Store(int64(s.opts.MaxBlockSpan))
	if v, ok, err := s.meta(metaMaxSpan); err != nil {
		return err
	} else if ok && v > s.maxSpan.Load() {
		s.maxSpan.Store(v)
	}
	// The newest second of signal data decides which minutes are over.
	if v, err := s.queryInt("SELECT max(sec) FROM signal_1s"); err != nil {
		return err
	} else if v != 0 || s.usage[classSignals].rows > 0 {
		s.buf.maxSec, s.buf.hasMaxSec = v, true
	}
	if err := s.measure(); err != nil {
		return err
	}
	s.buf.rollDone, s.buf.hasRollDone = s.rollDone, s.hasRoll
	s.partialStale = s.buf.hasMaxSec // a crash may have left it behind
	s.publishLocked()
	return nil
}

func (s *Store) meta(key string) (int64, bool, error) {
	var v int64
	err := s.w.QueryRowContext(s.ctx, "SELECT value FROM meta WHERE key = ?", key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	return v, err == nil, err
}

func closeRows(rows *sql.Rows) error {
	err := rows.Err()
	if cerr := rows.Close(); err == nil {
		err = cerr
	}
	return err
}

// loop commits every CommitInterval, or sooner when kicked.
func (s *Store) loop() {
	defer close(s.done)
	t := time.NewTicker(s.opts.CommitInterval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		case <-s.kick:
		}
		s.commit(false)
	}
}

// kickCommit asks the loop for an early commit without waiting.
func (s *Store) kickCommit() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// Flush commits everything buffered so far and returns when it is on disk
// (as far as the sync mode promises).
func (s *Store) Flush() error {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return ErrClosed
	}
	return s.commit(true)
}

// Close commits what is buffered, checkpoints and truncates the WAL and
// closes the database. Iterators still open fail with an error.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	close(s.stop)
	<-s.done
	var err error
	if !s.opts.ReadOnly {
		err = s.commit(true)
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.shut = true
	if !s.opts.ReadOnly {
		if _, cerr := s.exec("PRAGMA wal_checkpoint(TRUNCATE)"); err == nil && cerr != nil {
			err = fmt.Errorf("store: checkpoint: %w", cerr)
		}
	}
	s.closeStmts()
	if cerr := s.w.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if cerr := s.db.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("store: %w", cerr)
	}
	s.enc.close()
	s.dec.close()
	return err
}

// isDiskFull reports whether err is SQLite's SQLITE_FULL or an I/O error
// caused by ENOSPC.
func isDiskFull(err error) bool {
	var se sqlite3.Error
	if errors.As(err, &se) {
		return se.Code == sqlite3.ErrFull || se.SystemErrno == syscall.ENOSPC
	}
	return errors.Is(err, syscall.ENOSPC)
}

func isCorrupt(err error) bool {
	var se sqlite3.Error
	if errors.As(err, &se) {
		return se.Code == sqlite3.ErrCorrupt || se.Code == sqlite3.ErrNotADB
	}
	return false
}

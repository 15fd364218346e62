// Package store is evedge's bounded local history: a SQLite database
// (dir/evedge.db, WAL mode) used as a ring buffer that survives power cuts
// and spares the eMMC flash. It is the only package that imports
// go-sqlite3 (cgo).
//
// It keeps five classes of data, each with a quota in bytes (Options.Quotas)
// enforced continuously, oldest first:
//
//   - raw CAN frames, cut per bus into blocks of at most one second and
//     Options.MaxBlockFrames frames, encoded column by column and compressed
//     with zstd (about 1.5 bytes per frame of real traffic; see codec.go);
//   - signal history: per signal and per second min, max, mean, last and
//     count (AddValue aggregates in memory, so it is cheap);
//   - one-minute rollups of the same, computed when a minute is over and
//     kept longer;
//   - events (diagnoses, DTC snapshots, voice commands, service accesses);
//   - the MQTT outbox the uplink drains (Enqueue, NextBatch, Ack).
//
// Pins keep the frames and 1 s summaries of a time window (a service
// request, a fault) from eviction until they are unpinned or expire, even
// if their class goes over quota (Stats reports it).
//
// # Commits and what a crash can lose
//
// Writes are buffered in memory and committed in one transaction every
// Options.CommitInterval (1 s by default), when enough is buffered (about
// 3 MB of frames), and on Flush and Close. A crash of the process
// (SIGKILL, panic) or a power cut loses at most what was added during one
// commit interval plus the time the commit itself takes: what was
// committed stays, and the database opens again with integrity_check "ok"
// (TestCrash kills a writer 50 times to check it). Frames and 1 s summaries are visible to
// queries once committed; call Flush first to include the last interval.
// One-minute rollups appear when the minute is over (or at Close), and the
// rollups of minutes a crash interrupted are recomputed from the 1 s
// summaries at the next commit.
//
// By default the database runs with synchronous=FULL: each commit fsyncs
// the WAL, once per commit interval, which is what makes the bound hold for
// power cuts too. It costs one fsync per second and almost no extra bytes
// (the WAL is appended to either way). Options.SyncNormal selects
// synchronous=NORMAL: the WAL is then only synced at checkpoints, so a
// power cut may also lose the commits since the last checkpoint (a few MB
// of WAL), but never corrupts the database: in WAL mode every commit is a
// checksummed frame sequence appended to the WAL, and recovery replays only
// complete, valid commits, while the database file is only written by
// checkpoints after the WAL is synced.
//
// # Flash and disk space
//
// The store's files (evedge.db, evedge.db-wal and the reserve file below)
// stay within the sum of the quotas plus a few percent: usage is tracked
// per class in the class_usage table (in the same transactions as the
// data), calibrated after every commit against the pages SQLite really
// uses, and eviction runs before the inserts of a commit, freeing a little
// more than needed (1/128 of the quota) so that it runs in batches and the
// inserts reuse the freed pages instead of growing the file. The database
// is created with auto_vacuum=INCREMENTAL so that it can give space back
// when free pages pile up (after a quota was lowered). The WAL is
// checkpointed automatically (wal_autocheckpoint) every 1/64 of the quota,
// between 64 KiB and 4 MiB, and journal_size_limit truncates it to twice
// that; Close checkpoints it to zero. New rows always land at the right
// edge of their b-trees (times and ids grow), so a commit rewrites few
// pages besides the new data: about 8 for frames (the bus index has one
// edge per bus) and 8 for signal summaries.
//
// A full disk is avoided first: after each commit the store looks at the
// free space of its file system and caps itself to what its files and the
// free space leave, less a margin for others (1/16). It keeps a reserve
// file, evedge.db-reserve (twice the WAL's checkpoint size, 128 KiB to
// 8 MiB, taken out of the quotas), because SQLite on a full disk can be
// stuck: the WAL cannot grow, and it cannot be checkpointed when the
// database file must grow to take the pages appended since the last
// checkpoint. When a commit meets SQLITE_FULL or ENOSPC all the same
// (another program filled the disk), the store rolls back, deletes the
// reserve so that the checkpoint can complete, caps its size 10% below
// what it uses, evicts the oldest unpinned data down to it, gives the
// freed pages back, and retries (up to 4 times, 10% lower each time).
// Committed data is never lost but by that eviction, pinned data is kept,
// and nothing is corrupted. The condition is reported once per episode
// through Options.OnError (an error wrapping ErrDiskFull) and counted in
// Stats.DiskFull; Flush returns an error wrapping ErrDiskFull only if its
// data could not be written (it is then kept in memory and retried). The
// cap is lifted when the free space grows back.
//
// # Queries
//
// Frames, Signals and Events return scanner-shaped iterators (Next, then
// Frame/Summary/Event, then Err and Close) that read the database in pages
// of short read transactions, so they use constant memory, never hold up
// checkpoints, and stop when their context is cancelled.
package store

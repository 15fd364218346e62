//go:build !unix

package store

// freeSpace is unknown here: the store relies on SQLITE_FULL alone.
func freeSpace(dir string) (int64, bool) { return 0, false }

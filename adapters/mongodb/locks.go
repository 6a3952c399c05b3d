package mongodb

import (
	"hash/maphash"
	"sync"
)

// keyLocks serializes conditional writes to one document within this
// process.
//
// MongoDB applies an update's or delete's filter and its write atomically,
// so {_id, version} filters are a compare-and-set there. The embedded store
// (FerretDB v1) does not: it queries with the filter, then writes by _id, so
// two concurrent conditional writes can both match and both apply. The
// embedded store's data directory is locked to one process, so serializing
// those writes per document here restores compare-and-set on it; on
// MongoDB the lock is redundant and cheap. Every conditional write in this
// adapter (organization replace and delete, claim release) goes through it.
type keyLocks struct {
	seed    maphash.Seed
	stripes [64]sync.Mutex
}

func newKeyLocks() *keyLocks { return &keyLocks{seed: maphash.MakeSeed()} }

// lock locks key's stripe and returns its unlock.
func (l *keyLocks) lock(key string) func() {
	m := &l.stripes[maphash.String(l.seed, key)%uint64(len(l.stripes))]
	m.Lock()
	return m.Unlock
}

package usecase

import (
	"sync"

	"orgd/core/domain"
)

// nameCacheSize bounds the names remembered: about 100 bytes each, so
// 13 MiB at most.
const nameCacheSize = 1 << 17

// nameCache remembers which organization a name key was last found
// to name, so that GetOrg reads one document (the organization, by its
// id) where the name's claim would be read first. It is only a hint: the
// organization read says itself whether it still carries the name, and a
// miss or a hint gone stale (a rename, a delete, a name taken by another
// since) falls back to the claim. No write trusts it.
type nameCache struct {
	mu  sync.RWMutex
	ids map[string]domain.ID
}

func newNameCache() *nameCache { return &nameCache{ids: make(map[string]domain.ID)} }

func (c *nameCache) get(key string) (domain.ID, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	id, ok := c.ids[key]
	return id, ok
}

// put remembers key as id's, forgetting an arbitrary other name when
// full (map iteration order is random).
func (c *nameCache) put(key string, id domain.ID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.ids[key]; !ok && len(c.ids) >= nameCacheSize {
		for k := range c.ids {
			delete(c.ids, k)
			break
		}
	}
	c.ids[key] = id
}

func (c *nameCache) drop(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.ids, key)
}

package cluster

import (
	"context"
	"encoding/base64"
	"errors"
	"time"
)

// Errors a Store returns, matched with errors.Is. Any other error of a
// Store means that it could not be reached or did not answer in time.
var (
	// ErrNotFound is returned by Store.Get for a key that has no value: it
	// was never written, was deleted, or outlived its Space's TTL.
	ErrNotFound = errors.New("cluster: key not found")
	// ErrConflict is returned by Store.Update when the key's latest
	// revision is not the one given (or, for revision 0, when the key
	// exists).
	ErrConflict = errors.New("cluster: revision conflict")
)

// Space is one keyspace of a cluster in a Store, with its own retention.
// A Store creates it on first use with these settings; a Space that exists
// already keeps the settings it was created with.
type Space struct {
	// Name identifies the space in the store: letters, digits, '-' and '_'
	// only ("antifragile-members").
	Name string
	// TTL is how long a value is kept after it was last written; 0 keeps
	// values until they are deleted. A value that outlives it disappears
	// without a notification to watchers: readers that must not act on a
	// value past its age compare Entry.Created with the clock.
	TTL time.Duration
	// History is how many revisions of each key the store keeps (at least
	// 1).
	History int
}

// Entry is one value of a key, as a Store returns it.
type Entry struct {
	// Key is the entry's key within its Space.
	Key string
	// Value is the stored bytes; nil for a deletion.
	Value []byte
	// Revision grows with every write to the Space; Update compares it.
	Revision uint64
	// Created is when the store wrote this revision, by the store's clock.
	Created time.Time
	// Deleted marks a deletion seen by a watch.
	Deleted bool
}

// Store is the engine the cluster stands on: keyspaces of small values
// with a TTL, compare-and-set, prefix listing and watches. Package
// clusternats implements it on NATS JetStream key-value buckets; another
// engine (Redis) can implement the same six methods. The interface is
// larger than the toolkit's usual one to three methods because a cluster
// needs each of these operations and no fewer.
//
// Keys are tokens of letters, digits, '-', '_' and '=' joined by '.'; a
// match is a whole key, a prefix ending in '.' (every key below it), or ""
// (every key of the space). Every method may block on the network and must
// return once ctx ends; all must be safe for concurrent use.
type Store interface {
	// Put writes value under key and returns the new revision.
	Put(ctx context.Context, sp Space, key string, value []byte) (uint64, error)
	// Update writes value under key only if the key's latest revision is
	// rev, or, when rev is 0, only if the key has no value; otherwise it
	// returns an error matching ErrConflict.
	Update(ctx context.Context, sp Space, key string, value []byte, rev uint64) (uint64, error)
	// Get returns the latest value of key, or an error matching
	// ErrNotFound.
	Get(ctx context.Context, sp Space, key string) (Entry, error)
	// Delete removes key's value; deleting a key without one is not an
	// error.
	Delete(ctx context.Context, sp Space, key string) error
	// List returns the latest value of every key that match selects (see
	// Store), in no particular order, leaving deleted keys out.
	List(ctx context.Context, sp Space, match string) ([]Entry, error)
	// Watch calls fn with the latest value of every key that match
	// selects, then with every later write and deletion, one call at a
	// time on the goroutine that called Watch. It blocks until ctx ends and
	// then returns nil. While the store cannot be reached it keeps trying;
	// once it can again it delivers the latest values anew, so fn must be
	// idempotent. It returns an error only for a match or a Space it can
	// never serve.
	Watch(ctx context.Context, sp Space, match string, fn func(Entry)) error
}

// token encodes a name (an instance, a breaker, a scenario) as one key
// token: unpadded base64url, so that any printable name fits the key
// alphabet and no name can reach into another's keys.
func token(name string) string { return base64.RawURLEncoding.EncodeToString([]byte(name)) }

// untoken decodes a token made by token.
func untoken(t string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(t)
	return string(b), err
}

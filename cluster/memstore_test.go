package cluster_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/antifragile-go/antifragile/cluster"
)

// errUnreachable is what a cut-off memClient returns.
var errUnreachable = errors.New("memstore: unreachable")

// memBackend is an in-memory implementation of the store's data: spaces
// of keys with revisions, TTLs measured on the clock (as JetStream's
// MaxAge: an expired value vanishes without a notification) and
// notifications of writes. Each instance reaches it through its own
// memClient, which can be cut off as a network partition would.
type memBackend struct {
	mu     sync.Mutex
	spaces map[string]*memSpace // guarded by mu
	change chan struct{}        // guarded by mu: closed and replaced on every write
	ops    atomic.Int64
}

type memSpace struct {
	sp   cluster.Space
	rev  uint64
	keys map[string]cluster.Entry
}

func newBackend() *memBackend {
	return &memBackend{spaces: map[string]*memSpace{}, change: make(chan struct{})}
}

// client returns a new connection to the backend.
func (b *memBackend) client() *memClient {
	return &memClient{b: b, flip: make(chan struct{})}
}

func (b *memBackend) spaceLocked(sp cluster.Space) *memSpace {
	s := b.spaces[sp.Name]
	if s == nil {
		s = &memSpace{sp: sp, keys: map[string]cluster.Entry{}}
		b.spaces[sp.Name] = s
	}
	return s
}

// liveLocked returns the latest value of key unless it is deleted or
// expired.
func (s *memSpace) liveLocked(key string, now time.Time) (cluster.Entry, bool) {
	e, ok := s.keys[key]
	if !ok || e.Deleted || (s.sp.TTL > 0 && now.Sub(e.Created) > s.sp.TTL) {
		return cluster.Entry{}, false
	}
	return e, true
}

func (b *memBackend) writeLocked(sp cluster.Space, key string, value []byte, deleted bool) uint64 {
	s := b.spaceLocked(sp)
	s.rev++
	s.keys[key] = cluster.Entry{Key: key, Value: slices.Clone(value), Revision: s.rev, Created: time.Now(), Deleted: deleted}
	close(b.change)
	b.change = make(chan struct{})
	return s.rev
}

func matches(key, match string) bool {
	if match == "" {
		return true
	}
	if strings.HasSuffix(match, ".") {
		return strings.HasPrefix(key, match)
	}
	return key == match
}

// memClient is one instance's connection to a memBackend: a real
// cluster.Store whose link can be cut (SetDown) and restored, after which
// its watches deliver the latest values anew, as a reconnecting client's.
type memClient struct {
	b    *memBackend
	down atomic.Bool
	mu   sync.Mutex
	flip chan struct{} // guarded by mu: closed and replaced when down changes
}

var _ cluster.Store = (*memClient)(nil)

// SetDown cuts the client off the backend (true) or restores it.
func (c *memClient) SetDown(down bool) {
	c.down.Store(down)
	c.mu.Lock()
	close(c.flip)
	c.flip = make(chan struct{})
	c.mu.Unlock()
}

func (c *memClient) check(ctx context.Context) error {
	c.b.ops.Add(1)
	if err := ctx.Err(); err != nil {
		return err
	}
	if c.down.Load() {
		return errUnreachable
	}
	return nil
}

func (c *memClient) Put(ctx context.Context, sp cluster.Space, key string, value []byte) (uint64, error) {
	if err := c.check(ctx); err != nil {
		return 0, err
	}
	c.b.mu.Lock()
	defer c.b.mu.Unlock()
	return c.b.writeLocked(sp, key, value, false), nil
}

func (c *memClient) Update(ctx context.Context, sp cluster.Space, key string, value []byte, rev uint64) (uint64, error) {
	if err := c.check(ctx); err != nil {
		return 0, err
	}
	c.b.mu.Lock()
	defer c.b.mu.Unlock()
	cur, ok := c.b.spaceLocked(sp).liveLocked(key, time.Now())
	if (rev == 0 && ok) || (rev != 0 && (!ok || cur.Revision != rev)) {
		return 0, cluster.ErrConflict
	}
	return c.b.writeLocked(sp, key, value, false), nil
}

func (c *memClient) Get(ctx context.Context, sp cluster.Space, key string) (cluster.Entry, error) {
	if err := c.check(ctx); err != nil {
		return cluster.Entry{}, err
	}
	c.b.mu.Lock()
	defer c.b.mu.Unlock()
	e, ok := c.b.spaceLocked(sp).liveLocked(key, time.Now())
	if !ok {
		return cluster.Entry{}, cluster.ErrNotFound
	}
	return e, nil
}

func (c *memClient) Delete(ctx context.Context, sp cluster.Space, key string) error {
	if err := c.check(ctx); err != nil {
		return err
	}
	c.b.mu.Lock()
	defer c.b.mu.Unlock()
	c.b.writeLocked(sp, key, nil, true)
	return nil
}

func (c *memClient) List(ctx context.Context, sp cluster.Space, match string) ([]cluster.Entry, error) {
	if err := c.check(ctx); err != nil {
		return nil, err
	}
	c.b.mu.Lock()
	defer c.b.mu.Unlock()
	s := c.b.spaceLocked(sp)
	now := time.Now()
	var out []cluster.Entry
	for k := range s.keys {
		if e, ok := s.liveLocked(k, now); ok && matches(k, match) {
			out = append(out, e)
		}
	}
	return out, nil
}

// Watch delivers the latest live values, then every write after them;
// while the client is down it delivers nothing, and once it is up again it
// delivers the latest values anew.
func (c *memClient) Watch(ctx context.Context, sp cluster.Space, match string, fn func(cluster.Entry)) error {
	var seen uint64
	fresh := true
	for {
		c.mu.Lock()
		flip := c.flip
		c.mu.Unlock()
		c.b.mu.Lock()
		change := c.b.change
		var batch []cluster.Entry
		if c.down.Load() {
			fresh = true
		} else {
			s := c.b.spaceLocked(sp)
			now := time.Now()
			for k, e := range s.keys {
				if !matches(k, match) {
					continue
				}
				if fresh {
					if live, ok := s.liveLocked(k, now); ok {
						batch = append(batch, live)
					}
				} else if e.Revision > seen {
					batch = append(batch, e)
				}
			}
			fresh, seen = false, s.rev
		}
		c.b.mu.Unlock()
		slices.SortFunc(batch, func(a, b cluster.Entry) int { return int(a.Revision) - int(b.Revision) })
		for _, e := range batch {
			if ctx.Err() != nil {
				return nil
			}
			fn(e)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-change:
		case <-flip:
		}
	}
}

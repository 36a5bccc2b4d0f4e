package breaker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"sync"
	"time"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/internal/fanout"
)

// ErrDuplicate is matched by the error Register returns for a name that is
// already registered.
var ErrDuplicate = errors.New("breaker: name already registered")

// ErrNotFound is matched by errors about a name that is not registered.
var ErrNotFound = errors.New("breaker: not found")

// DuplicateError reports a Register call for a taken name.
type DuplicateError struct{ Name string }

func (e *DuplicateError) Error() string {
	return fmt.Sprintf("breaker: %q already registered", e.Name)
}

// Is reports whether target is ErrDuplicate.
func (e *DuplicateError) Is(target error) bool { return target == ErrDuplicate }

// RegistryConfig configures a Registry. The zero value is usable.
type RegistryConfig struct {
	// Default is the configuration GetOrCreate uses when it is given the
	// zero Config. Its zero value is the breaker defaults.
	Default Config
	// ConstitutionalHash must equal antifragile.ConstitutionalHash; empty
	// means that hash.
	ConstitutionalHash string
	// Logger receives a line per state change of every breaker the
	// registry holds (keys breaker, from, to, reason; Warn when a breaker
	// opens or is forced open, Info otherwise), logged after the breaker's
	// lock is released, and a Debug line when a breaker is added or
	// removed. Calls through a breaker (Allow, Done) never log. nil means
	// no logging.
	Logger *slog.Logger `json:"-"`
}

// Registry holds named breakers and fans out the events of all of them.
// It is safe for concurrent use. Reading a Snapshot copies the list of
// breakers under a read lock and then reads each breaker without a lock, so
// it never stops calls through the breakers.
type Registry struct {
	hash string
	hub  fanout.Hub[Event]
	log  *slog.Logger // nil: none

	reconf sync.Mutex // serializes SetDefault and Reconfigure

	mu       sync.RWMutex
	dflt     Config              // guarded by mu
	version  uint64              // guarded by mu: grows on every SetDefault
	breakers map[string]*Breaker // guarded by mu
	// followers are the breakers whose Config is the default: created by
	// GetOrCreate, or reconfigured by Reconfigure, with the zero Config.
	followers map[string]bool // guarded by mu
}

// NewRegistry returns an empty registry, or an error if the configured hash
// or the default breaker Config is invalid.
func NewRegistry(cfg RegistryConfig) (*Registry, error) {
	hash := antifragile.HashOrDefault(cfg.ConstitutionalHash)
	if err := antifragile.ValidateHashFor(hash, "breaker registry"); err != nil {
		return nil, err
	}
	if err := cfg.Default.Validate(); err != nil {
		return nil, fmt.Errorf("breaker: default config: %w", err)
	}
	return &Registry{dflt: cfg.Default, hash: hash, log: cfg.Logger,
		breakers: make(map[string]*Breaker), followers: make(map[string]bool)}, nil
}

// ConstitutionalHash returns the registry's validated hash.
func (r *Registry) ConstitutionalHash() string { return r.hash }

// GetOrCreate returns the breaker named name, creating it with cfg if it
// does not exist; the zero Config stands for the registry's default Config.
// The breaker's name is set to name. An existing breaker keeps its own
// configuration. An invalid name (see antifragile.CheckName) or cfg returns
// its validation errors. A breaker created from the default follows it:
// SetDefault reconfigures it.
func (r *Registry) GetOrCreate(name string, cfg Config) (*Breaker, error) {
	r.mu.RLock()
	b, ok := r.breakers[name]
	dflt, version := r.dflt, r.version
	r.mu.RUnlock()
	if ok {
		return b, nil
	}
	if err := antifragile.CheckName("breaker", name); err != nil {
		return nil, err
	}
	follow := isZeroConfig(cfg)
	if follow {
		cfg = dflt
	}
	cfg.Name = name
	nb, err := New(cfg)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	if b, ok := r.breakers[name]; ok {
		r.mu.Unlock()
		return b, nil
	}
	if follow && r.version != version {
		_ = nb.Reconfigure(r.dflt) // SetDefault ran meanwhile; it validated r.dflt
	}
	nb.registry = &r.hub
	nb.log.Store(r.log)
	r.breakers[name] = nb
	r.followers[name] = follow
	r.mu.Unlock()
	r.hub.Publish(Event{Breaker: name, From: Closed, To: Closed, At: time.Now().UTC(), Reason: ReasonAdded})
	r.logMembership(name, ReasonAdded)
	return nb, nil
}

func isZeroConfig(c Config) bool { return reflect.ValueOf(c).IsZero() }

// Register adds b under name. A taken name is a *DuplicateError and a nil b
// a *ValidationError. The breaker's events are published to the registry's
// subscribers from then on; b must not be registered in another registry.
func (r *Registry) Register(name string, b *Breaker) error {
	if b == nil {
		return antifragile.Invalid("breaker", nil, "must not be nil (breaker %q)", name)
	}
	if err := antifragile.CheckName("breaker", name); err != nil {
		return err
	}
	r.mu.Lock()
	if _, ok := r.breakers[name]; ok {
		r.mu.Unlock()
		return &DuplicateError{Name: name}
	}
	b.mu.Lock()
	b.registry = &r.hub
	b.log.Store(r.log)
	b.name = name
	b.mu.Unlock()
	r.breakers[name] = b
	st := b.State()
	r.mu.Unlock()
	r.hub.Publish(Event{Breaker: name, From: st, To: st, At: time.Now().UTC(), Reason: ReasonAdded})
	r.logMembership(name, ReasonAdded)
	return nil
}

// logMembership logs, at Debug, that the breaker name was added or removed.
func (r *Registry) logMembership(name string, reason Reason) {
	if r.log != nil {
		r.log.LogAttrs(context.Background(), slog.LevelDebug, "breaker: registry changed",
			slog.String("breaker", name), slog.String("reason", string(reason)))
	}
}

// Get returns the breaker named name.
func (r *Registry) Get(name string) (*Breaker, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	b, ok := r.breakers[name]
	return b, ok
}

// Remove drops the breaker named name and cancels its pending timeout,
// reporting whether it was there.
func (r *Registry) Remove(name string) bool {
	r.mu.Lock()
	b, ok := r.breakers[name]
	delete(r.breakers, name)
	delete(r.followers, name)
	r.mu.Unlock()
	if !ok {
		return false
	}
	b.stop()
	st := b.State()
	r.hub.Publish(Event{Breaker: name, From: st, To: st, At: time.Now().UTC(), Reason: ReasonRemoved})
	r.logMembership(name, ReasonRemoved)
	return true
}

// Names returns the registered names, sorted.
func (r *Registry) Names() []string {
	r.mu.RLock()
	names := make([]string, 0, len(r.breakers))
	for n := range r.breakers {
		names = append(names, n)
	}
	r.mu.RUnlock()
	slices.Sort(names)
	return names
}

// Len returns the number of registered breakers.
func (r *Registry) Len() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return len(r.breakers)
}

// Snapshot is one breaker's name with a copy of its metrics and the trip
// rules in force (Config.Rules; shared, do not modify).
type Snapshot struct {
	Name string `json:"name"`
	Metrics
	Rules []string `json:"rules"`
}

// Snapshot returns the state and counters of every breaker, sorted by name.
func (r *Registry) Snapshot() []Snapshot {
	r.mu.RLock()
	out := make([]Snapshot, 0, len(r.breakers))
	bs := make([]*Breaker, 0, len(r.breakers))
	for n, b := range r.breakers {
		out = append(out, Snapshot{Name: n})
		bs = append(bs, b)
	}
	r.mu.RUnlock()
	for i, b := range bs {
		out[i].Metrics = b.Metrics()
		out[i].Rules = b.Rules()
	}
	slices.SortFunc(out, func(a, b Snapshot) int {
		switch {
		case a.Name < b.Name:
			return -1
		case a.Name > b.Name:
			return 1
		}
		return 0
	})
	return out
}

// Each calls fn for every breaker, in no particular order, without holding
// the registry's lock while fn runs.
func (r *Registry) Each(fn func(name string, b *Breaker)) {
	r.mu.RLock()
	names := make([]string, 0, len(r.breakers))
	bs := make([]*Breaker, 0, len(r.breakers))
	for n, b := range r.breakers {
		names = append(names, n)
		bs = append(bs, b)
	}
	r.mu.RUnlock()
	for i, b := range bs {
		fn(names[i], b)
	}
}

// Reset resets the breaker named name and reports whether it exists; an
// unknown name is not an error.
func (r *Registry) Reset(name string) bool {
	b, ok := r.Get(name)
	if ok {
		b.Reset()
	}
	return ok
}

// ResetAll resets every breaker.
func (r *Registry) ResetAll() {
	r.Each(func(_ string, b *Breaker) { b.Reset() })
}

// Subscribe returns one subscription to the events of every breaker in the
// registry, present and future, including added and removed events. A full
// buffer (≤ 0 means DefaultSubscriptionBuffer) drops events and counts them.
func (r *Registry) Subscribe(buffer int) *Subscription { return r.hub.Subscribe(buffer) }

// Default returns the Config that GetOrCreate uses for the zero Config (the
// RegistryConfig's Default, or the last SetDefault's), as it was given:
// defaults not applied.
func (r *Registry) Default() Config {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.dflt
}

// SetDefault replaces the default Config, or returns the *ValidationError of
// every invalid field and changes nothing. Breakers created later from the
// zero Config use it, and every breaker that follows the default (created by
// GetOrCreate, or reconfigured by Reconfigure, with the zero Config) is
// reconfigured to it as Breaker.Reconfigure says; breakers given a Config
// of their own keep it. It blocks while another SetDefault or Reconfigure
// runs and is safe for concurrent use.
func (r *Registry) SetDefault(cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("breaker: default config: %w", err)
	}
	r.reconf.Lock()
	defer r.reconf.Unlock()
	r.mu.Lock()
	r.dflt = cfg
	r.version++
	var bs []*Breaker
	for name, follow := range r.followers {
		if follow {
			bs = append(bs, r.breakers[name])
		}
	}
	r.mu.Unlock()
	for _, b := range bs {
		_ = b.Reconfigure(cfg) // validated above; the name does not matter to it
	}
	return nil
}

// Reconfigure puts cfg in force for the breaker named name, as
// Breaker.Reconfigure says, or returns the *ValidationError of every
// invalid field (changing nothing) or an error matching ErrNotFound. The
// zero Config stands for the registry's default: the breaker follows it
// from then on (SetDefault reconfigures it); any other cfg is the breaker's
// own until the next Reconfigure. It blocks while another SetDefault or
// Reconfigure runs and is safe for concurrent use.
func (r *Registry) Reconfigure(name string, cfg Config) error {
	r.reconf.Lock()
	defer r.reconf.Unlock()
	r.mu.RLock()
	b, ok := r.breakers[name]
	dflt := r.dflt
	r.mu.RUnlock()
	if !ok {
		return fmt.Errorf("%w: %q", ErrNotFound, name)
	}
	follow := isZeroConfig(cfg)
	if follow {
		cfg = dflt
	}
	if err := b.Reconfigure(cfg); err != nil {
		return fmt.Errorf("breaker %q: %w", name, err)
	}
	r.mu.Lock()
	if r.breakers[name] == b {
		r.followers[name] = follow
	}
	r.mu.Unlock()
	return nil
}

// Follows reports whether the breaker named name follows the registry's
// default Config (see SetDefault); false when it is not registered.
func (r *Registry) Follows(name string) bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.followers[name]
}

package recovery

import (
	"fmt"
	"slices"
	"time"

	"github.com/antifragile-go/antifragile"
)

// Outcome says how an outage ended. Its text form (JSON included) is one of
// the strings listed with the constants.
type Outcome uint8

const (
	// Recovered: an attempt succeeded ("recovered").
	Recovered Outcome = iota
	// ClosedByItself: the service's breaker closed by itself (a successful
	// probe) before an attempt was needed ("closed_by_itself").
	ClosedByItself
	// GaveUp: every attempt failed ("gave_up").
	GaveUp
	// Abandoned: the task was cancelled, or an operator resolved it
	// ("abandoned").
	Abandoned
)

var outcomeNames = [...]string{"recovered", "closed_by_itself", "gave_up", "abandoned"}

// String returns the outcome's text form, or "outcome(N)" for an unknown
// value.
func (c Outcome) String() string {
	if int(c) < len(outcomeNames) {
		return outcomeNames[c]
	}
	return fmt.Sprintf("outcome(%d)", uint8(c))
}

// Healed reports whether the service was healthy again at the end of the
// outage: Recovered or ClosedByItself.
func (c Outcome) Healed() bool { return c == Recovered || c == ClosedByItself }

// MarshalText encodes the outcome as its text form; an unknown value is an
// error.
func (c Outcome) MarshalText() ([]byte, error) {
	if int(c) >= len(outcomeNames) {
		return nil, fmt.Errorf("recovery: unknown outcome %d", uint8(c))
	}
	return []byte(outcomeNames[c]), nil
}

// UnmarshalText decodes the text form of an outcome.
func (c *Outcome) UnmarshalText(b []byte) error {
	for i, n := range outcomeNames {
		if n == string(b) {
			*c = Outcome(i)
			return nil
		}
	}
	return fmt.Errorf("recovery: unknown outcome %q (want one of recovered, closed_by_itself, gave_up, abandoned)", b)
}

// MaxOutageDelays is how many waits an Outage keeps (the first ones): an
// outage of more attempts keeps its attempt count but only these delays.
const MaxOutageDelays = 16

// Outage is one service's outage as the orchestrator saw it: from the
// creation of its recovery task (a breaker that opened by itself, or
// Schedule) to the task's end. In JSON its fields are snake_case, times
// RFC 3339 and delays strings such as "1.5s".
type Outage struct {
	// Service is the service's name.
	Service string `json:"service"`
	// OpenedAt is when the recovery task was created.
	OpenedAt time.Time `json:"opened_at"`
	// EndedAt is when the task ended.
	EndedAt time.Time `json:"ended_at"`
	// HealedAt is when the service was seen healthy again (the successful
	// attempt's end, or the breaker closing); zero unless Outcome.Healed.
	HealedAt time.Time `json:"healed_at,omitzero"`
	// LastFailureAt is when the last failed attempt ended: the service was
	// still down then. Zero if no attempt failed.
	LastFailureAt time.Time `json:"last_failure_at,omitzero"`
	// Attempts is the number of attempts made.
	Attempts int `json:"attempts"`
	// Strategy is the task's strategy (learned when it learned).
	Strategy Strategy `json:"strategy"`
	// Learned reports whether the delays were learned from history (false
	// for a learned task that fell back for want of history).
	Learned bool `json:"learned"`
	// Delays are the waits before the attempts, the first MaxOutageDelays.
	Delays []antifragile.Duration `json:"delays"`
	// Outcome is how the outage ended.
	Outcome Outcome `json:"outcome"`
}

// HealTime returns how long the outage took to heal, and false unless the
// outcome is Healed. The orchestrator only knows that the service healed
// between the last failed attempt (or the opening) and HealedAt, so for
// Recovered it takes the midpoint of that interval — midpoint imputation,
// the usual simple estimate for interval-censored data: an upper bound
// alone would never let learning try earlier than it already does. A
// breaker that closed by itself (a probe) dates the heal itself: HealedAt.
func (u Outage) HealTime() (time.Duration, bool) {
	if !u.Outcome.Healed() || u.HealedAt.IsZero() || u.HealedAt.Before(u.OpenedAt) {
		return 0, false
	}
	up := u.HealedAt.Sub(u.OpenedAt)
	if u.Outcome == ClosedByItself {
		return up, true
	}
	var lo time.Duration
	if !u.LastFailureAt.IsZero() && !u.LastFailureAt.Before(u.OpenedAt) && !u.LastFailureAt.After(u.HealedAt) {
		lo = u.LastFailureAt.Sub(u.OpenedAt)
	}
	return lo + (up-lo)/2, true
}

// HistoryStore keeps the outage history across restarts. The orchestrator
// calls Load once, in New, and Append after each outage ends, outside its
// lock, from the goroutine that ended it (an attempt's, Run's, or the
// caller of Cancel or Resolve), never two calls at once. FileStore is the
// implementation of Config.HistoryPath.
type HistoryStore interface {
	// Load returns the stored outages, oldest first, and how many stored
	// records it skipped because they could not be read. An error means
	// the history could not be read at all; New then fails with it.
	Load() (outages []Outage, skipped int, err error)
	// Append stores one ended outage.
	Append(o Outage) error
}

// serviceHistory is one service's kept outages and what learning makes of
// them.
type serviceHistory struct {
	outages []Outage // oldest first, at most Config.MaxOutagesPerService
	plan    plan     // recomputed on every change
}

// book is the bounded outage history of every service; guarded by
// Orchestrator.mu.
type book struct {
	perService, total, minLearn int
	services                    map[string]*serviceHistory
	count                       int    // outages kept
	evicted                     uint64 // outages dropped by a cap
}

func newBook(cfg Config) book {
	return book{perService: cfg.MaxOutagesPerService, total: cfg.MaxOutages, minLearn: cfg.LearnMinOutages,
		services: make(map[string]*serviceHistory)}
}

// add keeps u, dropping the service's oldest outage beyond the per-service
// cap and the oldest outage of all beyond the total cap.
func (b *book) add(u Outage) {
	h := b.services[u.Service]
	if h == nil {
		h = &serviceHistory{}
		b.services[u.Service] = h
	}
	h.outages = append(h.outages, u)
	b.count++
	if len(h.outages) > b.perService {
		h.outages = slices.Delete(h.outages, 0, 1)
		b.count--
		b.evicted++
	}
	if b.count > b.total {
		b.dropOldest()
	}
	h.plan = learn(h.outages, b.minLearn)
}

// dropOldest drops the outage that ended first of all services. It scans
// the services, once per outage beyond the total cap: outages are rare.
func (b *book) dropOldest() {
	var oldest *serviceHistory
	var name string
	for n, h := range b.services {
		if len(h.outages) > 0 && (oldest == nil || h.outages[0].EndedAt.Before(oldest.outages[0].EndedAt)) {
			oldest, name = h, n
		}
	}
	if oldest == nil {
		return
	}
	oldest.outages = slices.Delete(oldest.outages, 0, 1)
	b.count--
	b.evicted++
	if len(oldest.outages) == 0 {
		delete(b.services, name)
		return
	}
	oldest.plan = learn(oldest.outages, b.minLearn)
}

// HistoryStatus counts the outage history in Status.
type HistoryStatus struct {
	// Services is the number of services with kept outages.
	Services int `json:"services"`
	// Outages is the number of kept outages.
	Outages int `json:"outages"`
	// Evicted counts outages dropped by Config.MaxOutagesPerService or
	// Config.MaxOutages since New (loading included).
	Evicted uint64 `json:"evicted"`
	// Skipped counts stored records the store could not read at New.
	Skipped int `json:"skipped"`
	// StoreErrors counts failed appends to the store; LastStoreError is
	// the last one's message.
	StoreErrors    uint64 `json:"store_errors"`
	LastStoreError string `json:"last_store_error,omitempty"`
	// Persistent reports whether a HistoryStore keeps the history across
	// restarts.
	Persistent bool `json:"persistent"`
}

package recovery

import (
	"slices"
	"strings"
	"time"

	"github.com/antifragile-go/antifragile"
)

// Prediction defaults and bounds.
const (
	// DefaultPredictionHorizon is Config.PredictionHorizon when 0.
	DefaultPredictionHorizon = 5 * time.Minute
	// MaxPredictedServices bounds the services whose predictions are
	// counted one by one (beyond it they count in the totals only), and
	// the predictions pending at once (beyond it AtRisk counts nothing).
	MaxPredictedServices = 10_000
)

// PredictionCounts are the outcomes of at-risk predictions (AtRisk) for one
// service, or all of them. Precision is TruePositives / (TruePositives +
// FalsePositives) and Recall TruePositives / (TruePositives + Misses);
// each is left out of JSON while its denominator is 0.
type PredictionCounts struct {
	// Service is the service's name; empty in the totals.
	Service string `json:"service,omitempty"`
	// TruePositives counts predictions followed by an outage within the
	// horizon.
	TruePositives uint64 `json:"true_positives"`
	// FalsePositives counts predictions whose horizon passed without one.
	FalsePositives uint64 `json:"false_positives"`
	// Misses counts outages that no prediction announced.
	Misses uint64 `json:"misses"`
	// Pending counts predictions whose horizon has not passed yet.
	Pending int `json:"pending"`
	// Precision and Recall, when defined (see the type).
	Precision *float64 `json:"precision,omitempty"`
	Recall    *float64 `json:"recall,omitempty"`
}

// PredictionStatus is the prediction part of Status.
type PredictionStatus struct {
	// Horizon is Config.PredictionHorizon.
	Horizon antifragile.Duration `json:"horizon"`
	// Total counts every service; its Misses count every outage that no
	// prediction announced, including services never predicted.
	Total PredictionCounts `json:"total"`
	// Services holds the services that were ever predicted at risk, by
	// name (at most MaxPredictedServices).
	Services []PredictionCounts `json:"services"`
}

// predictions is the prediction bookkeeping; guarded by Orchestrator.mu.
type predictions struct {
	pending map[string]time.Time         // service → since, of the prediction in its horizon
	per     map[string]*PredictionCounts // predicted services
	total   PredictionCounts
}

// AtRisk records the prediction that service name is at risk of an outage,
// seen since since (zero means now): an outage of that service opening
// within Config.PredictionHorizon after since counts as a true positive,
// none by then as a false positive. A prediction made while one is pending
// for the service, or while the service already has a recovery task (its
// outage is open), or while MaxPredictedServices predictions are pending,
// is not counted; AtRisk reports whether it counted this one. It then calls Config.OnPrediction, if set, in the caller's
// goroutine, without the orchestrator's lock. It never blocks otherwise
// and is safe for concurrent use; an empty name is ignored.
func (o *Orchestrator) AtRisk(name string, since time.Time) bool {
	if name == "" {
		return false
	}
	o.mu.Lock()
	now := o.wall(o.now())
	if since.IsZero() || since.After(now) {
		since = now
	}
	o.expireLocked(now)
	_, open := o.tasks[name]
	_, pending := o.pred.pending[name]
	counted := !open && !pending && len(o.pred.pending) < MaxPredictedServices
	if counted {
		if o.pred.pending == nil {
			o.pred.pending, o.pred.per = make(map[string]time.Time), make(map[string]*PredictionCounts)
		}
		o.pred.pending[name] = since
		o.pred.total.Pending++
		if c := o.predictedLocked(name); c != nil {
			c.Pending++
		}
	}
	o.mu.Unlock()
	if counted {
		o.maybeCaution(name)
		if o.cfg.OnPrediction != nil {
			o.cfg.OnPrediction(name)
		}
	}
	return counted
}

// predictedLocked returns the counts of name, creating them while there is
// room; nil when there is none.
func (o *Orchestrator) predictedLocked(name string) *PredictionCounts {
	c := o.pred.per[name]
	if c == nil && len(o.pred.per) < MaxPredictedServices {
		c = &PredictionCounts{Service: name}
		o.pred.per[name] = c
	}
	return c
}

// expireLocked counts the pending predictions whose horizon ended by now
// as false positives.
func (o *Orchestrator) expireLocked(now time.Time) {
	for name, since := range o.pred.pending {
		if now.Sub(since) > o.cfg.PredictionHorizon {
			o.settlePredictionLocked(name, false)
		}
	}
}

// settlePredictionLocked ends the pending prediction of name, as a true
// positive (hit) or a false positive.
func (o *Orchestrator) settlePredictionLocked(name string, hit bool) {
	delete(o.pred.pending, name)
	o.pred.total.Pending--
	c := o.pred.per[name]
	if c == nil {
		c = &PredictionCounts{} // not counted one by one
	}
	c.Pending--
	if hit {
		o.pred.total.TruePositives++
		c.TruePositives++
	} else {
		o.pred.total.FalsePositives++
		c.FalsePositives++
	}
}

// outageOpenedLocked scores the predictions when an outage of name opens
// at at. It reads no clock while nothing is pending.
func (o *Orchestrator) outageOpenedLocked(name string, at mono) {
	if len(o.pred.pending) > 0 {
		o.expireLocked(o.wall(at))
	}
	if _, ok := o.pred.pending[name]; ok {
		o.settlePredictionLocked(name, true)
		return
	}
	o.pred.total.Misses++
	if c := o.pred.per[name]; c != nil {
		c.Misses++
	}
}

// predictionStatusLocked returns the counts as of now.
func (o *Orchestrator) predictionStatusLocked(now time.Time) PredictionStatus {
	o.expireLocked(now)
	st := PredictionStatus{Horizon: antifragile.Duration(o.cfg.PredictionHorizon), Total: rates(o.pred.total),
		Services: make([]PredictionCounts, 0, len(o.pred.per))}
	for _, c := range o.pred.per {
		st.Services = append(st.Services, rates(*c))
	}
	slices.SortFunc(st.Services, func(a, b PredictionCounts) int { return strings.Compare(a.Service, b.Service) })
	return st
}

// rates returns c with its precision and recall set where defined.
func rates(c PredictionCounts) PredictionCounts {
	if d := c.TruePositives + c.FalsePositives; d > 0 {
		p := float64(c.TruePositives) / float64(d)
		c.Precision = &p
	}
	if d := c.TruePositives + c.Misses; d > 0 {
		r := float64(c.TruePositives) / float64(d)
		c.Recall = &r
	}
	return c
}

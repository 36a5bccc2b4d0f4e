package tune

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/api"
	"github.com/antifragile-go/antifragile/client"
	"github.com/antifragile-go/antifragile/health"
	"github.com/antifragile-go/antifragile/internal/gameday"
	"github.com/antifragile-go/antifragile/internal/gameday/scenario"
)

// DefaultSettle is how long Remote waits by default for the service to be
// back at steady state before a run.
const DefaultSettle = 2 * time.Minute

// RemoteConfig configures NewRemote.
type RemoteConfig struct {
	// Client talks to the server's ops API, with a token. Required.
	Client *client.Client
	// Scenario is the game day of every run. Required.
	Scenario *scenario.Scenario
	// Services are the services whose breakers and recovery policies the
	// runs change. Required.
	Services []string
	// Knobs are the settings a candidate may change. nil means
	// DefaultKnobs().
	Knobs []Knob
	// Settle bounds the wait before each run for the service to be back
	// at the scenario's steady state (its status at MinStatus or better,
	// no breaker open). 0 means DefaultSettle.
	Settle time.Duration
	// Seed is handed to every run (the server's chaos engine draws from
	// its own seed).
	Seed uint64
	// By names the tuner in the server's log and audit lines.
	By string
	// Progress, if set, receives a line when a run waits to settle.
	Progress io.Writer
}

// Remote runs game days against a running server: each run puts its
// candidate in force as a tuning trial (POST /tune/trial: the candidate's
// differences from Current, set on top of each service's own settings),
// waits for the service to be back at steady state, and runs the scenario
// against it with a gameday.RemoteTarget. Nothing is compressed: a run
// lasts as long as its scenario. Close ends the trial, and the server puts
// every service's settings back; a tuner that dies leaves the trial to
// expire on the server after its TTL.
type Remote struct {
	cfg     RemoteConfig
	current Settings
	differ  []string
	ttl     time.Duration
}

// NewRemote checks cfg and starts the trial with no change (which saves
// the services' settings on the server and returns them): Current is the
// first service's, Differ names the knobs on which the others differ.
func NewRemote(ctx context.Context, cfg RemoteConfig) (*Remote, error) {
	var p antifragile.Problems
	if cfg.Client == nil {
		p.Invalid("client", nil, "is required")
	}
	if cfg.Scenario == nil {
		p.Invalid("scenario", nil, "is required")
	}
	if len(cfg.Services) == 0 {
		p.Invalid("services", nil, "name at least one service")
	}
	if err := p.Err(); err != nil {
		return nil, err
	}
	if cfg.Knobs == nil {
		cfg.Knobs = DefaultKnobs()
	}
	cfg.Settle = cmp.Or(cfg.Settle, DefaultSettle)
	r := &Remote{cfg: cfg, ttl: min(cfg.Scenario.Total()+cfg.Settle+2*time.Minute, api.MaxTrialTTL)}
	tr, err := r.trial(ctx, nil)
	if err != nil {
		return nil, err
	}
	if len(tr.Original) != len(cfg.Services) {
		_ = r.Close(ctx)
		return nil, fmt.Errorf("tune: the server saved %d services' settings for a trial of %d", len(tr.Original), len(cfg.Services))
	}
	settings := make([]Settings, len(tr.Original))
	for i, o := range tr.Original {
		settings[i] = Settings{Breaker: o.Breaker, Recovery: o.Recovery}
	}
	r.current = settings[0]
	for _, k := range cfg.Knobs {
		for i, s := range settings[1:] {
			if k.Get(s) != k.Get(r.current) {
				r.differ = append(r.differ, fmt.Sprintf("%s (%s: %s, %s: %s)", k.Name, cfg.Services[0], k.Get(r.current), cfg.Services[i+1], k.Get(s)))
				break
			}
		}
	}
	return r, nil
}

// Current returns the first service's settings on the server before the
// trial: the starting point of the search.
func (r *Remote) Current() Settings { return r.current }

// Differ names the knobs on which the services' settings differ, with the
// first two values that do: a candidate sets a changed knob to one value on
// every service, and leaves each service its own value of the others.
func (r *Remote) Differ() []string { return slices.Clone(r.differ) }

// Run is a Runner: the candidate s in force on the server, the service
// settled, one game day against it.
func (r *Remote) Run(ctx context.Context, s Settings) (*gameday.Result, error) {
	if _, err := r.trial(ctx, diff(r.cfg.Knobs, r.current, s)); err != nil {
		return nil, err
	}
	if err := r.settle(ctx); err != nil {
		return nil, err
	}
	c := r.cfg.Client
	return gameday.Run(ctx, gameday.Config{
		Scenario: r.cfg.Scenario, Target: gameday.NewRemoteTarget(c), Seed: r.cfg.Seed,
		Description: "tuning run against " + c.BaseURL(),
		Traffic:     "the service's own (the scenario's traffic section is not used)",
	})
}

// trial puts the changes in force as the trial's candidate.
func (r *Remote) trial(ctx context.Context, changes []Change) (api.Trial, error) {
	b, rec := fieldsOf(changes)
	tr, err := r.cfg.Client.StartTrial(ctx, api.TrialRequest{Services: r.cfg.Services, Breaker: b, Recovery: rec,
		TTL: api.Duration(r.ttl), By: r.cfg.By})
	if err != nil {
		return tr, fmt.Errorf("tune: POST /tune/trial: %w", err)
	}
	return tr, nil
}

// settle waits until the service is at the scenario's steady state: its
// status at MinStatus or better and no breaker open or half-open, seen on
// two observations in a row (a breaker half-open between them would slip
// through one).
func (r *Remote) settle(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, r.cfg.Settle)
	defer cancel()
	minStatus := r.cfg.Scenario.SteadyState.MinStatus
	if minStatus == health.Unknown {
		minStatus = health.Healthy
	}
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	calm, waited := 0, false
	var last string
	for {
		rep, err := r.cfg.Client.Health(ctx)
		switch {
		case err == nil && rep.Status != health.Unknown && rep.Status <= minStatus && rep.Open == 0 && rep.HalfOpen == 0:
			if calm++; calm == 2 {
				return nil
			}
		case err == nil:
			calm, last = 0, fmt.Sprintf("%s, %d breakers open, %d half-open", rep.Status, rep.Open, rep.HalfOpen)
		case ctx.Err() == nil:
			return fmt.Errorf("tune: GET /health: %w", err)
		}
		if !waited && calm == 0 && r.cfg.Progress != nil {
			fmt.Fprintf(r.cfg.Progress, "waiting for %s to settle (%s)\n", r.cfg.Client.BaseURL(), last)
			waited = true
		}
		select {
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return fmt.Errorf("tune: the service did not return to steady state within %s (last seen: %s)", r.cfg.Settle, last)
			}
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// Close ends the trial (DELETE /tune/trial): the server puts back every
// service's settings from before it. A trial already ended (expired, or
// ended by a reload) is not an error.
func (r *Remote) Close(ctx context.Context) error {
	_, err := r.cfg.Client.EndTrial(ctx)
	if err != nil && !errors.Is(err, client.ErrNotFound) {
		return fmt.Errorf("tune: DELETE /tune/trial: %w (the server ends the trial itself after %s)", err, r.ttl)
	}
	return nil
}

// DifferText is Differ as one line for a warning, empty when the
// services agree.
func (r *Remote) DifferText() string {
	if len(r.differ) == 0 {
		return ""
	}
	return "the services' settings differ on " + strings.Join(r.differ, "; ") +
		": the table shows the first service's, and a candidate sets a changed knob on all of them"
}

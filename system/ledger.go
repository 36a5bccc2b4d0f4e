package system

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/api"
	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/recovery"
)

// Bounds of the tuning ledger.
const (
	// MaxLedgerEntries is how many entries the ledger keeps in memory (the
	// newest); its file keeps every one up to MaxLedgerFileBytes.
	MaxLedgerEntries = 1000
	// MaxLedgerFileBytes bounds the ledger file: past it, changes are
	// still applied but no longer appended (an error says so).
	MaxLedgerFileBytes = 16 << 20
	// MaxTuningServices bounds the services of one TuningChange.
	MaxTuningServices = 1024
)

// TuneConfig configures the tuning ledger: the record of every change
// `antifragile tune -apply` (POST /tune/apply) put in force.
type TuneConfig struct {
	// LedgerPath, if set, keeps the ledger in this file, one JSON line per
	// entry, so that it survives a restart. Empty keeps it in memory only.
	LedgerPath string `json:"ledger_path,omitempty"`
}

// ledger is the tuning ledger of a System.
type ledger struct {
	mu      sync.Mutex
	path    string
	entries []api.LedgerEntry // guarded by mu: the newest MaxLedgerEntries
	seq     int               // guarded by mu: the last entry's Seq
	size    int64             // guarded by mu: the file's size
}

// openLedger loads the ledger file at path (none yet is an empty ledger);
// lines that do not decode are skipped.
func openLedger(path string) (*ledger, error) {
	l := &ledger{path: path}
	if path == "" {
		return l, nil
	}
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return l, nil
	case err != nil:
		return nil, fmt.Errorf("system: tune.ledger_path: %w", err)
	case len(data) > MaxLedgerFileBytes:
		return nil, fmt.Errorf("system: tune.ledger_path %s: %w", path, antifragile.ErrTooLarge)
	}
	l.size = int64(len(data))
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, MaxLedgerFileBytes)
	for sc.Scan() {
		var e api.LedgerEntry
		if json.Unmarshal(sc.Bytes(), &e) == nil && e.Seq > 0 {
			l.add(e)
		}
	}
	return l, nil
}

func (l *ledger) add(e api.LedgerEntry) {
	l.entries = append(l.entries, e)
	if len(l.entries) > MaxLedgerEntries {
		l.entries = slices.Delete(l.entries, 0, len(l.entries)-MaxLedgerEntries)
	}
	l.seq = max(l.seq, e.Seq)
}

// record appends an entry for c, to be applied as applied, to the ledger's
// file and then to the ledger, and returns it: a change is recorded before
// it is applied, and not applied when it cannot be recorded.
func (l *ledger) record(c api.TuningChange, applied []string) (api.LedgerEntry, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e := api.LedgerEntry{Seq: l.seq + 1, At: time.Now().UTC(), Applied: applied, TuningChange: c}
	if l.path == "" {
		l.add(e)
		return e, nil
	}
	line, err := json.Marshal(e)
	if err != nil {
		return e, err
	}
	line = append(line, '\n')
	if l.size+int64(len(line)) > MaxLedgerFileBytes {
		return e, fmt.Errorf("system: the tuning ledger %s is full (%d bytes): nothing applied", l.path, MaxLedgerFileBytes)
	}
	f, err := os.OpenFile(l.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return e, fmt.Errorf("system: the tuning ledger: %w", err)
	}
	_, werr := f.Write(line)
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		return e, fmt.Errorf("system: the tuning ledger: %w (nothing applied)", err)
	}
	l.size += int64(len(line))
	l.add(e)
	return e, nil
}

func (l *ledger) list() []api.LedgerEntry {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.entries)
}

// Ledger returns the tuning ledger: every change ApplyTuning put in force,
// oldest first (at most MaxLedgerEntries), loaded from tune.ledger_path
// at New when it is set. It is safe for concurrent use.
func (s *System) Ledger() []api.LedgerEntry { return s.ledger.list() }

// ApplyTuning puts a measured change of settings in force (see
// api.TuningChange): every service's breaker and recovery policy are
// checked first, and any problem — a service without a breaker, a field
// that does not decode, a value out of range, a missing why or
// measurement — applies nothing and is returned with its path. Then it
// reconfigures each breaker (Breaker.Reconfigure's rules), sets each
// policy (its functions, such as a health check, kept) and appends the
// change to the ledger. The change is live only: the configuration file
// does not hold it, and a restart (or a reload from the file naming those
// settings) puts the file's values back; the ledger says what was applied.
// The entry is written to the ledger before the change is applied, and a
// change that cannot be written is not applied.
// It is safe for concurrent use.
func (s *System) ApplyTuning(ctx context.Context, c api.TuningChange) (api.LedgerEntry, error) {
	_ = ctx
	plans, err := s.planTuning(c)
	if err != nil {
		return api.LedgerEntry{}, err
	}
	var applied []string
	for _, p := range plans {
		if p.breaker != nil {
			applied = append(applied, "breaker "+p.service)
		}
		if p.policy != nil {
			applied = append(applied, "recovery "+p.service)
		}
	}
	s.trials.mu.Lock() // no trial starts while the change is recorded and applied
	defer s.trials.mu.Unlock()
	if cur := s.trials.cur; cur != nil {
		return api.LedgerEntry{}, fmt.Errorf("system: %w on %v: nothing applied (end it first: DELETE /tune/trial)", api.ErrTrialActive, cur.info.Services)
	}
	e, err := s.ledger.record(c, applied)
	if err != nil {
		return api.LedgerEntry{}, err
	}
	if err := s.applyPlans(plans); err != nil { // checked by planTuning: a refusal now is a bug
		return e, fmt.Errorf("system: tuning entry %d applied partly: %w", e.Seq, err)
	}
	s.log.Info("tuning applied", "seq", e.Seq, "applied", applied, "why", c.Why)
	return e, nil
}

// tuningPlan is what ApplyTuning does to one service.
type tuningPlan struct {
	service string
	breaker *breaker.Config
	policy  *recovery.Policy
}

// planTuning checks c and returns what it does to each service, or every
// problem, each with its path.
func (s *System) planTuning(c api.TuningChange) ([]tuningPlan, error) {
	var p antifragile.Problems
	if len(c.Services) == 0 || len(c.Services) > MaxTuningServices {
		p.Invalid("services", len(c.Services), "must name 1 to %d services", MaxTuningServices)
	}
	if len(c.Breaker) == 0 && len(c.Recovery) == 0 {
		p.Invalid("breaker", nil, "a change needs breaker or recovery fields")
	}
	if c.Why == "" || len(c.Before) == 0 || len(c.After) == 0 {
		p.Invalid("why", c.Why, "a change is applied only with why, before and after: the measurement that justifies it")
	}
	plans, err := s.planFields(c.Services, c.Breaker, c.Recovery, func(i int) (api.ServiceSettings, bool) {
		sv := s.saveSettings(c.Services[i : i+1])[0]
		return sv.ServiceSettings, sv.hasBreaker
	})
	p.Add(err)
	if err := p.Err(); err != nil {
		return nil, fmt.Errorf("system: invalid tuning change:\n%w", err)
	}
	return plans, nil
}

func (s *System) buildLedger() error {
	var err error
	s.ledger, err = openLedger(s.cfg.Tune.LedgerPath)
	return err
}

// tuner is the ops API's face of the tuning ledger.
type tuner struct{ s *System }

func (t tuner) ApplyTuning(ctx context.Context, c api.TuningChange) (api.LedgerEntry, error) {
	return t.s.ApplyTuning(ctx, c)
}

func (t tuner) Ledger() []api.LedgerEntry { return t.s.Ledger() }

func (t tuner) StartTrial(ctx context.Context, r api.TrialRequest) (api.Trial, error) {
	return t.s.StartTrial(ctx, r)
}

func (t tuner) EndTrial(ctx context.Context) (api.Trial, error) { return t.s.EndTrial(ctx) }

func (t tuner) Trial() api.Trial { return t.s.Trial() }

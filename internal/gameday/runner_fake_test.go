package gameday_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
	"unicode/utf8"

	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/chaos"
	"github.com/antifragile-go/antifragile/health"
	"github.com/antifragile-go/antifragile/internal/gameday"
	"github.com/antifragile-go/antifragile/internal/gameday/scenario"
)

// fakeTarget records the runner's calls, with their times since start,
// and reports DEGRADED while a fault on "db" is active.
type fakeTarget struct {
	start time.Time
	mu    sync.Mutex
	calls []string
	live  map[string]bool
	msgs  uint64
}

func newFake() *fakeTarget { return &fakeTarget{start: time.Now(), live: map[string]bool{}} }

func (f *fakeTarget) log(format string, args ...any) {
	f.calls = append(f.calls, fmt.Sprintf("%s "+format, append([]any{time.Since(f.start)}, args...)...))
}

func (f *fakeTarget) Inject(_ context.Context, s chaos.Scenario) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if s.Target == "refuse" {
		return errors.New("refused")
	}
	f.live[s.Name] = true
	f.log("inject %s", s.Name)
	return nil
}

func (f *fakeTarget) End(_ context.Context, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.live[name] {
		f.log("end %s", name)
	}
	delete(f.live, name)
	return nil
}

func (f *fakeTarget) EmergencyStop(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log("emergency stop")
	clear(f.live)
	return nil
}

func (f *fakeTarget) Observe(context.Context) (gameday.Observation, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.msgs += 10
	o := gameday.Observation{Status: health.Healthy, Score: 1, Breakers: map[string]breaker.State{"db": breaker.Closed},
		Messages: f.msgs, LatencyKind: gameday.LatencyP99, Latency: time.Millisecond,
		Metered: map[string]int64{"acme": int64(f.msgs)}, Calls: map[string]uint64{"db": f.msgs}}
	if len(f.live) > 0 {
		o.Status, o.Score, o.Breakers["db"] = health.Degraded, 0.5, breaker.Open
	}
	return o, nil
}

func (f *fakeTarget) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

func mustParse(t *testing.T, s string) *scenario.Scenario {
	t.Helper()
	sc, err := scenario.Parse([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

const threePhases = `{"name":"three","steady_state":{"recovery_budget":"300ms"},"phases":[
	{"name":"a","duration":"1s","faults":[{"name":"f1","type":"network_partition","target":"db"}]},
	{"name":"b","duration":"1s","faults":[{"name":"f2","type":"network_partition","target":"db","duration":"500ms"}]},
	{"name":"c","duration":"1s","faults":[{"name":"f3","type":"network_partition","target":"db","duration":"10m"}]}]}`

func TestRun_FaultLifecycle(t *testing.T) {
	t.Run("ends each fault when its duration is over and the rest at the end", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			f := newFake()
			res, err := gameday.Run(t.Context(), gameday.Config{Scenario: mustParse(t, threePhases), Target: f, SampleInterval: 100 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			want := []string{"0s inject f1", "1s end f1", "1s inject f2", "1.5s end f2", "2s inject f3", "3s end f3"}
			if got := f.Calls(); !slices.Equal(got, want) {
				t.Errorf("calls = %q, want %q", got, want)
			}
			if res.Elapsed != 3*time.Second || res.Interrupted {
				t.Errorf("elapsed %s interrupted %v", res.Elapsed, res.Interrupted)
			}
			if res.Faults[2].Ended != -1 || res.Faults[1].Ended != 1500*time.Millisecond {
				t.Errorf("fault ends = %s, %s", res.Faults[1].Ended, res.Faults[2].Ended)
			}
			if res.Verdict.Passed || !strings.Contains(strings.Join(res.Verdict.Reasons, "\n"), `phase "c": its faults were still active`) {
				t.Errorf("verdict = %+v", res.Verdict)
			}
			b := res.Phases[1]
			if !b.Detected || b.TimeToDetect != 100*time.Millisecond || !b.Recovered || b.TimeToRecover != 0 {
				t.Errorf("phase b = %+v", b)
			}
			if got := len(res.Samples); got != 31 {
				t.Errorf("%d samples, want 31 (one at the start, then every 100ms)", got)
			}
			if res.Phases[0].Metered["acme"] != 100 || res.Phases[0].Failed != 0 {
				t.Errorf("phase a metered %v failed %d", res.Phases[0].Metered, res.Phases[0].Failed)
			}
		})
	})
	t.Run("an interruption stops the chaos first, then ends every fault", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			f := newFake()
			ctx, cancel := context.WithTimeout(t.Context(), 1250*time.Millisecond)
			defer cancel()
			res, err := gameday.Run(ctx, gameday.Config{Scenario: mustParse(t, threePhases), Target: f})
			if err != nil {
				t.Fatal(err)
			}
			want := []string{"0s inject f1", "1s end f1", "1s inject f2", "1.25s emergency stop"}
			if got := f.Calls(); !slices.Equal(got, want) {
				t.Errorf("calls = %q, want %q", got, want)
			}
			if !res.Interrupted || res.Verdict.Passed || res.Phases[2].Ran || res.Phases[1].End != 1250*time.Millisecond {
				t.Errorf("interrupted %v verdict %+v phases %+v", res.Interrupted, res.Verdict, res.Phases)
			}
		})
	})
	t.Run("a refused fault fails the verdict", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			sc := mustParse(t, `{"name":"x","phases":[{"name":"a","duration":"1s","faults":[{"name":"r","type":"network_partition","target":"refuse"}]}]}`)
			res, _ := gameday.Run(t.Context(), gameday.Config{Scenario: sc, Target: newFake()})
			if res.Verdict.Passed || !strings.Contains(res.Verdict.Reasons[0], `fault "r" could not be injected: refused`) {
				t.Errorf("verdict = %+v", res.Verdict)
			}
		})
	})
	t.Run("the plain progress writes at most a line a second and one per phase", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var out strings.Builder
			_, _ = gameday.Run(t.Context(), gameday.Config{Scenario: mustParse(t, threePhases), Target: newFake(),
				SampleInterval: 100 * time.Millisecond, Progress: &out})
			lines := strings.Split(strings.TrimSpace(out.String()), "\n")
			phases, samples := 0, 0
			for _, l := range lines {
				if strings.HasPrefix(l, "phase ") {
					phases++
				} else {
					samples++
				}
			}
			if phases != 3 || samples > 7 || samples < 3 {
				t.Errorf("%d phase lines and %d sample lines:\n%s", phases, samples, out.String())
			}
			if strings.Contains(out.String(), "\x1b[") || strings.Contains(out.String(), "\r") {
				t.Error("plain progress contains terminal escapes")
			}
		})
	})
	t.Run("the terminal progress updates one line in place", func(t *testing.T) {
		t.Setenv("COLUMNS", "100")
		synctest.Test(t, func(t *testing.T) {
			var out strings.Builder
			_, _ = gameday.Run(t.Context(), gameday.Config{Scenario: mustParse(t, threePhases), Target: newFake(),
				SampleInterval: 100 * time.Millisecond, Progress: &out, Terminal: true})
			if n := strings.Count(out.String(), "\r\x1b[K"); n != 30 {
				t.Errorf("%d in-place updates, want one per sample after the first (30, at most 10 a second)", n)
			}
			for _, l := range strings.Split(out.String(), "\r\x1b[K") {
				plain := regexp.MustCompile("\x1b\\[[0-9;]*m").ReplaceAllString(strings.TrimRight(l, "\n"), "")
				if first, _, _ := strings.Cut(plain, "\n"); utf8.RuneCountInString(first) > 99 {
					t.Errorf("line of %d columns, wider than the terminal (100): %q", utf8.RuneCountInString(first), first)
				}
			}
			if n := strings.Count(out.String(), "\n"); n != 6 {
				t.Errorf("%d newlines, want 6 (a header per phase and the end of its line)", n)
			}
		})
	})
}

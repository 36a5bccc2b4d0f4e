package backoff_test

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/antifragile-go/antifragile/backoff"
)

const s = time.Second

func TestDelay(t *testing.T) {
	tests := []struct {
		name       string
		strategy   backoff.Strategy
		initial    time.Duration
		max        time.Duration
		multiplier float64
		want       []time.Duration // attempts 1, 2, 3, ...
		ok         bool
	}{
		{"exponential doubles", backoff.Exponential, s, 60 * s, 2, []time.Duration{s, 2 * s, 4 * s, 8 * s, 16 * s, 32 * s, 60 * s, 60 * s}, true},
		{"exponential is capped", backoff.Exponential, s, 5 * s, 2, []time.Duration{s, 2 * s, 4 * s, 5 * s, 5 * s}, true},
		{"exponential with multiplier 1.5", backoff.Exponential, 100 * time.Millisecond, 0, 1.5, []time.Duration{100 * time.Millisecond, 150 * time.Millisecond, 225 * time.Millisecond, 337500 * time.Microsecond}, true},
		{"exponential multiplier below 1 counts as 1", backoff.Exponential, s, 0, 0.5, []time.Duration{s, s, s}, true},
		{"exponential NaN multiplier counts as 1", backoff.Exponential, s, 0, math.NaN(), []time.Duration{s, s}, true},
		{"linear grows by initial", backoff.Linear, s, 60 * s, 2, []time.Duration{s, 2 * s, 3 * s, 4 * s}, true},
		{"linear is capped", backoff.Linear, 2 * s, 5 * s, 0, []time.Duration{2 * s, 4 * s, 5 * s, 5 * s}, true},
		{"immediate is zero", backoff.Immediate, s, 60 * s, 2, []time.Duration{0, 0, 0}, true},
		{"manual never retries", backoff.Manual, s, 60 * s, 2, []time.Duration{0, 0}, false},
		{"unknown strategy never retries", backoff.Strategy(9), s, 60 * s, 2, []time.Duration{0}, false},
		{"zero initial stays zero", backoff.Exponential, 0, 60 * s, 2, []time.Duration{0, 0}, true},
		{"negative initial counts as zero", backoff.Linear, -s, 60 * s, 2, []time.Duration{0, 0}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for i, want := range tt.want {
				got, ok := backoff.Delay(tt.strategy, i+1, tt.initial, tt.max, tt.multiplier)
				if got != want || ok != tt.ok {
					t.Errorf("attempt %d: Delay = %v, %v; want %v, %v", i+1, got, ok, want, tt.ok)
				}
			}
		})
	}
	t.Run("attempt below 1 counts as 1", func(t *testing.T) {
		for _, n := range []int{0, -3} {
			if got, _ := backoff.Delay(backoff.Exponential, n, s, 0, 2); got != s {
				t.Errorf("Delay(attempt %d) = %v, want 1s", n, got)
			}
		}
	})
	t.Run("huge attempts saturate instead of overflowing", func(t *testing.T) {
		for _, st := range []backoff.Strategy{backoff.Exponential, backoff.Linear} {
			got, _ := backoff.Delay(st, math.MaxInt, s, 0, 2)
			if got != math.MaxInt64 {
				t.Errorf("%v uncapped = %v, want max duration", st, got)
			}
			got, _ = backoff.Delay(st, math.MaxInt, s, time.Hour, 2)
			if got != time.Hour {
				t.Errorf("%v capped = %v, want 1h", st, got)
			}
		}
	})
}

func TestJitter(t *testing.T) {
	t.Run("stays within the fraction", func(t *testing.T) {
		r := rand.New(rand.NewPCG(1, 2))
		lo, hi := 9*s, 11*s
		for range 1000 {
			if d := backoff.Jitter(10*s, 0.1, r); d < lo || d > hi {
				t.Fatalf("Jitter = %v, want within [%v, %v]", d, lo, hi)
			}
		}
	})
	t.Run("actually spreads", func(t *testing.T) {
		r := rand.New(rand.NewPCG(1, 2))
		seen := map[time.Duration]bool{}
		for range 10 {
			seen[backoff.Jitter(10*s, 0.5, r)] = true
		}
		if len(seen) < 5 {
			t.Fatalf("10 jittered delays gave only %d distinct values", len(seen))
		}
	})
	t.Run("same seed same delays", func(t *testing.T) {
		a, b := rand.New(rand.NewPCG(7, 7)), rand.New(rand.NewPCG(7, 7))
		for range 20 {
			if x, y := backoff.Jitter(s, 0.3, a), backoff.Jitter(s, 0.3, b); x != y {
				t.Fatalf("%v != %v", x, y)
			}
		}
	})
	t.Run("no generator or zero fraction leaves the delay alone", func(t *testing.T) {
		r := rand.New(rand.NewPCG(1, 2))
		if d := backoff.Jitter(s, 0.5, nil); d != s {
			t.Errorf("nil rand: %v", d)
		}
		if d := backoff.Jitter(s, 0, r); d != s {
			t.Errorf("zero fraction: %v", d)
		}
		if d := backoff.Jitter(s, math.NaN(), r); d != s {
			t.Errorf("NaN fraction: %v", d)
		}
	})
	t.Run("fraction above 1 is clamped and never negative", func(t *testing.T) {
		r := rand.New(rand.NewPCG(3, 4))
		for range 1000 {
			if d := backoff.Jitter(s, 5, r); d < 0 || d > 2*s {
				t.Fatalf("Jitter = %v, want within [0, 2s]", d)
			}
		}
	})
}

func TestSchedule_Delay(t *testing.T) {
	t.Run("without jitter matches Delay", func(t *testing.T) {
		sc := backoff.Schedule{Strategy: backoff.Exponential, Initial: s, Max: 3 * s, Multiplier: 2}
		want := []time.Duration{s, 2 * s, 3 * s}
		for i, w := range want {
			if d, ok := sc.Delay(i+1, nil); d != w || !ok {
				t.Errorf("attempt %d: %v, %v; want %v", i+1, d, ok, w)
			}
		}
	})
	t.Run("jitter never exceeds the cap", func(t *testing.T) {
		sc := backoff.Schedule{Strategy: backoff.Linear, Initial: s, Max: 2 * s, Jitter: 1}
		r := rand.New(rand.NewPCG(5, 6))
		for range 1000 {
			if d, _ := sc.Delay(10, r); d > 2*s || d < 0 {
				t.Fatalf("Delay = %v, want within [0, 2s]", d)
			}
		}
	})
	t.Run("manual reports no retry", func(t *testing.T) {
		sc := backoff.Schedule{Strategy: backoff.Manual, Initial: s}
		if d, ok := sc.Delay(1, nil); ok || d != 0 {
			t.Errorf("Delay = %v, %v; want 0, false", d, ok)
		}
	})
}

func TestStrategy_Text(t *testing.T) {
	names := map[backoff.Strategy]string{
		backoff.Exponential: "exponential_backoff",
		backoff.Linear:      "linear_backoff",
		backoff.Immediate:   "immediate",
		backoff.Manual:      "manual",
		backoff.Learned:     "learned",
	}
	for st, name := range names {
		t.Run(name, func(t *testing.T) {
			if st.String() != name {
				t.Errorf("String = %q", st.String())
			}
			text, err := st.MarshalText()
			if err != nil || string(text) != name {
				t.Errorf("MarshalText = %q, %v", text, err)
			}
			var back backoff.Strategy
			if err := back.UnmarshalText([]byte(name)); err != nil || back != st {
				t.Errorf("UnmarshalText = %v, %v", back, err)
			}
		})
	}
	t.Run("unknown names are rejected with the accepted ones", func(t *testing.T) {
		for _, in := range []string{"", "EXPONENTIAL_BACKOFF", "exponential", "retry"} {
			_, err := backoff.Parse(in)
			if !errors.Is(err, backoff.ErrUnknownStrategy) {
				t.Errorf("Parse(%q) = %v, want ErrUnknownStrategy", in, err)
			}
		}
		_, err := backoff.Parse("retry")
		want := `backoff: unknown strategy "retry" (want one of exponential_backoff, linear_backoff, immediate, manual, learned)`
		if err == nil || err.Error() != want {
			t.Errorf("message = %v, want %s", err, want)
		}
	})
	t.Run("unknown values do not marshal", func(t *testing.T) {
		if _, err := backoff.Strategy(5).MarshalText(); !errors.Is(err, backoff.ErrUnknownStrategy) {
			t.Errorf("MarshalText = %v", err)
		}
		if got := backoff.Strategy(5).String(); got != "strategy(5)" {
			t.Errorf("String = %q", got)
		}
	})
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"exponential_backoff", "linear_backoff", "immediate", "manual", "learned", "", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		st, err := backoff.Parse(in)
		if err != nil {
			if !errors.Is(err, backoff.ErrUnknownStrategy) {
				t.Fatalf("error %v does not match ErrUnknownStrategy", err)
			}
			return
		}
		if st.String() != in {
			t.Fatalf("Parse(%q) = %v, which prints differently", in, st)
		}
	})
}

func FuzzDelay(f *testing.F) {
	f.Add(uint8(0), 3, int64(s), int64(60*s), 2.0)
	f.Add(uint8(1), 1000000, int64(s), int64(0), 1.0)
	f.Fuzz(func(t *testing.T, st uint8, attempt int, initial, maxDelay int64, mult float64) {
		d, ok := backoff.Delay(backoff.Strategy(st), attempt, time.Duration(initial), time.Duration(maxDelay), mult)
		if d < 0 {
			t.Fatalf("negative delay %v", d)
		}
		if maxDelay > 0 && d > time.Duration(maxDelay) {
			t.Fatalf("delay %v above cap %v", d, time.Duration(maxDelay))
		}
		if !ok && d != 0 {
			t.Fatalf("no retry but delay %v", d)
		}
	})
}

func TestLadderDelay(t *testing.T) {
	targets := []time.Duration{4 * s, 5 * s, 7 * s}
	for _, c := range []struct {
		name     string
		attempt  int
		elapsed  time.Duration
		min, max time.Duration
		want     time.Duration
	}{
		{"the first attempt waits for its target", 1, 0, s / 2, 60 * s, 4 * s},
		{"a later attempt waits for what is left", 2, 4 * s, s / 2, 60 * s, s},
		{"the third target", 3, 5 * s, s / 2, 60 * s, 2 * s},
		{"past the ladder targets grow by the multiplier", 4, 7 * s, s / 2, 60 * s, 7 * s},
		{"and again", 5, 14 * s, s / 2, 60 * s, 14 * s},
		{"a late attempt waits the minimum", 2, 6 * s, s / 2, 60 * s, s / 2},
		{"the cap holds", 1, 0, s / 2, 3 * s, 3 * s},
		{"the minimum holds", 1, 0, 5 * s, 60 * s, 5 * s},
		{"no cap", 9, 0, 0, 0, 7 * s * 64},
		{"attempt 0 counts as 1", 0, 0, 0, 0, 4 * s},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := backoff.LadderDelay(c.attempt, c.elapsed, targets, 2, c.min, c.max); got != c.want {
				t.Errorf("LadderDelay(%d, %v) = %v, want %v", c.attempt, c.elapsed, got, c.want)
			}
		})
	}
	t.Run("no targets is exponential from the minimum", func(t *testing.T) {
		for n := 1; n < 8; n++ {
			want, _ := backoff.Delay(backoff.Exponential, n, s, 60*s, 2)
			if got := backoff.LadderDelay(n, 0, nil, 2, s, 60*s); got != want {
				t.Errorf("attempt %d: %v, want %v", n, got, want)
			}
		}
	})
	t.Run("Delay treats learned as exponential", func(t *testing.T) {
		for n := 1; n < 8; n++ {
			want, _ := backoff.Delay(backoff.Exponential, n, s, 60*s, 2)
			if got, ok := backoff.Delay(backoff.Learned, n, s, 60*s, 2); !ok || got != want {
				t.Errorf("attempt %d: %v, %v, want %v", n, got, ok, want)
			}
		}
	})
}

func FuzzLadderDelay(f *testing.F) {
	f.Add(1, int64(0), int64(4*s), int64(5*s), int64(s), int64(60*s), 2.0)
	f.Add(9, int64(-1), int64(-4), int64(1<<62), int64(0), int64(0), 1000.0)
	f.Fuzz(func(t *testing.T, attempt int, elapsed, t1, t2, minDelay, maxDelay int64, mult float64) {
		targets := []time.Duration{time.Duration(t1), time.Duration(t2)}
		d := backoff.LadderDelay(attempt, time.Duration(elapsed), targets, mult, time.Duration(minDelay), time.Duration(maxDelay))
		if d < 0 {
			t.Fatalf("negative delay %v", d)
		}
		if maxDelay > 0 && d > time.Duration(maxDelay) {
			t.Fatalf("delay %v above cap %v", d, time.Duration(maxDelay))
		}
		if minDelay > 0 && (maxDelay <= 0 || minDelay <= maxDelay) && d < time.Duration(minDelay) {
			t.Fatalf("delay %v below minimum %v", d, time.Duration(minDelay))
		}
	})
}

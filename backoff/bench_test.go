package backoff_test

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/antifragile-go/antifragile/backoff"
)

func BenchmarkDelay(b *testing.B) {
	for _, st := range []backoff.Strategy{backoff.Exponential, backoff.Linear} {
		b.Run(st.String(), func(b *testing.B) {
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				n = n%10 + 1
				backoff.Delay(st, n, time.Second, time.Minute, 2)
			}
		})
	}
	b.Run("ladder", func(b *testing.B) { // the learned strategy's decision, beside the two above
		targets := []time.Duration{4 * time.Second, 5 * time.Second, 7 * time.Second, 9 * time.Second}
		b.ReportAllocs()
		n := 0
		for b.Loop() {
			n = n%10 + 1
			backoff.LadderDelay(n, time.Duration(n)*time.Second, targets, 2, time.Second, time.Minute)
		}
	})
	b.Run("exponential_backoff/parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			n := 0
			for pb.Next() {
				n = n%10 + 1
				backoff.Delay(backoff.Exponential, n, time.Second, time.Minute, 2)
			}
		})
	})
}

func BenchmarkSchedule_DelayJitter(b *testing.B) {
	sc := backoff.Schedule{Strategy: backoff.Exponential, Initial: time.Second, Max: time.Minute, Multiplier: 2, Jitter: 0.2}
	r := rand.New(rand.NewPCG(1, 2))
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		n = n%10 + 1
		sc.Delay(n, r)
	}
}

// Package backoff is the delay arithmetic of retries: exponential, linear,
// immediate and manual strategies, a cap, and optional jitter drawn from an
// injected *rand.Rand. It imports only the standard library, keeps no state
// and starts nothing; the recovery package builds its retry schedule on it.
//
// The delay before attempt n (counting from 1) is initial·multiplier^(n−1)
// for Exponential and initial·n for Linear, both capped:
//
//	for n := 1; n <= 4; n++ {
//		d, _ := backoff.Delay(backoff.Exponential, n, time.Second, 5*time.Second, 2)
//		fmt.Println(d) // 1s, 2s, 4s, 5s
//	}
//
// With jitter, a seeded generator makes the spread reproducible:
//
//	s := backoff.Schedule{Strategy: backoff.Linear, Initial: time.Second, Max: time.Minute, Jitter: 0.1}
//	r := rand.New(rand.NewPCG(1, 2))
//	d, ok := s.Delay(3, r) // within [2.7s, 3.3s]; ok is false only for Manual
package backoff

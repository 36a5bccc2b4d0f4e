package backoff_test

import (
	"fmt"
	"time"

	"github.com/antifragile-go/antifragile/backoff"
)

func ExampleDelay() {
	var delays []time.Duration
	for n := 1; n <= 5; n++ {
		d, _ := backoff.Delay(backoff.Exponential, n, time.Second, 10*time.Second, 2)
		delays = append(delays, d)
	}
	fmt.Println(delays)
	_, ok := backoff.Delay(backoff.Manual, 1, time.Second, 0, 2)
	fmt.Println("manual retries by itself:", ok)
	// Output:
	// [1s 2s 4s 8s 10s]
	// manual retries by itself: false
}

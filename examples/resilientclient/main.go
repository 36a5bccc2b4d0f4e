// Command resilientclient calls an HTTP service through a circuit breaker
// while the chaos engine makes the service fail, and prints how the breaker
// and the health score react. Everything runs in process: the "service" is
// an httptest server on loopback.
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/chaos"
	"github.com/antifragile-go/antifragile/chaos/chaoshttp"
	"github.com/antifragile-go/antifragile/health"
)

func main() {
	if err := run(); err != nil {
		log.Fatal(err)
	}
}

func run() error {
	ctx := context.Background()
	reg, err := breaker.NewRegistry(breaker.RegistryConfig{})
	if err != nil {
		return err
	}
	eng, err := chaos.New(chaos.Config{Seed: 1}, reg)
	if err != nil {
		return err
	}
	defer eng.Close(ctx)
	agg, err := health.New(health.Config{}, reg)
	if err != nil {
		return err
	}
	defer agg.Close(ctx)

	svc := newService(eng)
	defer svc.Close()

	br, err := reg.GetOrCreate("inventory", breaker.Config{ConsecutiveFailures: 3, OpenTimeout: 200 * time.Millisecond})
	if err != nil {
		return err
	}
	call := func() error {
		return br.ExecuteContext(ctx, func(ctx context.Context) error { return get(ctx, svc.URL) })
	}

	events := br.Subscribe(8)
	defer events.Close()

	// Every request fails until the scenario ends (at the latest in 30 s).
	sc, err := eng.InjectErrors("inventory", 1.0, nil, 30*time.Second)
	if err != nil {
		return err
	}
	for i := range 5 {
		err := call()
		fmt.Printf("call %d: %-45v breaker %-9s health %s\n", i+1, errOrOK(err), br.State(), agg.Report().Status)
	}
	// The fault ends; once the open timeout has passed the breaker admits a
	// trial call.
	eng.Deactivate(sc.Name)
	if err := waitFor(events, breaker.HalfOpen, 5*time.Second); err != nil {
		return err
	}
	err = call()
	fmt.Printf("after the fault: %v, breaker %s, health %s\n", errOrOK(err), br.State(), agg.Report().Status)
	if errors.Is(err, breaker.ErrOpen) {
		return errors.New("breaker did not recover")
	}
	return nil
}

// newService starts the "inventory" service: it answers 200, and the chaos
// middleware in front of it injects eng's faults for the target
// "inventory".
func newService(eng *chaos.Engine) *httptest.Server {
	return httptest.NewServer(chaoshttp.Middleware(eng, chaoshttp.Config{Target: "inventory"})(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) })))
}

// get calls the service at url; an answer other than 200 is an error.
func get(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("inventory: %s", resp.Status)
	}
	return nil
}

// waitFor waits for the breaker's transition to state.
func waitFor(events *breaker.Subscription, state breaker.State, timeout time.Duration) error {
	deadline := time.After(timeout)
	for {
		select {
		case ev := <-events.C:
			if ev.To == state {
				return nil
			}
		case <-deadline:
			return fmt.Errorf("no transition to %s within %s", state, timeout)
		}
	}
}

func errOrOK(err error) any {
	if err == nil {
		return "ok"
	}
	return err
}

package recovery_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/antifragile-go/antifragile/recovery"
)

func ExampleOrchestrator_Execute() {
	o, err := recovery.New(recovery.Config{}, nil)
	if err != nil {
		panic(err)
	}
	up := false
	policy := &recovery.Policy{
		Action: func(context.Context) error { up = true; return nil }, // reconnect
		HealthCheck: func(context.Context) error {
			if !up {
				return errors.New("still down")
			}
			return nil
		},
	}
	_ = o.Schedule("db", recovery.ExponentialBackoff, 0, policy)
	res, _ := o.Execute(context.Background(), "db")
	fmt.Println(res.Service, res.State, res.Success, res.HealthCheckPassed)
	// Output: db succeeded true true
}

func ExampleOrchestrator_Run() {
	o, err := recovery.New(recovery.Config{}, nil)
	if err != nil {
		panic(err)
	}
	sub := o.Subscribe(0)
	defer sub.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- o.Run(ctx) }()

	fails := 1
	_ = o.Schedule("cache", recovery.Immediate, 0, &recovery.Policy{
		HealthCheck: func(context.Context) error {
			if fails > 0 {
				fails--
				return errors.New("connection refused")
			}
			return nil
		},
	})
	for ev := range sub.C {
		line := fmt.Sprintf("%s %s attempt=%d", ev.Service, ev.State, ev.Attempt)
		if ev.Detail != "" {
			line += " (" + ev.Detail + ")"
		}
		fmt.Println(line)
		if ev.State.Terminal() {
			break
		}
	}
	cancel()
	<-done
	// Output:
	// cache scheduled attempt=0
	// cache in_progress attempt=1
	// cache scheduled attempt=1 (health check: connection refused)
	// cache in_progress attempt=2
	// cache succeeded attempt=2
}

// A service's past outages, kept in a history file, time the attempts of
// the learned strategy: the first at the median heal time.
func ExampleOrchestrator_Learning() {
	dir, err := os.MkdirTemp("", "outages")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	store, err := recovery.NewFileStore(recovery.FileStoreConfig{Path: filepath.Join(dir, "outages.jsonl")})
	if err != nil {
		panic(err)
	}
	opened := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	for i, heal := range []time.Duration{3 * time.Second, 4200 * time.Millisecond, 5 * time.Second} {
		at := opened.Add(time.Duration(i) * time.Hour)
		_ = store.Append(recovery.Outage{Service: "db", OpenedAt: at, EndedAt: at.Add(heal), HealedAt: at.Add(heal), Outcome: recovery.ClosedByItself})
	}

	o, err := recovery.New(recovery.Config{HistoryStore: store, DefaultPolicy: recovery.Policy{Strategy: recovery.Learned}}, nil)
	if err != nil {
		panic(err)
	}
	fmt.Println(o.Learning("db").Reason)
	fmt.Println(o.Learning("cache").Reason)
	// Output:
	// learned from 3 outages: median heal 4.2s → first attempt at 4.2s
	// too little history (0 of 3 healed outages): exponential_backoff, first attempt at 1s
}

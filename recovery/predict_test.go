package recovery_test

import (
	"context"
	"encoding/json"
	"testing"
	"testing/synctest"
	"time"

	"github.com/antifragile-go/antifragile/recovery"
)

func TestOrchestrator_AtRisk(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var called []string
		o := mustNew(t, recovery.Config{PredictionHorizon: time.Minute, OnPrediction: func(s string) { called = append(called, s) }}, nil)
		stop := start(t, o)
		defer stop()

		// db: predicted, and the outage follows within the horizon.
		if !o.AtRisk("db", time.Time{}) {
			t.Fatal("AtRisk(db) not counted")
		}
		if o.AtRisk("db", time.Time{}) {
			t.Error("a second pending prediction of db counted")
		}
		time.Sleep(30 * time.Second)
		_ = o.Schedule("db", recovery.Immediate, 0, nil)
		// cache: predicted, nothing follows.
		o.AtRisk("cache", time.Now().Add(-10*time.Second))
		// queue: an outage nobody predicted.
		_ = o.Schedule("queue", recovery.Immediate, 0, nil)
		if st := o.Status().Predictions; st.Total.Pending != 1 || st.Total.FalsePositives != 0 {
			t.Errorf("before the horizon: %+v", st.Total)
		}
		time.Sleep(51 * time.Second) // cache's prediction is 61 s old
		st := o.Status().Predictions
		tot := st.Total
		if tot.TruePositives != 1 || tot.FalsePositives != 1 || tot.Misses != 1 || tot.Pending != 0 ||
			tot.Precision == nil || *tot.Precision != 0.5 || tot.Recall == nil || *tot.Recall != 0.5 {
			b, _ := json.Marshal(tot)
			t.Errorf("totals = %s", b)
		}
		if len(st.Services) != 2 || st.Services[0].Service != "cache" || st.Services[0].FalsePositives != 1 ||
			st.Services[1].Service != "db" || st.Services[1].TruePositives != 1 || *st.Services[1].Precision != 1 {
			b, _ := json.Marshal(st.Services)
			t.Errorf("services = %s", b)
		}
		if len(called) != 2 || called[0] != "db" || called[1] != "cache" {
			t.Errorf("OnPrediction calls = %v", called)
		}
		// a prediction while the service's outage is open is not counted
		_ = o.Schedule("slow", recovery.Manual, 0, &recovery.Policy{HealthCheck: func(context.Context) error { return errDown }})
		synctest.Wait()
		if o.AtRisk("slow", time.Time{}) || o.AtRisk("", time.Time{}) {
			t.Error("a prediction during an open outage, or of no service, counted")
		}
		if tot := o.Status().Predictions.Total; tot.Misses != 2 || tot.Pending != 0 {
			t.Errorf("totals = %+v", tot)
		}
	})
}

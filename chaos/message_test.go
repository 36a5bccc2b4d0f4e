package chaos_test

import (
	"encoding/json"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/antifragile-go/antifragile/chaos"
)

func TestEngine_Message(t *testing.T) {
	t.Run("each kind on its target and blast radius, nothing elsewhere", func(t *testing.T) {
		e := newEngine(t, chaos.Config{Seed: 1}, nil)
		if f := e.Message("a"); f.Any() {
			t.Fatalf("nothing active: %+v", f)
		}
		for _, typ := range chaos.MessageTypes() {
			s := chaos.MessageScenario(typ, "a", 0, time.Minute, "b")
			s.Delay = 40 * time.Millisecond
			mustInject(t, e, s)
		}
		for _, target := range []string{"a", "b"} {
			f := e.Message(target)
			if !f.CorruptReply || !f.Duplicate || !f.Reorder || !f.WrongHash || !f.Crash || f.Poison != 40*time.Millisecond {
				t.Errorf("%s: %+v, want every fault", target, f)
			}
			if len(f.Scenarios) != len(chaos.MessageTypes()) {
				t.Errorf("%s: scenarios %v", target, f.Scenarios)
			}
		}
		if f := e.Message("c"); f.Any() {
			t.Errorf("outside the blast radius: %+v", f)
		}
		if got := e.Metrics().MessageFaults; got != 2*uint64(len(chaos.MessageTypes())) {
			t.Errorf("MessageFaults = %d", got)
		}
		if f := e.Apply(t.Context(), "a"); f != nil {
			t.Errorf("Apply under message faults only: %v (they act on messages, not calls)", f)
		}
	})
	t.Run("a share hits that share of messages, the same ones with the same seed", func(t *testing.T) {
		hits := func() []int {
			e := newEngine(t, chaos.Config{Seed: 42}, nil)
			mustInject(t, e, chaos.MessageScenario(chaos.TypeDuplicate, "a", 0.25, time.Minute))
			var out []int
			for i := range 4000 {
				if e.Message("a").Duplicate {
					out = append(out, i)
				}
			}
			return out
		}
		first, second := hits(), hits()
		if n := len(first); n < 850 || n > 1150 {
			t.Errorf("%d of 4000 hit at a share of 0.25", n)
		}
		if !slices.Equal(first, second) {
			t.Error("the same seed hit other messages")
		}
	})
	t.Run("an emergency stop and the end of the scenario end them", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			e := newEngine(t, chaos.Config{}, nil)
			startRun(t, e)
			mustInject(t, e, chaos.MessageScenario(chaos.TypeCrash, "a", 0, time.Second))
			if !e.Message("a").Crash {
				t.Fatal("not crashed")
			}
			time.Sleep(1100 * time.Millisecond)
			synctest.Wait()
			if f := e.Message("a"); f.Any() {
				t.Fatalf("after the scenario's duration: %+v", f)
			}
			mustInject(t, e, chaos.MessageScenario(chaos.TypeWrongHash, "a", 0, time.Minute))
			e.EmergencyStop()
			if f := e.Message("a"); f.Any() {
				t.Fatalf("after an emergency stop: %+v", f)
			}
		})
	})
	t.Run("a poison without delay does nothing; delays are capped", func(t *testing.T) {
		e := newEngine(t, chaos.Config{MaxDelay: time.Second}, nil)
		mustInject(t, e, chaos.MessageScenario(chaos.TypePoison, "a", 0, time.Minute))
		if f := e.Message("a"); f.Any() {
			t.Errorf("poison of 0: %+v", f)
		}
		s := chaos.MessageScenario(chaos.TypePoison, "b", 0, time.Minute)
		s.Delay = time.Minute
		if _, err := e.Inject(s); err == nil {
			if f := e.Message("b"); f.Poison > time.Second {
				t.Errorf("poison %s beyond MaxDelay", f.Poison)
			}
		}
	})
}

func TestScenario_messageFaultJSON(t *testing.T) {
	for _, typ := range chaos.MessageTypes() {
		doc := `{"name":"m","type":"` + string(typ) + `","target":"validator","error_rate":0.5,"duration":"5s"}`
		if typ == chaos.TypePoison {
			doc = `{"name":"m","type":"poison","target":"validator","error_rate":0.5,"delay":"200ms","duration":"5s"}`
		}
		var s chaos.Scenario
		if err := json.Unmarshal([]byte(doc), &s); err != nil {
			t.Errorf("%s: %v", typ, err)
			continue
		}
		if err := s.Validate(); err != nil || s.Share() != 0.5 || !s.Type.IsMessageFault() {
			t.Errorf("%s: %+v, %v", typ, s, err)
		}
		if d := s.Describe(); d == "" || d == string(typ)+" on validator" {
			t.Errorf("%s: Describe = %q", typ, d)
		}
	}
	if s := chaos.MessageScenario(chaos.TypeReorder, "v", 0, time.Second); s.Name != "reorder_v" || s.Share() != 1 || s.Describe() != "messages to v reordered" {
		t.Errorf("scenario %+v, %q", s, s.Describe())
	}
}

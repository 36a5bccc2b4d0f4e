package metering_test

import (
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/antifragile-go/antifragile/metering"
)

func fullEvent() metering.Event {
	return metering.Event{
		ID: "id-1", Tenant: "acme", Operation: metering.OpPolicyEvaluation, Tier: metering.TierEnhanced,
		Agent: "agent \"7\"\n", Tokens: 42, Latency: 1500 * time.Microsecond, Compliance: 0.75,
		Outcome: metering.OutcomeRejected, Metadata: map[string]any{"decision": "deny", "n": 3.5, "ok": true},
		Time: time.Date(2026, 5, 6, 7, 8, 9, 123_000_000, time.UTC), ConstitutionalHash: "cdd01ef066bc6cf2",
	}
}

func TestEvent_MarshalJSON(t *testing.T) {
	t.Run("uses the seed's field names", func(t *testing.T) {
		b, err := json.Marshal(fullEvent())
		if err != nil {
			t.Fatal(err)
		}
		want := `{"id":"id-1","tenant_id":"acme","operation":"policy_evaluation","tier":"enhanced",` +
			`"agent_id":"agent \"7\"\n","tokens_processed":42,"latency_ms":1.5,"compliance_score":0.75,` +
			`"outcome":"rejected","metadata":{"decision":"deny","n":3.5,"ok":true},` +
			`"timestamp":"2026-05-06T07:08:09.123Z","constitutional_hash":"cdd01ef066bc6cf2"}`
		if string(b) != want {
			t.Fatalf("got\n%s\nwant\n%s", b, want)
		}
	})
	t.Run("round-trips", func(t *testing.T) {
		in := fullEvent()
		b, _ := json.Marshal(in)
		var out metering.Event
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(out, in) {
			t.Fatalf("got %+v, want %+v", out, in)
		}
	})
	t.Run("escapes like encoding/json", func(t *testing.T) {
		s := "a\x00b\u2028c\xffd\\e\t<>&"
		b, _ := json.Marshal(metering.Event{Tenant: s})
		var raw map[string]any
		if err := json.Unmarshal(b, &raw); err != nil {
			t.Fatalf("invalid JSON %s: %v", b, err)
		}
		want, _ := json.Marshal(s)
		var wantS string
		_ = json.Unmarshal(want, &wantS)
		if raw["tenant_id"] != wantS {
			t.Fatalf("tenant decoded as %q, want %q", raw["tenant_id"], wantS)
		}
	})
	t.Run("never fails on bad values", func(t *testing.T) {
		e := metering.Event{Compliance: math.NaN(), Metadata: map[string]any{"f": func() {}},
			Time: time.Date(12000, 1, 1, 0, 0, 0, 0, time.UTC), Outcome: 99}
		b, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		var out metering.Event
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatalf("%s does not decode: %v", b, err)
		}
		if _, ok := out.Metadata["metadata_error"]; !ok || out.Outcome != metering.OutcomeError || !out.Time.IsZero() {
			t.Fatalf("decoded %+v", out)
		}
	})
}

func TestEvent_UnmarshalJSON(t *testing.T) {
	tests := []struct {
		name string
		in   string
	}{
		{"unknown outcome", `{"outcome":"maybe"}`},
		{"compliance above 1", `{"compliance_score":1.5}`},
		{"negative compliance", `{"compliance_score":-0.1}`},
		{"negative latency", `{"latency_ms":-1}`},
		{"latency beyond a Duration", `{"latency_ms":1e300}`},
		{"bad timestamp", `{"timestamp":"yesterday"}`},
		{"not an object", `[1,2]`},
		{"wrong type", `{"tokens_processed":"many"}`},
	}
	for _, tt := range tests {
		t.Run("refuses "+tt.name, func(t *testing.T) {
			var e metering.Event
			if err := json.Unmarshal([]byte(tt.in), &e); !errors.Is(err, metering.ErrDecode) {
				t.Fatalf("err = %v, want ErrDecode", err)
			}
		})
	}
	t.Run("accepts a minimal event", func(t *testing.T) {
		var e metering.Event
		if err := json.Unmarshal([]byte(`{"operation":"audit_write","extra":1}`), &e); err != nil {
			t.Fatal(err)
		}
		if e.Operation != metering.OpAuditWrite || e.Outcome != metering.OutcomeOK || !e.Time.IsZero() {
			t.Fatalf("got %+v", e)
		}
	})
}

func TestParseCloudEvent(t *testing.T) {
	t.Run("round-trips the OpenMeter shape", func(t *testing.T) {
		in := fullEvent()
		b := metering.AppendCloudEvent(nil, &in, "")
		var generic map[string]any
		if err := json.Unmarshal(b, &generic); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		for k, want := range map[string]any{"specversion": "1.0", "id": "id-1", "source": "antifragile", "type": "policy_evaluation",
			"subject": "acme", "time": "2026-05-06T07:08:09.123Z", "datacontenttype": "application/json"} {
			if generic[k] != want {
				t.Errorf("%s = %v, want %v", k, generic[k], want)
			}
		}
		if d, _ := generic["data"].(map[string]any); d["tokens_processed"] != 42.0 || d["tier"] != "enhanced" {
			t.Errorf("data = %v", generic["data"])
		}
		out, src, err := metering.ParseCloudEvent(b)
		if err != nil || src != "antifragile" {
			t.Fatalf("ParseCloudEvent: %v, source %q", err, src)
		}
		if !reflect.DeepEqual(out, in) {
			t.Fatalf("got %+v, want %+v", out, in)
		}
	})
	valid := `{"specversion":"1.0","id":"x","source":"s","type":"t"}`
	if _, _, err := metering.ParseCloudEvent([]byte(valid)); err != nil {
		t.Fatalf("minimal CloudEvent refused: %v", err)
	}
	for name, in := range map[string]string{
		"wrong specversion":   strings.Replace(valid, `"1.0"`, `"0.3"`, 1),
		"missing id":          strings.Replace(valid, `"id":"x"`, `"id":""`, 1),
		"missing source":      strings.Replace(valid, `"source":"s"`, `"source":""`, 1),
		"missing type":        strings.Replace(valid, `"type":"t"`, `"type":""`, 1),
		"non-JSON data":       strings.Replace(valid, `}`, `,"datacontenttype":"text/xml"}`, 1),
		"bad data":            strings.Replace(valid, `}`, `,"data":{"outcome":"??"}}`, 1),
		"not JSON":            `{"specversion":`,
		"bad time attribute":  strings.Replace(valid, `}`, `,"time":"noon"}`, 1),
		"compliance too high": strings.Replace(valid, `}`, `,"data":{"compliance_score":2}}`, 1),
	} {
		t.Run("refuses "+name, func(t *testing.T) {
			if _, _, err := metering.ParseCloudEvent([]byte(in)); !errors.Is(err, metering.ErrDecode) {
				t.Fatalf("err = %v, want ErrDecode", err)
			}
		})
	}
}

func TestOutcome(t *testing.T) {
	for _, o := range []metering.Outcome{metering.OutcomeOK, metering.OutcomeError, metering.OutcomeRejected, metering.OutcomeInjected} {
		got, err := metering.ParseOutcome(o.String())
		if err != nil || got != o {
			t.Errorf("ParseOutcome(%q) = %v, %v", o, got, err)
		}
	}
	if _, err := metering.ParseOutcome("nope"); !errors.Is(err, metering.ErrUnknownOutcome) {
		t.Errorf("ParseOutcome(nope) err = %v", err)
	}
	if _, err := metering.Outcome(9).MarshalText(); !errors.Is(err, metering.ErrUnknownOutcome) {
		t.Errorf("MarshalText(9) err = %v", err)
	}
	if !metering.OutcomeError.Billable() || metering.OutcomeRejected.Billable() || metering.OutcomeInjected.Billable() {
		t.Error("Billable: want ok and error billable, rejected and injected not")
	}
	if len(metering.Operations()) != 8 || !metering.OpBlockchainAnchor.Known() || metering.Operation("x").Known() {
		t.Error("Operations / Known disagree with the seed's eight operations")
	}
	if len(metering.Tiers()) != 4 || !metering.TierEnterprise.Known() || metering.Tier("gold").Known() {
		t.Error("Tiers / Known disagree with the seed's four tiers")
	}
}

// equalEvents compares decoded events, allowing latency to differ by the
// rounding of a float millisecond count.
func equalEvents(a, b metering.Event) bool {
	d := a.Latency - b.Latency
	if d < 0 {
		d = -d
	}
	if d > time.Microsecond && float64(d) > 1e-12*float64(a.Latency) {
		return false
	}
	a.Latency = b.Latency
	return reflect.DeepEqual(a, b)
}

func FuzzEventJSON(f *testing.F) {
	full, _ := json.Marshal(fullEvent())
	for _, s := range []string{
		string(full),
		`{}`, `{"outcome":"injected","latency_ms":0.000001}`, `{"timestamp":null,"metadata":null}`,
		`{"tenant_id":"\u2028\ud800","metadata":{"a":[1,{"b":null}]}}`, `{"latency_ms":9223372036854.775}`,
		`{"compliance_score":1e-320}`, `{"tokens_processed":-9223372036854775808}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var e metering.Event
		if err := json.Unmarshal(data, &e); err != nil {
			return
		}
		b := e.AppendJSON(nil)
		var again metering.Event
		if err := json.Unmarshal(b, &again); err != nil {
			t.Fatalf("re-encoded event %s does not decode: %v", b, err)
		}
		if !equalEvents(e, again) {
			t.Fatalf("round trip changed the event:\n%+v\n%+v", e, again)
		}
	})
}

func FuzzParseCloudEvent(f *testing.F) {
	e := fullEvent()
	f.Add(metering.AppendCloudEvent(nil, &e, "svc"))
	f.Add([]byte(`{"specversion":"1.0","id":"x","source":"s","type":"t"}`))
	f.Add([]byte(`{"specversion":"1.0","id":"x","source":"s","type":"t","data":{"outcome":"error","latency_ms":3}}`))
	f.Add([]byte(`{"specversion":"1.0","id":"x","source":"s","type":"t","data":null,"time":"2026-01-01T00:00:00+05:00"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		e, src, err := metering.ParseCloudEvent(data)
		if err != nil {
			return
		}
		b := metering.AppendCloudEvent(nil, &e, src)
		again, src2, err := metering.ParseCloudEvent(b)
		if err != nil {
			t.Fatalf("re-encoded CloudEvent %s does not parse: %v", b, err)
		}
		if src2 != src || !equalEvents(e, again) {
			t.Fatalf("round trip changed the event:\n%+v %q\n%+v %q", e, src, again, src2)
		}
	})
}

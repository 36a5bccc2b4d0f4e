package system_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/health"
	"github.com/antifragile-go/antifragile/recovery"
	"github.com/antifragile-go/antifragile/system"
)

// problems returns the *ValidationError leaves of err, in order.
func problems(t *testing.T, err error) []*system.ValidationError {
	t.Helper()
	var out []*system.ValidationError
	var walk func(error)
	walk = func(e error) {
		if ve, ok := e.(*system.ValidationError); ok {
			out = append(out, ve)
			return
		}
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, x := range j.Unwrap() {
				walk(x)
			}
			return
		}
		t.Errorf("problem %v (%T) is not a *ValidationError", e, e)
	}
	walk(err)
	return out
}

func fields(t *testing.T, err error) []string {
	t.Helper()
	var out []string
	for _, p := range problems(t, err) {
		out = append(out, p.Field)
	}
	return out
}

func TestParse_Problems(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want []string
	}{
		{"listen without a port", `{"ops":{"listen":"localhost"}}`, []string{"ops.listen"}},
		{"listen port out of range", `{"ops":{"listen":"127.0.0.1:70000"}}`, []string{"ops.listen"}},
		{"token with a space", `{"ops":{"token":"two words"}}`, []string{"ops.token"}},
		{"token_env not a variable name", `{"ops":{"token_env":"1BAD-NAME"}}`, []string{"ops.token_env"}},
		{"unknown ready status", `{"ops":{"ready_statuses":["HEALTHY","GREEN"]}}`, []string{"ops.ready_statuses[1]"}},
		{"ready statuses not an array", `{"ops":{"ready_statuses":"HEALTHY"}}`, []string{"ops.ready_statuses"}},
		{"negative body limit", `{"ops":{"max_body_bytes":-1}}`, []string{"ops.max_body_bytes"}},
		{"negative shutdown timeout", `{"ops":{"shutdown_timeout":"-1s"}}`, []string{"ops.shutdown_timeout"}},
		{"duration as a number", `{"ops":{"shutdown_timeout":10}}`, []string{"ops.shutdown_timeout"}},
		{"section not an object", `{"ops":[]}`, []string{"ops"}},
		{"unknown top-level field", `{"opz":{}}`, []string{"opz"}},
		{"unknown nested field", `{"ops":{"lisen":"127.0.0.1:1"}}`, []string{"ops.lisen"}},
		{"field in the wrong case", `{"ops":{"Listen":"127.0.0.1:1"}}`, []string{"ops.Listen"}},
		{"duplicated field", `{"ops":{"listen":"127.0.0.1:1","listen":"127.0.0.1:2"}}`, []string{"ops.listen"}},
		{"wrong hash", `{"constitutional_hash":"deadbeef"}`, []string{"constitutional_hash"}},
		{"default breaker rate above 1", `{"breakers":{"default":{"failure_rate":1.5}}}`, []string{"breakers.default.failure_rate"}},
		{"unknown window kind", `{"breakers":{"default":{"window":"sliding"}}}`, []string{"breakers.default.window"}},
		{"named breaker field", `{"breakers":{"named":{"validator":{"half_open_successes":3}}}}`, []string{"breakers.named.validator.half_open_successes"}},
		{"named breaker bad duration", `{"breakers":{"named":{"v":{"open_timeout":"soon"}}}}`, []string{"breakers.named.v.open_timeout"}},
		{"empty breaker name", `{"breakers":{"named":{"":{}}}}`, []string{`breakers.named[""]`}},
		{"breaker name with a dot", `{"breakers":{"named":{"a.b":{"buckets":-1,"window":"time"}}}}`, []string{`breakers.named["a.b"].buckets`}},
		{"named breakers not an object", `{"breakers":{"named":[]}}`, []string{"breakers.named"}},
		{"critical above degraded", `{"health":{"critical_threshold":0.9}}`, []string{"health.critical_threshold"}},
		{"negative weight", `{"health":{"weights":{"payments":-1}}}`, []string{"health.weights.payments"}},
		{"zero weight under an odd name", `{"health":{"weights":{"a b":0}}}`, []string{`health.weights["a b"]`}},
		{"weight as a string", `{"health":{"weights":{"x":"heavy"}}}`, []string{"health.weights.x"}},
		{"fractional count", `{"health":{"max_history":1.5}}`, []string{"health.max_history"}},
		{"boolean as a string", `{"health":{"disabled":"yes"}}`, []string{"health.disabled"}},
		{"negative max_concurrent", `{"recovery":{"max_concurrent":-1}}`, []string{"recovery.max_concurrent"}},
		{"default policy multiplier", `{"recovery":{"default_policy":{"backoff_multiplier":0.5}}}`, []string{"recovery.default_policy.backoff_multiplier"}},
		{"service policy delay", `{"recovery":{"policies":{"validator":{"initial_delay":"-1s"}}}}`, []string{"recovery.policies.validator.initial_delay"}},
		{"service policy strategy", `{"recovery":{"policies":{"validator":{"strategy":"yolo"}}}}`, []string{"recovery.policies.validator.strategy"}},
		{"empty service name", `{"recovery":{"policies":{"":{}}}}`, []string{`recovery.policies[""]`}},
		{"chaos duration above the cap", `{"chaos":{"max_duration":"10m"}}`, []string{"chaos.max_duration"}},
		{"negative memory cap", `{"chaos":{"memory_cap_bytes":"-1MiB"}}`, []string{"chaos.memory_cap_bytes"}},
		{"memory cap without a number", `{"chaos":{"memory_cap_bytes":"lots"}}`, []string{"chaos.memory_cap_bytes"}},
		{"negative disk bound", `{"chaos":{"disk_io":{"max_bytes":-1}}}`, []string{"chaos.disk_io.max_bytes"}},
		{"stop check too slow", `{"chaos":{"stop_check_interval":"1s"}}`, []string{"chaos.stop_check_interval"}},
		{"negative seed", `{"chaos":{"seed":-1}}`, []string{"chaos.seed"}},
		{"unknown sink scheme", `{"metering":{"sink":"s3://bucket/usage"}}`, []string{"metering.sink"}},
		{"file sink without a path", `{"metering":{"sink":"file:"}}`, []string{"metering.sink"}},
		{"file sink on another host", `{"metering":{"sink":"file://elsewhere/usage.jsonl"}}`, []string{"metering.sink"}},
		{"redis sink with a bad port", `{"metering":{"sink":"redis://127.0.0.1:port/0"}}`, []string{"metering.sink"}},
		{"redis sink with a bad database", `{"metering":{"sink":"redis://127.0.0.1:6379/zero"}}`, []string{"metering.sink"}},
		{"negative batch size", `{"metering":{"batch_size":-1}}`, []string{"metering.batch_size"}},
		{"retry multiplier below 1", `{"metering":{"retry":{"multiplier":0.5}}}`, []string{"metering.retry.multiplier"}},
		{"redis batch ttl too short", `{"metering":{"redis":{"batch_ttl":"1us"}}}`, []string{"metering.redis.batch_ttl"}},
		{"negative file count", `{"metering":{"file":{"max_files":-1}}}`, []string{"metering.file.max_files"}},
		{"negative close timeout", `{"metering":{"close_timeout":"-1s"}}`, []string{"metering.close_timeout"}},
		{"negative memory windows", `{"metering":{"memory":{"max_windows":-1}}}`, []string{"metering.memory.max_windows"}},
		{"negative mailbox", `{"bus":{"mailbox_size":-1}}`, []string{"bus.mailbox_size"}},
		{"negative publish timeout", `{"bus":{"publish_timeout":"-1s"}}`, []string{"bus.publish_timeout"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := system.Parse([]byte(tt.doc))
			if err == nil {
				t.Fatalf("Parse(%s) succeeded", tt.doc)
			}
			if f != nil {
				t.Errorf("Parse returned a File with its error")
			}
			if !errors.Is(err, antifragile.ErrInvalid) {
				t.Errorf("errors.Is(err, ErrInvalid) = false for %v", err)
			}
			if got := fields(t, err); !slices.Equal(got, tt.want) {
				t.Errorf("problems at %q, want %q\n%v", got, tt.want, err)
			}
		})
	}
}

func TestParse_ReportsEveryProblem(t *testing.T) {
	doc := `{
  "ops": {"listen": "nowhere", "shutdown_timeout": 5, "colour": "blue"},
  "breakers": {
    "default": {"failure_rate": 2},
    "named": {"validator": {"minimum_calls": -1}}
  },
  "health": {"hysteresis": 0.9, "weights": {"payments": 0}},
  "recovery": {
    "default_policy": {"strategy": "bogus"},
    "policies": {"validator": {"jitter": 2, "max_delay": "1ms"}}
  },
  "chaos": {"max_duration": "1h", "memory_cap_bytes": -5},
  "metering": {"sink": "ftp://usage", "batch_size": -1},
  "bus": {"mailbox_size": -3}
}`
	_, err := system.Parse([]byte(doc))
	want := []string{
		// problems of form, in document order
		"ops.shutdown_timeout",
		"ops.colour",
		"recovery.default_policy.strategy",
		// invalid values, section by section
		"ops.listen",
		"breakers.default.failure_rate",
		"breakers.named.validator.failure_rate", // inherited from default
		"breakers.named.validator.minimum_calls",
		"health.hysteresis",
		"health.weights.payments",
		"recovery.policies.validator.max_delay",
		"recovery.policies.validator.jitter",
		"chaos.max_duration",
		"chaos.memory_cap_bytes",
		"metering.batch_size",
		"metering.sink",
		"bus.mailbox_size",
	}
	if got := fields(t, err); !slices.Equal(got, want) {
		t.Fatalf("problems at\n%q\nwant\n%q\nerror:\n%v", got, want, err)
	}
	for _, p := range problems(t, err) {
		if !strings.Contains(err.Error(), "invalid "+p.Field) {
			t.Errorf("the error text does not name %s", p.Field)
		}
	}
}

func TestParse(t *testing.T) {
	t.Run("empty object gives the defaults", func(t *testing.T) {
		f, err := system.Parse([]byte(" {} \n"))
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(f, system.Default()) {
			t.Fatalf("Parse({}) = %+v, want Default()", f)
		}
	})
	t.Run("absent and null fields keep their defaults", func(t *testing.T) {
		f, err := system.Parse([]byte(`{"ops":{"listen":null,"token":"t0k3n-long-enough"},"metering":{}}`))
		if err != nil {
			t.Fatal(err)
		}
		if f.Ops.Listen != system.DefaultListen || f.Ops.TokenEnv != system.DefaultTokenEnv || f.Metering.Sink != "memory" {
			t.Fatalf("defaults lost: %+v %+v", f.Ops, f.Metering)
		}
		if f.Ops.Token != "t0k3n-long-enough" {
			t.Fatalf("token = %q", f.Ops.Token)
		}
	})
	t.Run("decodes every section", func(t *testing.T) {
		f, err := system.Parse([]byte(fullDoc))
		if err != nil {
			t.Fatal(err)
		}
		if f.Ops.Listen != "127.0.0.1:0" || f.Ops.ShutdownTimeout != 3*time.Second ||
			!slices.Equal(f.Ops.ReadyStatuses, []health.Status{health.Healthy}) || f.Ops.MaxBodyBytes != 64<<10 {
			t.Errorf("ops = %+v", f.Ops)
		}
		if f.Health.Weights["payments"] != 3 || f.Health.CheckInterval != 250*time.Millisecond {
			t.Errorf("health = %+v", f.Health)
		}
		if !f.Recovery.Watch || f.Recovery.MaxConcurrent != 2 || f.Recovery.Policies["validator"].Strategy != recovery.LinearBackoff {
			t.Errorf("recovery = %+v", f.Recovery)
		}
		if f.Chaos.Engine.MemoryCap != 128<<20 || !f.Chaos.StopOnCritical || f.Chaos.Engine.Seed != 42 {
			t.Errorf("chaos = %+v", f.Chaos)
		}
		if f.Metering.Sink != "file:/tmp/usage.jsonl" || f.Metering.Meter.BatchSize != 10 || f.Metering.File.MaxBytes != 1<<20 {
			t.Errorf("metering = %+v", f.Metering)
		}
		if f.Bus.MailboxSize != 64 || f.Bus.PublishTimeout != 5*time.Second {
			t.Errorf("bus = %+v", f.Bus)
		}
	})
	t.Run("named breakers start from the default", func(t *testing.T) {
		f, err := system.Parse([]byte(`{"breakers":{
			"default":{"open_timeout":"10s","failure_rate":0.5,"minimum_calls":20},
			"named":{"validator":{"failure_rate":0,"buckets":4},"ledger":{}}}}`))
		if err != nil {
			t.Fatal(err)
		}
		v := f.Breakers.Named["validator"]
		if v.OpenTimeout != 10*time.Second || v.MinimumCalls != 20 || v.Buckets != 4 {
			t.Errorf("validator = %+v: want inherited open_timeout and minimum_calls, own buckets", v)
		}
		if v.FailureRate != 0 {
			t.Errorf("validator failure_rate = %v: an explicit 0 must override the default", v.FailureRate)
		}
		if !reflect.DeepEqual(f.Breakers.Named["ledger"], f.Breakers.Default) {
			t.Errorf("an empty entry must equal the default")
		}
		if c := f.BreakerConfig("validator"); c.Name != "validator" || c.Buckets != 4 {
			t.Errorf("BreakerConfig(validator) = %+v", c)
		}
		if c := f.BreakerConfig("other"); c.Name != "other" || c.OpenTimeout != 10*time.Second || c.Buckets != 0 {
			t.Errorf("BreakerConfig(other) = %+v, want the default", c)
		}
	})
	t.Run("service policies start from the default policy", func(t *testing.T) {
		f, err := system.Parse([]byte(`{"recovery":{
			"default_policy":{"max_retry_attempts":3,"initial_delay":"2s"},
			"policies":{"validator":{"max_delay":"20s"}}}}`))
		if err != nil {
			t.Fatal(err)
		}
		p := f.Recovery.Policies["validator"]
		if p.MaxRetryAttempts != 3 || p.InitialDelay != 2*time.Second || p.MaxDelay != 20*time.Second {
			t.Errorf("validator policy = %+v", p)
		}
	})
	t.Run("malformed JSON names the line and column", func(t *testing.T) {
		_, err := system.Parse([]byte("{\n  \"ops\": {,}\n}"))
		if err == nil || !strings.Contains(err.Error(), "line 2, column 11") {
			t.Fatalf("err = %v, want line 2, column 11", err)
		}
	})
	t.Run("refuses documents that are not objects", func(t *testing.T) {
		for _, doc := range []string{``, `  `, `[]`, `"ops"`, `null`, `42`, `{} {}`} {
			if f, err := system.Parse([]byte(doc)); err == nil {
				t.Errorf("Parse(%q) = %+v, want an error", doc, f)
			}
		}
	})
	t.Run("refuses huge documents", func(t *testing.T) {
		doc := `{"ops":{"token":"` + strings.Repeat("a", 17<<20) + `"}}`
		if _, err := system.Parse([]byte(doc)); err == nil {
			t.Fatal("Parse accepted a 17 MiB document")
		}
	})
	t.Run("a wrong hash is a hash mismatch too", func(t *testing.T) {
		_, err := system.Parse([]byte(`{"constitutional_hash":"deadbeef"}`))
		if !errors.Is(err, antifragile.ErrHashMismatch) {
			t.Fatalf("err = %v, want ErrHashMismatch", err)
		}
	})
	t.Run("the right hash is accepted", func(t *testing.T) {
		if _, err := system.Parse([]byte(`{"constitutional_hash":"` + antifragile.ConstitutionalHash + `"}`)); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("errors never echo the token or a redis password", func(t *testing.T) {
		_, err := system.Parse([]byte(`{"ops":{"token":"s3cr3t tok"},"metering":{"sink":"redis://u:hunter2@h:bad/0"}}`))
		if err == nil {
			t.Fatal("no error")
		}
		if msg := err.Error(); strings.Contains(msg, "s3cr3t") || strings.Contains(msg, "hunter2") {
			t.Fatalf("error leaks a secret: %v", msg)
		}
	})
}

const fullDoc = `{
  "constitutional_hash": "cdd01ef066bc6cf2",
  "ops": {"listen": "127.0.0.1:0", "token": "t-long-enough-token", "ready_statuses": ["healthy"], "max_body_bytes": "64KiB",
          "read_header_timeout": "5s", "idle_timeout": "1m", "shutdown_timeout": "3s"},
  "breakers": {"default": {"consecutive_failures": 3, "open_timeout": "5s"},
               "named": {"validator": {"window": "time", "window_duration": "10s", "buckets": 5, "failure_rate": 0.5}}},
  "health": {"check_interval": "250ms", "degraded_threshold": 0.8, "critical_threshold": 0.4, "weights": {"payments": 3}},
  "recovery": {"max_concurrent": 2, "watch": true, "max_restarts": 3, "restart_window": "1m",
               "default_policy": {"initial_delay": "100ms", "max_delay": "2s", "jitter": 0.1},
               "policies": {"validator": {"strategy": "linear_backoff", "priority": 1}}},
  "chaos": {"seed": 42, "max_duration": "2m", "memory_cap_bytes": "128MiB", "disk_io": {"dir": "/tmp", "max_bytes": "1MiB"},
            "network_bandwidth": "1MB", "stop_check_interval": "50ms", "stop_on_critical": true},
  "metering": {"sink": "file:/tmp/usage.jsonl", "batch_size": 10, "flush_interval": "100ms", "max_queue_size": 1000,
               "aggregation_interval": "1m", "close_timeout": "5s", "retry": {"initial": "10ms", "max": "1s", "max_attempts": 5},
               "memory": {"max_windows": 60}, "file": {"max_bytes": "1MiB", "max_files": 2},
               "redis": {"stream": "s", "key_prefix": "p:", "max_len": 100, "batch_ttl": "1h"}},
  "bus": {"mailbox_size": 64, "publish_timeout": "5s"}
}`

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	t.Run("reads and parses a file", func(t *testing.T) {
		path := filepath.Join(dir, "ok.json")
		if err := os.WriteFile(path, []byte(fullDoc), 0o600); err != nil {
			t.Fatal(err)
		}
		f, err := system.Load(path)
		if err != nil {
			t.Fatal(err)
		}
		if f.Bus.MailboxSize != 64 {
			t.Fatalf("mailbox_size = %d", f.Bus.MailboxSize)
		}
	})
	t.Run("a missing file is fs.ErrNotExist", func(t *testing.T) {
		if _, err := system.Load(filepath.Join(dir, "missing.json")); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("problems name the file and every field", func(t *testing.T) {
		path := filepath.Join(dir, "bad.json")
		if err := os.WriteFile(path, []byte(`{"bus":{"mailbox_size":-1},"ops":{"listen":"x"}}`), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := system.Load(path)
		if err == nil || !strings.Contains(err.Error(), path) {
			t.Fatalf("err = %v, want it to name %s", err, path)
		}
		var ve *system.ValidationError
		if !errors.As(err, &ve) || !strings.Contains(err.Error(), "ops.listen") || !strings.Contains(err.Error(), "bus.mailbox_size") {
			t.Fatalf("err = %v", err)
		}
	})
}

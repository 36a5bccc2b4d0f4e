package natssink_test

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/metering/natssink"
)

func TestConfig_Validate(t *testing.T) {
	t.Run("the zero config is valid", func(t *testing.T) {
		if err := (natssink.Config{}).Validate(); err != nil {
			t.Fatal(err)
		}
	})
	for _, tc := range []struct {
		name  string
		cfg   natssink.Config
		field string
	}{
		{"a stream name with a dot", natssink.Config{Stream: "a.b"}, "stream"},
		{"a bucket name too long", natssink.Config{Bucket: string(make([]byte, 65))}, "bucket"},
		{"a subject with a wildcard", natssink.Config{Subject: "a.*"}, "subject"},
		{"a subject with an empty token", natssink.Config{Subject: "a..b"}, "subject"},
		{"a subject with a space", natssink.Config{Subject: "a b"}, "subject"},
		{"a duplicate window below 1s", natssink.Config{DuplicateWindow: time.Millisecond}, "duplicate_window"},
		{"a duplicate window above max age", natssink.Config{DuplicateWindow: 2 * time.Hour, MaxAge: time.Hour, BatchTTL: 3 * time.Hour}, "duplicate_window"},
		{"a max age below a minute", natssink.Config{MaxAge: time.Second}, "max_age"},
		{"max bytes below 1 MiB", natssink.Config{MaxBytes: 10}, "max_bytes"},
		{"six replicas", natssink.Config{Replicas: 6}, "replicas"},
		{"negative replicas", natssink.Config{Replicas: -1}, "replicas"},
		{"a batch TTL below the duplicate window", natssink.Config{BatchTTL: time.Minute}, "batch_ttl"},
		{"a timeout above a minute", natssink.Config{Timeout: time.Hour}, "timeout"},
		{"a fold interval below 10ms", natssink.Config{FoldInterval: time.Millisecond}, "fold_interval"},
	} {
		t.Run("refuses "+tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			var ve *natssink.ValidationError
			if !errors.As(err, &ve) || !errors.Is(err, antifragile.ErrInvalid) {
				t.Fatalf("Validate = %v, want a *ValidationError", err)
			}
			if f := antifragile.InvalidFields(err); !slices.Contains(f, tc.field) {
				t.Fatalf("fields %v, want %s", f, tc.field)
			}
			if s, err := natssink.New(tc.cfg); s != nil || err == nil {
				t.Fatalf("New = %v, %v", s, err)
			}
		})
	}
	t.Run("no limits when negative", func(t *testing.T) {
		if err := (natssink.Config{MaxAge: -1, MaxBytes: -1}).Validate(); err != nil {
			t.Fatal(err)
		}
	})
}

func TestConfig_JSON(t *testing.T) {
	in := natssink.Config{URL: "nats://x:1", Stream: "S", DuplicateWindow: 90 * time.Second, MaxAge: time.Hour, Replicas: 3}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var out natssink.Config
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if out.URL != in.URL || out.Stream != in.Stream || out.DuplicateWindow != in.DuplicateWindow || out.MaxAge != in.MaxAge || out.Replicas != 3 {
		t.Fatalf("round trip of %s = %+v", b, out)
	}
	err = json.Unmarshal([]byte(`{"stream":"S","dup_window":"1s"}`), &out)
	if err == nil {
		t.Fatal("an unknown field was accepted")
	}
}

package metering_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/metering"
)

func sampleEvents(n int) []metering.Event {
	base := time.Date(2026, 2, 3, 4, 5, 6, 7_000_000, time.UTC)
	ev := make([]metering.Event, n)
	for i := range ev {
		ev[i] = metering.Event{
			ID: fmt.Sprintf("e-%d", i), Tenant: "acme", Operation: metering.OpAgentMessage, Tier: metering.TierStandard,
			Agent: "a", Tokens: int64(i), Latency: time.Duration(i) * time.Microsecond, Compliance: 1,
			Time: base.Add(time.Duration(i) * time.Millisecond), ConstitutionalHash: antifragile.ConstitutionalHash,
		}
	}
	return ev
}

func TestFileSink(t *testing.T) {
	t.Run("appends batches that ReadFile returns", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "events.jsonl")
		s, err := metering.NewFileSink(metering.FileConfig{Path: path})
		if err != nil {
			t.Fatal(err)
		}
		ev := sampleEvents(5)
		ev[2].Metadata = map[string]any{"k": "v"}
		if err := s.Write(context.Background(), ev[:2]); err != nil {
			t.Fatal(err)
		}
		if err := s.Write(context.Background(), ev[2:]); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		got, err := metering.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, ev) {
			t.Fatalf("ReadFile =\n%+v\nwant\n%+v", got, ev)
		}
	})
	t.Run("appends to an existing file", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "events.jsonl")
		for i := range 2 {
			s, err := metering.NewFileSink(metering.FileConfig{Path: path})
			if err != nil {
				t.Fatal(err)
			}
			_ = s.Write(context.Background(), sampleEvents(3)[i:i+1])
			_ = s.Close(context.Background())
		}
		if got, _ := metering.ReadFile(path); len(got) != 2 {
			t.Fatalf("%d events, want 2", len(got))
		}
	})
	t.Run("rotates by size and keeps MaxFiles", func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, "events.jsonl")
		s, err := metering.NewFileSink(metering.FileConfig{Path: path, MaxBytes: 1000, MaxFiles: 2})
		if err != nil {
			t.Fatal(err)
		}
		ev := sampleEvents(40)
		for i := range 20 {
			if err := s.Write(context.Background(), ev[2*i:2*i+2]); err != nil {
				t.Fatal(err)
			}
		}
		_ = s.Close(context.Background())
		entries, _ := os.ReadDir(dir)
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		if want := []string{"events.jsonl", "events.jsonl.1", "events.jsonl.2"}; !reflect.DeepEqual(names, want) {
			t.Fatalf("files = %v, want %v", names, want)
		}
		var all []metering.Event
		for _, p := range []string{path + ".2", path + ".1", path} {
			st, _ := os.Stat(p)
			if st.Size() > 1000 {
				t.Errorf("%s is %d bytes, over MaxBytes", p, st.Size())
			}
			got, err := metering.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, got...)
		}
		if len(all) == 0 || !reflect.DeepEqual(all, ev[40-len(all):]) {
			t.Fatalf("kept files hold %d events, not the newest in order", len(all))
		}
	})
	t.Run("refuses writes after Close", func(t *testing.T) {
		s, err := metering.NewFileSink(metering.FileConfig{Path: filepath.Join(t.TempDir(), "x")})
		if err != nil {
			t.Fatal(err)
		}
		_ = s.Close(context.Background())
		if err := s.Close(context.Background()); err != nil {
			t.Fatalf("second Close = %v", err)
		}
		if err := s.Write(context.Background(), sampleEvents(1)); !errors.Is(err, metering.ErrSinkClosed) {
			t.Fatalf("Write after Close = %v", err)
		}
	})
	t.Run("refuses a bad config", func(t *testing.T) {
		for _, cfg := range []metering.FileConfig{{}, {Path: "x", MaxFiles: -1}} {
			if _, err := metering.NewFileSink(cfg); !errors.Is(err, antifragile.ErrInvalid) {
				t.Errorf("NewFileSink(%+v) = %v, want ErrInvalid", cfg, err)
			}
		}
		if _, err := metering.NewFileSink(metering.FileConfig{Path: filepath.Join(t.TempDir(), "no", "dir")}); err == nil {
			t.Error("NewFileSink in a missing directory succeeded")
		}
	})
	t.Run("serves as a meter's sink", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "events.jsonl")
		s, err := metering.NewFileSink(metering.FileConfig{Path: path})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close(context.Background())
		m := newMeter(t, metering.Config{Sink: s})
		for range 250 {
			m.Record(metering.Event{Operation: metering.OpAuditWrite})
		}
		if err := m.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		if got, err := metering.ReadFile(path); err != nil || len(got) != 250 {
			t.Fatalf("ReadFile: %d events, %v", len(got), err)
		}
	})
}

func TestReadFile(t *testing.T) {
	var good strings.Builder
	for _, e := range sampleEvents(3) {
		b, _ := e.MarshalJSON()
		good.Write(b)
		good.WriteByte('\n')
	}
	tests := []struct {
		name    string
		content string
		want    int
		torn    bool
		wantErr string
	}{
		{"reads complete lines", good.String(), 3, false, ""},
		{"skips a torn last line", good.String() + `{"id":"e-3","tenant_id":"ac`, 3, true, ""},
		{"keeps a complete last line without newline", strings.TrimSuffix(good.String(), "\n"), 3, false, ""},
		{"skips blank lines", "\n" + good.String() + "\n\n", 3, false, ""},
		{"refuses a corrupt line in the middle", `{"id":` + "\n" + good.String(), 0, false, "line 1"},
		{"reads an empty file", "", 0, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "f.jsonl")
			if err := os.WriteFile(path, []byte(tt.content), 0o644); err != nil {
				t.Fatal(err)
			}
			got, err := metering.ReadFile(path)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one mentioning %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || len(got) != tt.want {
				t.Fatalf("got %d events, %v; want %d", len(got), err, tt.want)
			}
			r := metering.NewReader(strings.NewReader(tt.content))
			for {
				if _, err := r.Next(); err != nil {
					break
				}
			}
			if r.Torn() != tt.torn {
				t.Fatalf("Torn = %v, want %v", r.Torn(), tt.torn)
			}
		})
	}
	t.Run("reports a missing file", func(t *testing.T) {
		if _, err := metering.ReadFile(filepath.Join(t.TempDir(), "none")); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("err = %v", err)
		}
	})
}

func FuzzReader(f *testing.F) {
	var good strings.Builder
	for _, e := range sampleEvents(2) {
		b, _ := e.MarshalJSON()
		good.Write(b)
		good.WriteByte('\n')
	}
	f.Add([]byte(good.String()))
	f.Add([]byte(good.String() + `{"id":"torn`))
	f.Add([]byte("\n\n{}\n{}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := metering.NewReader(strings.NewReader(string(data)))
		for range len(data) + 1 {
			e, err := r.Next()
			if err != nil {
				if err == io.EOF && r.Torn() && len(data) > 0 && data[len(data)-1] == '\n' {
					t.Fatal("Torn reported for input ending in a newline")
				}
				return
			}
			if _, err := json.Marshal(e); err != nil {
				t.Fatalf("decoded event does not encode: %v", err)
			}
		}
		t.Fatal("Reader returned more events than lines")
	})
}

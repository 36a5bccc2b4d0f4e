package system_test

import (
	"strings"
	"testing"

	"github.com/antifragile-go/antifragile/system"
)

func TestParseSink(t *testing.T) {
	tests := []struct {
		in      string
		kind    system.SinkKind
		path    string
		addr    string
		db      int
		wantErr string
	}{
		{in: "", kind: system.SinkMemory},
		{in: "memory", kind: system.SinkMemory},
		{in: "file:/var/lib/usage.jsonl", kind: system.SinkFile, path: "/var/lib/usage.jsonl"},
		{in: "file:///var/lib/usage.jsonl", kind: system.SinkFile, path: "/var/lib/usage.jsonl"},
		{in: "file://localhost/u.jsonl", kind: system.SinkFile, path: "/u.jsonl"},
		{in: "file:usage.jsonl", kind: system.SinkFile, path: "usage.jsonl"},
		{in: "redis://127.0.0.1:6380/2", kind: system.SinkRedis, addr: "127.0.0.1:6380", db: 2},
		{in: "redis://localhost", kind: system.SinkRedis, addr: "localhost:6379"},
		{in: "rediss://u:p@cache.example:6379/0", kind: system.SinkRedis, addr: "cache.example:6379"},
		{in: "Memory", wantErr: "must be"},
		{in: "s3://bucket", wantErr: "unknown scheme"},
		{in: "file:", wantErr: "no path"},
		{in: "file://remote/x", wantErr: "host"},
		{in: "file:/x?max=1", wantErr: "query"},
		{in: "redis://h:6379/db", wantErr: "Redis URL"},
		{in: "nats://127.0.0.1:4222", kind: system.SinkNATS},
		{in: "nats://u:p@a.example:4222,nats://b.example:4222", kind: system.SinkNATS},
		{in: "nats://127.0.0.1", wantErr: "no host and port"},
		{in: "nats://127.0.0.1:4222/x", wantErr: "path"},
		{in: "nats://127.0.0.1:4222?x=1", wantErr: "query"},
		{in: "nats://a:1,redis://b:2", wantErr: "want nats://"},
		{in: "nats://u:hunter2@h:1/p", wantErr: "xxxxx"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			st, err := system.ParseSink(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseSink(%q) = %+v, %v; want an error containing %q", tt.in, st, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if st.Kind != tt.kind || st.Path != tt.path {
				t.Fatalf("ParseSink(%q) = %+v", tt.in, st)
			}
			if tt.kind == system.SinkNATS && st.NATS != tt.in {
				t.Fatalf("nats URL = %q", st.NATS)
			}
			if tt.kind == system.SinkRedis && (st.Redis == nil || st.Redis.Addr != tt.addr || st.Redis.DB != tt.db) {
				t.Fatalf("redis options = %+v", st.Redis)
			}
		})
	}
}

func TestRedactSink(t *testing.T) {
	tests := map[string]string{
		"memory":                                "memory",
		"file:/x.jsonl":                         "file:/x.jsonl",
		"redis://h:6379/0":                      "redis://h:6379/0",
		"redis://u:hunter2@h:6379/0":            "redis://u:xxxxx@h:6379/0",
		"redis://u:hunter2@h:bad/0":             "redis://u:xxxxx@h:bad/0",
		"redis://:hunter2@h:6379":               "redis://:xxxxx@h:6379",
		"nats://u:hunter2@a:1,nats://v:pw2@b:2": "nats://u:xxxxx@a:1,nats://v:xxxxx@b:2",
	}
	for in, want := range tests {
		if got := system.RedactSink(in); got != want {
			t.Errorf("RedactSink(%q) = %q, want %q", in, got, want)
		}
	}
}

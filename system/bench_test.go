package system_test

import (
	"testing"

	"github.com/antifragile-go/antifragile/system"
)

func BenchmarkParse(b *testing.B) {
	doc := []byte(fullDoc)
	b.ReportAllocs()
	b.SetBytes(int64(len(doc)))
	for b.Loop() {
		if _, err := system.Parse(doc); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParse_parallel(b *testing.B) {
	doc := []byte(fullDoc)
	b.ReportAllocs()
	b.SetBytes(int64(len(doc)))
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := system.Parse(doc); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkParse_problems(b *testing.B) {
	doc := []byte(`{"ops":{"listen":"x","lisen":1},"health":{"hysteresis":2},"metering":{"sink":"ftp://x"}}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := system.Parse(doc); err == nil {
			b.Fatal("no error")
		}
	}
}

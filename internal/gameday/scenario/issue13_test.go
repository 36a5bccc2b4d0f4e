package scenario_test

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/internal/gameday/scenario"
)

// countingReader counts the bytes read from it.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

func TestIssue13_OversizedScenarioFileIsTooLarge(t *testing.T) {
	// A valid scenario padded with whitespace past the limit: the old
	// reader cut it at 4 MiB and reported a JSON syntax error instead.
	valid := `{"name":"x","phases":[{"name":"a","duration":"1s"}]}`
	big := valid + strings.Repeat(" ", scenario.MaxFileSize)
	src := &countingReader{r: io.MultiReader(strings.NewReader(big), bytes.NewReader(make([]byte, 8<<20)))}
	_, err := scenario.ParseReader(src)
	if !errors.Is(err, antifragile.ErrTooLarge) {
		t.Fatalf("ParseReader(%d bytes) = %v, want an error matching antifragile.ErrTooLarge", len(big), err)
	}
	if !strings.Contains(err.Error(), "4 MiB") {
		t.Errorf("error %q does not name the limit", err)
	}
	if src.n > scenario.MaxFileSize+1 {
		t.Errorf("read %d bytes, want at most the limit + 1 (%d)", src.n, scenario.MaxFileSize+1)
	}
	if _, err := scenario.Parse([]byte(big)); !errors.Is(err, antifragile.ErrTooLarge) {
		t.Errorf("Parse(%d bytes) = %v, want ErrTooLarge", len(big), err)
	}

	// At the limit exactly, it parses.
	exact := valid + strings.Repeat(" ", scenario.MaxFileSize-len(valid))
	if _, err := scenario.ParseReader(strings.NewReader(exact)); err != nil {
		t.Errorf("ParseReader(exactly %d bytes) = %v, want success", len(exact), err)
	}
}

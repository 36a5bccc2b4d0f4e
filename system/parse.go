package system

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/internal/codec"
)

// Parse decodes and validates a JSON config document. Fields absent from
// data keep their Default values; each entry of breakers.named starts as a
// copy of breakers.default, and each entry of recovery.policies as a copy of
// recovery.default_policy, before its own fields apply.
//
// Parse reports every problem it finds, not just the first: the returned
// error is an errors.Join of *ValidationError values whose Field is the JSON
// path of the problem ("ops.listen", "recovery.policies.validator.jitter",
// `health.weights["a.b"]`) — unknown and duplicated fields, keys in the wrong
// case, values of the wrong type, then invalid values as each package's
// Validate sees them. Malformed JSON and invalid UTF-8 are a single error
// giving the line and column. On any error the *Config is nil.
func Parse(data []byte) (*Config, error) {
	if len(data) > codec.MaxDocument {
		return nil, fmt.Errorf("config file %w: %d bytes exceeds the %d byte limit", codec.ErrTooLarge, len(data), codec.MaxDocument)
	}
	if trimmed := bytes.TrimSpace(data); len(trimmed) == 0 || trimmed[0] != '{' {
		if err := codec.Decode(data, new(map[string]any)); err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
		return nil, fmt.Errorf("config: the document must be a JSON object, not %s", codec.Kind(trimmed))
	}
	c := Default()
	var errs []error
	if err := codec.Decode(data, c); err != nil {
		if !isValidation(err) {
			return nil, fmt.Errorf("config: %w", err)
		}
		errs = append(errs, antifragile.Leaves(err)...)
	}
	if err := c.Validate(); err != nil {
		errs = append(errs, antifragile.Leaves(err)...)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return c, nil
}

// isValidation reports whether err joins only *ValidationErrors.
func isValidation(err error) bool {
	for _, e := range antifragile.Leaves(err) {
		var ve *ValidationError
		if !errors.As(e, &ve) {
			return false
		}
	}
	return true
}

// Load reads and parses the file at path: YAML (see ParseYAML) when its
// name ends in .yaml or .yml, JSON (see Parse) otherwise. Errors name the
// path.
func Load(path string) (*Config, error) {
	data, err := readBounded(path)
	if err != nil {
		return nil, err
	}
	parse := Parse
	if ext := strings.ToLower(filepath.Ext(path)); ext == ".yaml" || ext == ".yml" {
		parse = ParseYAML
	}
	c, err := parse(data)
	if err != nil {
		return nil, fmt.Errorf("config %s:\n%w", path, err)
	}
	return c, nil
}

// readBounded reads the file at path, refusing one over codec.MaxDocument
// bytes without reading the rest.
func readBounded(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, codec.MaxDocument+1))
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if len(data) > codec.MaxDocument {
		return nil, fmt.Errorf("config %s: file %w: more than %d bytes", path, antifragile.ErrTooLarge, codec.MaxDocument)
	}
	return data, nil
}

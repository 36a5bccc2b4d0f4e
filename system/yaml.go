package system

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/internal/codec"
	"go.yaml.in/yaml/v3"
)

// MaxYAMLDepth bounds the nesting of a YAML config document (a config is a
// few levels deep; the bound keeps a hostile document from recursing far).
const MaxYAMLDepth = 32

// ParseYAML decodes and validates a YAML config document: the same schema
// as Parse's JSON, with the same field names, the same defaults and the
// same problems reported at the same paths, each followed by the line of
// the YAML it comes from ("invalid recovery.policies.validator.jitter 2:
// must be within [0, 1] (line 14)"). Durations are strings ("250ms"), as in
// JSON; a bare number where a duration belongs is an error naming the unit
// it lacks.
//
// YAML that JSON cannot say is refused, naming the line: more than one
// document, anchors and aliases, tags other than the core schema's,
// mapping keys that are not strings, and duplicated keys. On any error the
// *Config is nil.
func ParseYAML(data []byte) (*Config, error) {
	if len(data) > codec.MaxDocument {
		return nil, fmt.Errorf("config file %w: %d bytes exceeds the %d byte limit", antifragile.ErrTooLarge, len(data), codec.MaxDocument)
	}
	doc, err := yamlDocument(data)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	lines := map[string]int{}
	if err := yamlToJSON(&b, doc, "", 0, lines); err != nil {
		return nil, err
	}
	c, err := Parse(b.Bytes())
	if err != nil {
		return nil, withLines(err, lines)
	}
	return c, nil
}

// yamlDocument returns the root node of the one document in data.
func yamlDocument(data []byte) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
		return nil, errors.New("config: the YAML document is empty")
	} else if err != nil {
		return nil, fmt.Errorf("config: not valid YAML: %w", err)
	}
	var next yaml.Node
	if err := dec.Decode(&next); err == nil {
		return nil, fmt.Errorf("config: line %d: a config file holds one YAML document", next.Line)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		return nil, errors.New("config: the YAML document is empty")
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("config: line %d: the document must be a mapping", root.Line)
	}
	return root, nil
}

// yamlToJSON writes n as JSON to b, recording in lines the YAML line of
// every value by its JSON path (the paths Decode reports).
func yamlToJSON(b *bytes.Buffer, n *yaml.Node, path string, depth int, lines map[string]int) error {
	if depth > MaxYAMLDepth {
		return fmt.Errorf("config: line %d: nested more than %d levels", n.Line, MaxYAMLDepth)
	}
	lines[path] = n.Line
	if n.Anchor != "" || n.Kind == yaml.AliasNode {
		return fmt.Errorf("config: line %d: anchors and aliases are not supported in a config file", n.Line)
	}
	if tag := n.ShortTag(); n.Kind == yaml.MappingNode && tag != "!!map" || n.Kind == yaml.SequenceNode && tag != "!!seq" {
		return fmt.Errorf("config: line %d: the tag %s is not supported", n.Line, tag)
	}
	switch n.Kind {
	case yaml.MappingNode:
		return yamlMapping(b, n, path, depth, lines)
	case yaml.SequenceNode:
		b.WriteByte('[')
		for i, item := range n.Content {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := yamlToJSON(b, item, fmt.Sprintf("%s[%d]", path, i), depth+1, lines); err != nil {
				return err
			}
		}
		b.WriteByte(']')
		return nil
	case yaml.ScalarNode:
		return yamlScalar(b, n)
	}
	return fmt.Errorf("config: line %d: unsupported YAML node", n.Line)
}

// yamlMapping writes the mapping n as a JSON object; keys are strings and
// appear once.
func yamlMapping(b *bytes.Buffer, n *yaml.Node, path string, depth int, lines map[string]int) error {
	seen := make(map[string]int, len(n.Content)/2)
	b.WriteByte('{')
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode || k.ShortTag() != "!!str" {
			return fmt.Errorf("config: line %d: a mapping key must be a string, not %s", k.Line, strings.TrimPrefix(k.ShortTag(), "!!"))
		}
		if first, dup := seen[k.Value]; dup {
			return fmt.Errorf("config: line %d: key %q is already defined at line %d", k.Line, k.Value, first)
		}
		seen[k.Value] = k.Line
		if i > 0 {
			b.WriteByte(',')
		}
		writeJSONString(b, k.Value)
		b.WriteByte(':')
		if err := yamlToJSON(b, v, codec.MapPath(path, k.Value), depth+1, lines); err != nil {
			return err
		}
	}
	b.WriteByte('}')
	return nil
}

// yamlScalar writes the scalar n as the JSON value its core-schema tag
// says: a string, a number, a boolean or null.
func yamlScalar(b *bytes.Buffer, n *yaml.Node) error {
	switch n.ShortTag() {
	case "!!str", "!!binary", "!!timestamp":
		writeJSONString(b, n.Value)
	case "!!bool":
		var v bool
		if err := n.Decode(&v); err != nil {
			return fmt.Errorf("config: line %d: %w", n.Line, err)
		}
		b.WriteString(strconv.FormatBool(v))
	case "!!int":
		var v int64
		if err := n.Decode(&v); err != nil {
			return fmt.Errorf("config: line %d: %q is out of range", n.Line, n.Value)
		}
		b.WriteString(strconv.FormatInt(v, 10))
	case "!!float":
		var v float64
		if err := n.Decode(&v); err != nil || math.IsInf(v, 0) || math.IsNaN(v) {
			return fmt.Errorf("config: line %d: %q is not a finite number", n.Line, n.Value)
		}
		b.WriteString(strconv.FormatFloat(v, 'g', -1, 64))
	case "!!null":
		b.WriteString("null")
	default:
		return fmt.Errorf("config: line %d: the tag %s is not supported", n.Line, n.ShortTag())
	}
	return nil
}

// writeJSONString writes s as a JSON string.
func writeJSONString(b *bytes.Buffer, s string) {
	q, _ := json.Marshal(s) // a string always marshals
	b.Write(q)
}

// withLines adds the YAML line of each validation error's field, or of its
// nearest parent, to err.
func withLines(err error, lines map[string]int) error {
	leaves := antifragile.Leaves(err)
	out := make([]error, 0, len(leaves))
	for _, e := range leaves {
		var ve *ValidationError
		if !errors.As(e, &ve) {
			out = append(out, e)
			continue
		}
		line, ok := lineOf(ve.Field, lines)
		if !ok {
			out = append(out, e)
			continue
		}
		out = append(out, &ValidationError{Field: ve.Field, Value: ve.Value, Err: fmt.Errorf("%w (line %d)", ve.Err, line)})
	}
	return errors.Join(out...)
}

// lineOf returns the line of path, or of its nearest parent that has one.
func lineOf(path string, lines map[string]int) (int, bool) {
	for {
		if l, ok := lines[path]; ok && path != "" {
			return l, true
		}
		i := strings.LastIndexAny(path, ".[")
		if i <= 0 {
			return 0, false
		}
		path = path[:i]
	}
}

package config

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// maxDocument bounds the size of a configuration document.
const maxDocument = 16 << 20

// Parse decodes and validates a JSON configuration document. Fields absent
// from data keep their Default values; each entry of breakers.named starts
// as a copy of breakers.default, and each entry of recovery.policies as a
// copy of recovery.default_policy, before its own fields apply.
//
// Parse reports every problem it finds, not just the first: the returned
// error is an errors.Join of *ValidationError values whose Field is the JSON
// path of the problem ("ops.listen", "recovery.policies.validator.jitter",
// `health.weights["a.b"]`) — unknown and duplicated fields, values of the
// wrong type, and invalid values as each package's Validate sees them.
// Malformed JSON is a single error giving the line and column. On any
// error the *File is nil.
func Parse(data []byte) (*File, error) {
	if len(data) > maxDocument {
		return nil, fmt.Errorf("config: document of %d bytes exceeds the %d byte limit", len(data), maxDocument)
	}
	if err := syntaxCheck(data); err != nil {
		return nil, err
	}
	data = bytes.TrimSpace(data)
	if len(data) == 0 || data[0] != '{' {
		return nil, fmt.Errorf("config: the document must be a JSON object, not %s", jsonKind(data))
	}
	f := Default()
	var errs []error
	decode(data, reflect.ValueOf(f).Elem(), "", &errs)
	inherit(data, f)
	if err := f.Validate(); err != nil {
		errs = append(errs, flatten(err)...)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return f, nil
}

// Load reads and parses the file at path (see Parse). Errors name the path.
func Load(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	f, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("config %s:\n%w", path, err)
	}
	return f, nil
}

// syntaxCheck reports malformed JSON with its line and column.
func syntaxCheck(data []byte) error {
	if json.Valid(data) {
		return nil
	}
	var v any
	err := json.Unmarshal(data, &v)
	var se *json.SyntaxError
	if errors.As(err, &se) {
		line, col := position(data, se.Offset)
		return fmt.Errorf("config: malformed JSON at line %d, column %d: %w", line, col, err)
	}
	if err == nil {
		err = errors.New("invalid JSON")
	}
	return fmt.Errorf("config: malformed JSON: %w", err)
}

// position converts a byte offset into a 1-based line and column.
func position(data []byte, off int64) (line, col int) {
	off = min(max(off, 0), int64(len(data)))
	before := data[:off]
	line = bytes.Count(before, []byte("\n")) + 1
	col = int(off) - (bytes.LastIndexByte(before, '\n') + 1)
	return line, max(col, 1)
}

// inherit re-decodes each breakers.named entry over a copy of
// breakers.default, and each recovery.policies entry over a copy of
// recovery.default_policy, so that an entry overrides only what it sets.
// decode has already reported the entries' problems.
func inherit(data []byte, f *File) {
	var raw struct {
		Breakers struct {
			Named map[string]json.RawMessage `json:"named"`
		} `json:"breakers"`
		Recovery struct {
			Policies map[string]json.RawMessage `json:"policies"`
		} `json:"recovery"`
	}
	if json.Unmarshal(data, &raw) != nil {
		return // decode has reported why
	}
	var ignored []error
	for name, r := range raw.Breakers.Named {
		if _, ok := f.Breakers.Named[name]; ok {
			b := f.Breakers.Default
			decode(r, reflect.ValueOf(&b).Elem(), "", &ignored)
			f.Breakers.Named[name] = b
		}
	}
	for name, r := range raw.Recovery.Policies {
		if _, ok := f.Recovery.Policies[name]; ok {
			p := f.Recovery.DefaultPolicy
			decode(r, reflect.ValueOf(&p).Elem(), "", &ignored)
			f.Recovery.Policies[name] = p
		}
	}
}

var (
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// decode decodes raw into v, which must be settable, appending a
// *ValidationError with its JSON path for each unknown or duplicated field
// and each value of the wrong type; such a value is skipped and the field
// keeps what it held. It descends into structs, maps, slices and pointers;
// every other type (and any type with its own JSON or text decoding) is a
// leaf decoded on its own. null leaves v unchanged.
func decode(raw json.RawMessage, v reflect.Value, path string, errs *[]error) {
	raw = bytes.TrimSpace(raw)
	if string(raw) == "null" {
		return
	}
	t := v.Type()
	pt := reflect.PointerTo(t)
	if pt.Implements(jsonUnmarshaler) || pt.Implements(textUnmarshaler) {
		leaf(raw, v, path, errs)
		return
	}
	switch t.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(t.Elem()))
		}
		decode(raw, v.Elem(), path, errs)
	case reflect.Struct:
		fields := jsonFields(t)
		members(raw, path, errs, func(key string, val json.RawMessage) {
			f, ok := fields[key]
			if !ok {
				*errs = append(*errs, &ValidationError{Field: join(path, key),
					Err: fmt.Errorf("unknown field; known fields here: %s", strings.Join(sortedKeys(fields), ", "))})
				return
			}
			decode(val, v.FieldByIndex(f.Index), join(path, key), errs)
		})
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			leaf(raw, v, path, errs)
			return
		}
		members(raw, path, errs, func(key string, val json.RawMessage) {
			if v.IsNil() {
				v.Set(reflect.MakeMap(t))
			}
			k := reflect.ValueOf(key).Convert(t.Key())
			elem := reflect.New(t.Elem()).Elem()
			if old := v.MapIndex(k); old.IsValid() {
				elem.Set(old)
			}
			n := len(*errs)
			decode(val, elem, mapPath(path, key), errs)
			if len(*errs) > n && elem.Kind() != reflect.Struct {
				return // a bad scalar entry is left out, so it is reported once
			}
			v.SetMapIndex(k, elem)
		})
	case reflect.Slice:
		if raw[0] != '[' {
			*errs = append(*errs, &ValidationError{Field: path, Value: abbrev(raw), Err: fmt.Errorf("must be an array, not %s", jsonKind(raw))})
			return
		}
		var items []json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil {
			*errs = append(*errs, &ValidationError{Field: path, Value: abbrev(raw), Err: err})
			return
		}
		s := reflect.MakeSlice(t, len(items), len(items))
		for i, it := range items {
			decode(it, s.Index(i), path+"["+strconv.Itoa(i)+"]", errs)
		}
		v.Set(s)
	default:
		leaf(raw, v, path, errs)
	}
}

// members calls fn for each member of the JSON object raw, in document
// order, reporting a non-object and duplicated keys.
func members(raw json.RawMessage, path string, errs *[]error, fn func(key string, val json.RawMessage)) {
	if raw[0] != '{' {
		*errs = append(*errs, &ValidationError{Field: path, Value: abbrev(raw), Err: fmt.Errorf("must be an object, not %s", jsonKind(raw))})
		return
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil { // '{'
		*errs = append(*errs, &ValidationError{Field: path, Err: err})
		return
	}
	seen := make(map[string]bool)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			*errs = append(*errs, &ValidationError{Field: path, Err: err})
			return
		}
		key, _ := tok.(string)
		var val json.RawMessage
		if err := dec.Decode(&val); err != nil {
			*errs = append(*errs, &ValidationError{Field: path, Err: err})
			return
		}
		if seen[key] {
			*errs = append(*errs, &ValidationError{Field: join(path, key), Err: errors.New("duplicate field: each field may appear once")})
			continue
		}
		seen[key] = true
		fn(key, val)
	}
}

// leaf decodes raw into a new value of v's type and stores it in v, or
// reports why it cannot.
func leaf(raw json.RawMessage, v reflect.Value, path string, errs *[]error) {
	t := v.Type()
	nv := reflect.New(t)
	err := json.Unmarshal(raw, nv.Interface())
	if err == nil {
		v.Set(nv.Elem())
		return
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		err = errors.New(expect(t) + ", not " + jsonKind(raw))
		if k := t.Kind(); k >= reflect.Int && k <= reflect.Uint64 && !reflect.PointerTo(t).Implements(textUnmarshaler) && jsonKind(raw) == "a number" {
			if isWhole(string(raw)) {
				err = fmt.Errorf("%s within [%s]", expect(t), rangeOf(t))
			} else {
				err = errors.New(expect(t))
			}
		}
	}
	*errs = append(*errs, &ValidationError{Field: path, Value: abbrev(raw), Err: err})
}

// isWhole reports whether a JSON number has no fraction and no exponent.
func isWhole(n string) bool { return !strings.ContainsAny(n, ".eE") }

// rangeOf gives the range of an integer type, as "min, max".
func rangeOf(t reflect.Type) string {
	bits := t.Bits()
	if t.Kind() >= reflect.Uint {
		return "0, " + strconv.FormatUint(1<<bits-1, 10)
	}
	return strconv.FormatInt(-1<<(bits-1), 10) + ", " + strconv.FormatInt(1<<(bits-1)-1, 10)
}

// expect says what a value of type t looks like in JSON.
func expect(t reflect.Type) string {
	if reflect.PointerTo(t).Implements(textUnmarshaler) {
		return "must be a string"
	}
	switch t.Kind() {
	case reflect.Bool:
		return "must be true or false"
	case reflect.String:
		return "must be a string"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "must be a whole number"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "must be a non-negative whole number"
	case reflect.Float32, reflect.Float64:
		return "must be a number"
	default:
		return "has the wrong type"
	}
}

// jsonFields maps the JSON names of t's exported fields to the fields.
func jsonFields(t reflect.Type) map[string]reflect.StructField {
	out := make(map[string]reflect.StructField, t.NumField())
	for f := range t.Fields() {
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = f
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// abbrev returns raw JSON for an error's Value, shortened when long.
func abbrev(raw json.RawMessage) string {
	const limit = 64
	if len(raw) > limit {
		return string(raw[:limit]) + "..."
	}
	return string(raw)
}

// join appends a field name to a path.
func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// mapPath appends a map key to a JSON path: ".key" when the key is made of
// letters, digits, '_' and '-', else `["key"]` (quoted as in Go).
func mapPath(path, key string) string {
	if key != "" && strings.IndexFunc(key, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-')
	}) < 0 {
		return join(path, key)
	}
	return path + "[" + strconv.Quote(key) + "]"
}

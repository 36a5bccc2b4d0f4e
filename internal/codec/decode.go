package codec

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/antifragile-go/antifragile"
)

// MaxDocument bounds the size of a document Decode accepts.
const MaxDocument = 16 << 20

// ErrTooLarge is matched by the error of a document over MaxDocument
// bytes; it is antifragile.ErrTooLarge.
var ErrTooLarge = antifragile.ErrTooLarge

var (
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
	durationType    = reflect.TypeFor[time.Duration]()
)

// Decode decodes the JSON document data into v, a non-nil pointer, strictly:
// keys match field names exactly (case-sensitive), unknown and duplicated
// keys are refused, invalid UTF-8 is refused, and a time.Duration is a
// string such as "250ms" (antifragile.Duration's form). Fields absent from
// data keep the values v already holds, as with encoding/json.
//
// Decode reports every problem it finds, not just the first: the error is an
// errors.Join of *antifragile.ValidationError values whose Field is the JSON
// path of the problem ("ops.listen", `health.weights["a.b"]`,
// "chaos.scenarios[2].delay"). A value of a type with its own UnmarshalJSON
// is decoded by that method; the ValidationErrors it returns have their
// Field prefixed with the value's path, so a type that decodes itself with
// Decode keeps precise paths when nested. Malformed JSON is one error giving
// the line and column; a document over MaxDocument is ErrTooLarge.
func Decode(data []byte, v any) error {
	if len(data) > MaxDocument {
		return fmt.Errorf("document %w: %d bytes exceeds the %d byte limit", ErrTooLarge, len(data), MaxDocument)
	}
	if err := syntaxCheck(data); err != nil {
		return err
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fmt.Errorf("codec: Decode needs a non-nil pointer, not %T", v)
	}
	var errs []error
	decode(data, rv.Elem(), "", &errs)
	return errors.Join(errs...)
}

// syntaxCheck reports malformed JSON with its line and column, and invalid
// UTF-8 (which encoding/json would silently replace).
func syntaxCheck(data []byte) error {
	if !utf8.Valid(data) {
		off := 0
		for off < len(data) {
			r, size := utf8.DecodeRune(data[off:])
			if r == utf8.RuneError && size == 1 {
				break
			}
			off += size
		}
		line, col := position(data, int64(off))
		return fmt.Errorf("invalid UTF-8 at line %d, column %d", line, col)
	}
	if json.Valid(data) {
		return nil
	}
	var v any
	err := json.Unmarshal(data, &v)
	var se *json.SyntaxError
	if errors.As(err, &se) {
		line, col := position(data, se.Offset)
		return fmt.Errorf("malformed JSON at line %d, column %d: %w", line, col, err)
	}
	if err == nil {
		err = errors.New("invalid JSON")
	}
	return fmt.Errorf("malformed JSON: %w", err)
}

// position converts a byte offset into a 1-based line and column.
func position(data []byte, off int64) (line, col int) {
	off = min(max(off, 0), int64(len(data)))
	before := data[:off]
	line = bytes.Count(before, []byte("\n")) + 1
	col = int(off) - (bytes.LastIndexByte(before, '\n') + 1)
	return line, max(col, 1)
}

// decode decodes raw into v, which must be settable, appending a
// *ValidationError with its JSON path for each unknown or duplicated field
// and each value of the wrong type; such a value is skipped and the field
// keeps what it held. It descends into structs, maps, slices and pointers;
// every other type (and any type with its own JSON or text decoding) is a
// leaf. null leaves v unchanged.
func decode(raw json.RawMessage, v reflect.Value, path string, errs *[]error) {
	raw = bytes.TrimSpace(raw)
	if string(raw) == "null" {
		return
	}
	t := v.Type()
	if t == durationType {
		decodeDuration(raw, v, path, errs)
		return
	}
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
		decodeStruct(raw, v, path, errs)
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			leaf(raw, v, path, errs)
			return
		}
		decodeMap(raw, v, path, errs)
	case reflect.Slice:
		decodeSlice(raw, v, path, errs)
	default:
		leaf(raw, v, path, errs)
	}
}

func decodeStruct(raw json.RawMessage, v reflect.Value, path string, errs *[]error) {
	fields, inline := structFields(v.Type())
	var rest map[string]json.RawMessage // members left for the inline field
	var order []string
	members(raw, path, errs, func(key string, val json.RawMessage) {
		if f, ok := fields[key]; ok {
			decode(val, v.FieldByIndex(f.index), join(path, key), errs)
			return
		}
		if inline != nil {
			if rest == nil {
				rest = make(map[string]json.RawMessage)
			}
			rest[key] = val
			order = append(order, key)
			return
		}
		*errs = append(*errs, &antifragile.ValidationError{Field: join(path, key),
			Err: fmt.Errorf("unknown field; known fields here: %s", strings.Join(sortedKeys(fields), ", "))})
	})
	if inline == nil {
		return
	}
	// The inline field sees the members no other field claimed, as one
	// object at the same path.
	var b bytes.Buffer
	b.WriteByte('{')
	for i, key := range order {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(key)
		b.Write(k)
		b.WriteByte(':')
		b.Write(rest[key])
	}
	b.WriteByte('}')
	n := len(*errs)
	decode(b.Bytes(), v.FieldByIndex(inline.index), path, errs)
	// An unknown field of the inline part is unknown here: name every field
	// this object knows.
	for _, e := range (*errs)[n:] {
		var ve *antifragile.ValidationError
		if errors.As(e, &ve) && strings.HasPrefix(ve.Err.Error(), "unknown field; known fields here: ") {
			ve.Err = fmt.Errorf("unknown field; known fields here: %s", strings.Join(knownWithInline(fields, v.Type().FieldByIndex(inline.index).Type), ", "))
		}
	}
}

func decodeMap(raw json.RawMessage, v reflect.Value, path string, errs *[]error) {
	t := v.Type()
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
		decode(val, elem, MapPath(path, key), errs)
		if len(*errs) > n && elem.Kind() != reflect.Struct {
			return // a bad scalar entry is left out, so it is reported once
		}
		v.SetMapIndex(k, elem)
	})
}

func decodeSlice(raw json.RawMessage, v reflect.Value, path string, errs *[]error) {
	if raw[0] != '[' {
		*errs = append(*errs, &antifragile.ValidationError{Field: path, Value: abbrev(raw), Err: fmt.Errorf("must be an array, not %s", Kind(raw))})
		return
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		*errs = append(*errs, &antifragile.ValidationError{Field: path, Value: abbrev(raw), Err: err})
		return
	}
	s := reflect.MakeSlice(v.Type(), len(items), len(items))
	for i, it := range items {
		decode(it, s.Index(i), path+"["+strconv.Itoa(i)+"]", errs)
	}
	v.Set(s)
}

// members calls fn for each member of the JSON object raw, in document
// order, reporting a non-object and duplicated keys.
func members(raw json.RawMessage, path string, errs *[]error, fn func(key string, val json.RawMessage)) {
	if raw[0] != '{' {
		*errs = append(*errs, &antifragile.ValidationError{Field: path, Value: abbrev(raw), Err: fmt.Errorf("must be an object, not %s", Kind(raw))})
		return
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil { // '{'
		*errs = append(*errs, &antifragile.ValidationError{Field: path, Err: err})
		return
	}
	seen := make(map[string]bool)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			*errs = append(*errs, &antifragile.ValidationError{Field: path, Err: err})
			return
		}
		key, _ := tok.(string)
		var val json.RawMessage
		if err := dec.Decode(&val); err != nil {
			*errs = append(*errs, &antifragile.ValidationError{Field: path, Err: err})
			return
		}
		if seen[key] {
			*errs = append(*errs, &antifragile.ValidationError{Field: join(path, key), Err: errors.New("duplicate field: each field may appear once")})
			continue
		}
		seen[key] = true
		fn(key, val)
	}
}

// Inherit re-decodes each member of the object under key in the JSON
// object data over a copy of base and stores it in m, so that an entry
// overrides only the fields it sets (breakers.named over breakers.default,
// policies over default_policy). m must hold the entries Decode of data
// gave; a member whose key m lacks, or that does not decode cleanly, keeps
// what Decode gave it (Decode has reported its problems).
func Inherit[T any](data []byte, key string, base T, m map[string]T) {
	var raw map[string]json.RawMessage
	if json.Unmarshal(data, &raw) != nil {
		return
	}
	var entries map[string]json.RawMessage
	if json.Unmarshal(raw[key], &entries) != nil {
		return
	}
	for name, r := range entries {
		if _, ok := m[name]; !ok {
			continue
		}
		v := base
		if Decode(r, &v) == nil {
			m[name] = v
		}
	}
}

// decodeDuration decodes a duration string into a time.Duration.
func decodeDuration(raw json.RawMessage, v reflect.Value, path string, errs *[]error) {
	var d antifragile.Duration
	if err := d.UnmarshalJSON(raw); err != nil {
		*errs = append(*errs, &antifragile.ValidationError{Field: path, Value: abbrev(raw), Err: err})
		return
	}
	v.SetInt(int64(d))
}

// leaf decodes raw into a new value of v's type and stores it in v, or
// reports why it cannot. The ValidationErrors of a type's own UnmarshalJSON
// are kept, their paths prefixed with path.
func leaf(raw json.RawMessage, v reflect.Value, path string, errs *[]error) {
	t := v.Type()
	nv := reflect.New(t)
	nv.Elem().Set(v) // a type decoding onto itself keeps what raw leaves out
	err := json.Unmarshal(raw, nv.Interface())
	if err == nil {
		v.Set(nv.Elem())
		return
	}
	if leaves := antifragile.Leaves(err); allValidation(leaves) {
		// The type decoded what it could: keep it, so that validation
		// still sees the good fields.
		v.Set(nv.Elem())
		for _, e := range leaves {
			ve := e.(*antifragile.ValidationError)
			*errs = append(*errs, &antifragile.ValidationError{Field: joinPath(path, ve.Field), Value: ve.Value, Err: ve.Err})
		}
		return
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		err = errors.New(expect(t) + ", not " + Kind(raw))
		if k := t.Kind(); k >= reflect.Int && k <= reflect.Uint64 && !reflect.PointerTo(t).Implements(textUnmarshaler) && Kind(raw) == "a number" {
			if isWhole(string(raw)) {
				err = fmt.Errorf("%s within [%s]", expect(t), rangeOf(t))
			} else {
				err = errors.New(expect(t))
			}
		}
	}
	*errs = append(*errs, &antifragile.ValidationError{Field: path, Value: abbrev(raw), Err: err})
}

func allValidation(errs []error) bool {
	if len(errs) == 0 {
		return false
	}
	for _, e := range errs {
		if _, ok := e.(*antifragile.ValidationError); !ok {
			return false
		}
	}
	return true
}

// joinPath appends a relative JSON path to path.
func joinPath(path, rel string) string {
	switch {
	case rel == "":
		return path
	case path == "":
		return rel
	case rel[0] == '[':
		return path + rel
	}
	return path + "." + rel
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

// Kind names the JSON kind of raw for error messages: "an object", "a
// string", "a number"...
func Kind(raw []byte) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

// field is one JSON member of a struct.
type field struct {
	name      string
	index     []int
	omitEmpty bool
	omitZero  bool
}

// structFields maps the JSON names of t's exported fields to the fields,
// and returns the field tagged ",inline", if any. Anonymous struct fields
// without a name in their tag are flattened, as encoding/json does.
func structFields(t reflect.Type) (map[string]field, *field) {
	fs := fieldList(t)
	out := make(map[string]field, len(fs))
	var inline *field
	for _, f := range fs {
		if f.name == "" {
			inline = &f
			continue
		}
		out[f.name] = f
	}
	return out, inline
}

// fieldList returns the JSON members of t in declaration order; the inline
// field has an empty name.
func fieldList(t reflect.Type) []field {
	var out []field
	for sf := range t.Fields() {
		if !sf.IsExported() && !sf.Anonymous {
			continue
		}
		tag := sf.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		ft := sf.Type
		if sf.Anonymous && name == "" && ft.Kind() == reflect.Struct {
			for _, sub := range fieldList(ft) {
				sub.index = append([]int{sf.Index[0]}, sub.index...)
				out = append(out, sub)
			}
			continue
		}
		if !sf.IsExported() {
			continue
		}
		f := field{name: name, index: sf.Index}
		for o := range strings.SplitSeq(opts, ",") {
			switch o {
			case "omitempty":
				f.omitEmpty = true
			case "omitzero":
				f.omitZero = true
			case "inline":
				f.name = ""
			}
		}
		if f.name == "" && !strings.Contains(opts, "inline") {
			f.name = sf.Name
		}
		out = append(out, f)
	}
	return out
}

// knownWithInline lists the names of fields and of the members of the
// inline struct type t, sorted.
func knownWithInline(fields map[string]field, t reflect.Type) []string {
	names := sortedKeys(fields)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() == reflect.Struct {
		for _, f := range fieldList(t) {
			if f.name != "" {
				names = append(names, f.name)
			}
		}
	}
	slices.Sort(names)
	return slices.Compact(names)
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

// MapPath appends a map key to a JSON path: ".key" when the key is made of
// letters, digits, '_' and '-', else `["key"]` (quoted as in Go). Validate
// methods use it so that their fields read like Decode's.
func MapPath(path, key string) string {
	if key != "" && strings.IndexFunc(key, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-')
	}) < 0 {
		return join(path, key)
	}
	return path + "[" + strconv.Quote(key) + "]"
}

package codec

import (
	"bytes"
	"encoding"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"time"
)

var (
	jsonMarshaler = reflect.TypeFor[json.Marshaler]()
	textMarshaler = reflect.TypeFor[encoding.TextMarshaler]()
)

// Encode returns the JSON form of v that Decode reads back: the fields of
// structs by their json tags (with omitempty, omitzero, "-" and ",inline"
// honoured, anonymous structs flattened), maps with sorted keys, and every
// time.Duration as a string such as "1m30s". A value of a type with its own
// MarshalJSON or MarshalText is encoded by that method. The output is
// compact; indent it with json.Indent.
func Encode(v any) ([]byte, error) {
	var b bytes.Buffer
	if err := encode(&b, reflect.ValueOf(v)); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func encode(b *bytes.Buffer, v reflect.Value) error {
	if !v.IsValid() {
		b.WriteString("null")
		return nil
	}
	t := v.Type()
	if t == durationType {
		b.WriteString(strconv.Quote(time.Duration(v.Int()).String()))
		return nil
	}
	if t.Implements(jsonMarshaler) || t.Implements(textMarshaler) ||
		(v.CanAddr() && (reflect.PointerTo(t).Implements(jsonMarshaler) || reflect.PointerTo(t).Implements(textMarshaler))) {
		if t.Kind() == reflect.Pointer && v.IsNil() {
			b.WriteString("null")
			return nil
		}
		out, err := json.Marshal(v.Interface())
		if err != nil {
			return err
		}
		b.Write(out)
		return nil
	}
	switch t.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			b.WriteString("null")
			return nil
		}
		return encode(b, v.Elem())
	case reflect.Struct:
		return encodeStruct(b, v)
	case reflect.Map:
		return encodeMap(b, v)
	case reflect.Slice, reflect.Array:
		return encodeList(b, v)
	case reflect.Func, reflect.Chan, reflect.UnsafePointer, reflect.Complex64, reflect.Complex128:
		return fmt.Errorf("codec: cannot encode a %s", t)
	}
	out, err := json.Marshal(v.Interface())
	if err != nil {
		return err
	}
	b.Write(out)
	return nil
}

// encodeList writes a slice or an array: null for a nil slice, base64 for
// bytes (as encoding/json), each element encoded otherwise.
func encodeList(b *bytes.Buffer, v reflect.Value) error {
	if v.Kind() == reflect.Slice && v.IsNil() {
		b.WriteString("null")
		return nil
	}
	if v.Type().Elem().Kind() == reflect.Uint8 {
		out, err := json.Marshal(v.Interface())
		b.Write(out)
		return err
	}
	b.WriteByte('[')
	for i := range v.Len() {
		if i > 0 {
			b.WriteByte(',')
		}
		if err := encode(b, v.Index(i)); err != nil {
			return err
		}
	}
	b.WriteByte(']')
	return nil
}

func encodeStruct(b *bytes.Buffer, v reflect.Value) error {
	b.WriteByte('{')
	first := true
	for _, f := range fieldList(v.Type()) {
		fv, ok := fieldByIndex(v, f.index)
		if !ok || (f.omitZero && isZero(fv)) || (f.omitEmpty && isEmpty(fv)) {
			continue
		}
		if f.name == "" { // inline: splice the members of its object
			var sub bytes.Buffer
			if err := encode(&sub, fv); err != nil {
				return err
			}
			inner := bytes.TrimSpace(sub.Bytes())
			if len(inner) < 2 || inner[0] != '{' {
				return fmt.Errorf("codec: inline field of %s is not an object", v.Type())
			}
			if inner = bytes.TrimSpace(inner[1 : len(inner)-1]); len(inner) > 0 {
				if !first {
					b.WriteByte(',')
				}
				b.Write(inner)
				first = false
			}
			continue
		}
		if !first {
			b.WriteByte(',')
		}
		first = false
		b.WriteString(strconv.Quote(f.name))
		b.WriteByte(':')
		if err := encode(b, fv); err != nil {
			return fmt.Errorf("%s: %w", f.name, err)
		}
	}
	b.WriteByte('}')
	return nil
}

func encodeMap(b *bytes.Buffer, v reflect.Value) error {
	if v.IsNil() {
		b.WriteString("null")
		return nil
	}
	keys := v.MapKeys()
	if v.Type().Key().Kind() != reflect.String {
		out, err := json.Marshal(v.Interface())
		b.Write(out)
		return err
	}
	slices.SortFunc(keys, func(a, c reflect.Value) int {
		switch {
		case a.String() < c.String():
			return -1
		case a.String() > c.String():
			return 1
		}
		return 0
	})
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Quote(k.String()))
		b.WriteByte(':')
		if err := encode(b, v.MapIndex(k)); err != nil {
			return err
		}
	}
	b.WriteByte('}')
	return nil
}

// fieldByIndex is v.FieldByIndex that reports false instead of panicking at
// a nil embedded pointer.
func fieldByIndex(v reflect.Value, index []int) (reflect.Value, bool) {
	for i, x := range index {
		if i > 0 && v.Kind() == reflect.Pointer {
			if v.IsNil() {
				return reflect.Value{}, false
			}
			v = v.Elem()
		}
		v = v.Field(x)
	}
	return v, true
}

// isZero is encoding/json's notion of a zero value for omitzero: the
// value's own IsZero method when it has one.
func isZero(v reflect.Value) bool {
	if !v.CanInterface() {
		return v.IsZero()
	}
	if z, ok := v.Interface().(interface{ IsZero() bool }); ok {
		if v.Kind() == reflect.Pointer && v.IsNil() {
			return true
		}
		return z.IsZero()
	}
	return v.IsZero()
}

// isEmpty is encoding/json's notion of an empty value for omitempty.
func isEmpty(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Interface, reflect.Pointer:
		return v.IsZero()
	}
	return false
}

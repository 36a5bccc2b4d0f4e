// Package codec is the toolkit's JSON form for configuration and other
// plain-data types whose Go fields are time.Duration: Decode is strict
// (exact keys, no unknown or duplicated fields, valid UTF-8) and reports
// every problem with its JSON path; Encode writes what Decode reads, with
// durations as strings such as "250ms" (antifragile.Duration's form).
//
// A type owns its JSON form by decoding and encoding a method-less copy of
// itself, so that its fields are declared once, with their json tags:
//
//	type plain Config
//
//	func (c Config) MarshalJSON() ([]byte, error)  { return codec.Encode(plain(c)) }
//	func (c *Config) UnmarshalJSON(b []byte) error { return codec.Decode(b, (*plain)(c)) }
//
// A field tagged `json:",inline"` takes the members no other field of its
// struct claims, so a section of a larger document can hold a component's
// Config beside fields of its own.
package codec

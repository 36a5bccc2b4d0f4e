// Package nilcheck refuses nil values where the toolkit receives them. Its
// concern is the "typed nil": an interface value that holds a nil pointer
// (or map, slice, channel or func), such as the nil *breaker.Breaker of a
// failed Registry.Get stored in a breaker.StateSource. Such a value
// compares != nil, so a plain nil check lets it through, and the first
// method call panics — often much later, on another goroutine.
//
// It uses reflect, so it belongs where values are received (New,
// Register, Validate), never on a hot path:
//
//	func (a *Aggregator) Register(name string, src breaker.StateSource) error {
//		if err := nilcheck.Required("source", src); err != nil {
//			return err // invalid source (*breaker.Breaker)(nil): must not be nil
//		}
//		...
//	}
package nilcheck

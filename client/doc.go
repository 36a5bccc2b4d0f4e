// Package client is the Go client of the ops HTTP API (package ops): one
// method per route, ctx first on every method, typed errors, and the event
// stream as an iterator. The antifragile CLI's remote commands use only
// this package.
//
//	c, err := client.New(client.Config{BaseURL: "http://127.0.0.1:8080", Token: os.Getenv("ANTIFRAGILE_TOKEN")})
//	if err != nil {
//		return err
//	}
//	defer c.CloseIdleConnections()
//
//	rep, err := c.Health(ctx)
//	switch {
//	case errors.Is(err, client.ErrUnreachable):
//		// no server at that address
//	case errors.Is(err, client.ErrUnavailable):
//		// the server has no health aggregator
//	}
//
//	if _, err := c.ForceOpenBreaker(ctx, "payments"); errors.Is(err, client.ErrForbidden) {
//		// wrong token
//	}
//
//	for ev, err := range c.Events(ctx) {
//		if err != nil {
//			return err
//		}
//		fmt.Println(ev.Kind, string(ev.Data))
//	}
//
// An error answer is an *APIError carrying the server's envelope
// ({"error", "field", "detail"}); errors.Is matches it against ErrNotFound,
// ErrInvalid, ErrConflict and the other sentinels by its status.
package client

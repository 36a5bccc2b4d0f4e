package daemon

import (
	"context"
	"errors"
	"os"

	"github.com/antifragile-go/antifragile"
)

// ReloadOn reloads the configuration (System.ReloadSource: the config's
// Source re-read, then what can change live applied) each time a value
// arrives on sig — the daemon's caller sends SIGHUP there with
// signal.Notify — until ctx ends. Each reload is logged: what changed, was
// applied and needs a restart (Info), or, when the new configuration is
// invalid and nothing changed, one Error line and one line per problem
// with its field. It blocks until ctx ends; the caller owns the goroutine
// it runs in. The daemon keeps serving whatever a reload's outcome.
func (d *Daemon) ReloadOn(ctx context.Context, sig <-chan os.Signal) {
	for {
		select {
		case <-ctx.Done():
			return
		case s := <-sig:
			d.reloadAndLog(ctx, s)
		}
	}
}

// reloadAndLog runs one reload asked for by signal s and logs its outcome.
func (d *Daemon) reloadAndLog(ctx context.Context, s os.Signal) {
	res, err := d.ReloadSource(ctx)
	if err == nil {
		d.log.Info("config reload", "signal", s.String(), "changed", res.Changed,
			"applied", res.Applied, "restart", res.Restart)
		return
	}
	problems := Problems(err)
	d.log.Error("config reload refused: the configuration in force stays", "signal", s.String(),
		"problems", len(problems), "err", err)
	for _, p := range problems {
		var ve *antifragile.ValidationError
		field := ""
		if errors.As(p, &ve) {
			field = ve.Field
		}
		d.log.Error("config reload problem", "field", field, "problem", p.Error())
	}
}

// Problems returns the problems err joins, looking through the wrapping
// around them (such as "system: invalid configuration: ..."): each
// problem of an invalid configuration, or err itself when it joins none.
func Problems(err error) []error {
	for e := err; e != nil; e = errors.Unwrap(e) {
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			return antifragile.Leaves(j.(error))
		}
	}
	if err == nil {
		return nil
	}
	return []error{err}
}

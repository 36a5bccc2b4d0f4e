package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/antifragile-go/antifragile/api"
)

const reloadUsage = `
usage: antifragile reload [-json] [-addr URL] [-token token]

Asks the server to re-read its configuration — the file, the ANTIFRAGILE_*
environment and the flags it was started with, as SIGHUP does — and to
apply what can change live: breakers, recovery policies, chaos limits, the
tokens (POST /config/reload; it needs the token). It prints what changed,
what was applied and what needs a restart. An invalid configuration changes
nothing: every problem is printed with its field, and the exit status is 3.
`

func runReload(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("reload", reloadUsage, stdout)
	var rf remoteFlags
	rf.register(fs)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return helpOK(err)
	}
	if err := needArgs(pos, 0, "antifragile reload [flags]"); err != nil {
		return err
	}
	c, err := rf.client()
	if err != nil {
		return err
	}
	defer c.CloseIdleConnections()
	res, err := c.ReloadConfig(ctx)
	if err != nil {
		return err
	}
	if rf.json {
		return writeJSON(stdout, res)
	}
	printReload(stdout, res)
	return nil
}

func printReload(w io.Writer, r api.ReloadResult) {
	if len(r.Changed) == 0 {
		fmt.Fprintln(w, "configuration reloaded: nothing changed")
		return
	}
	fmt.Fprintf(w, "configuration reloaded: %d settings changed\n", len(r.Changed))
	list := func(title string, paths []string) {
		if len(paths) > 0 {
			fmt.Fprintf(w, "%s:\n  %s\n", title, strings.Join(paths, "\n  "))
		}
	}
	list("applied", r.Applied)
	list("need a restart (the values in force stay until then)", r.Restart)
}

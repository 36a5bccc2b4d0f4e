package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"time"

	"github.com/antifragile-go/antifragile"
)

const versionUsage = `
usage: antifragile version [-local] [-json] [-addr URL]

Prints the version and constitutional hash of this binary and, unless
-local, of the server at -addr (GET /version). A server that cannot be
asked is reported, and the exit status is then 4 (unreachable) or 3
(refused).
`

// versionInfo is the JSON form of `antifragile version -json`.
type versionInfo struct {
	Version            string      `json:"version"`
	ConstitutionalHash string      `json:"constitutional_hash"`
	Go                 string      `json:"go"`
	Platform           string      `json:"platform"`
	Server             *serverInfo `json:"server,omitempty"`
}

type serverInfo struct {
	URL                string `json:"url"`
	Version            string `json:"version,omitempty"`
	ConstitutionalHash string `json:"constitutional_hash,omitempty"`
	Error              string `json:"error,omitempty"`
}

func runVersion(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("version", versionUsage, stdout)
	var rf remoteFlags
	rf.register(fs)
	local := fs.Bool("local", false, "do not ask the server")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return helpOK(err)
	}
	if err := needArgs(pos, 0, "antifragile version [flags]"); err != nil {
		return err
	}
	info := versionInfo{
		Version:            antifragile.Version,
		ConstitutionalHash: antifragile.ConstitutionalHash,
		Go:                 runtime.Version(),
		Platform:           runtime.GOOS + "/" + runtime.GOARCH,
	}
	var srvErr error
	if !*local {
		if !isFlagSet(fs, "timeout") {
			rf.timeout = 3 * time.Second
		}
		c, err := rf.client()
		if err != nil {
			return err
		}
		defer c.CloseIdleConnections()
		info.Server = &serverInfo{URL: c.BaseURL()}
		if v, err := c.Version(ctx); err != nil {
			info.Server.Error, srvErr = err.Error(), err
		} else {
			info.Server.Version, info.Server.ConstitutionalHash = v.Version, v.ConstitutionalHash
		}
	}
	if err := printVersion(stdout, rf.json, info); err != nil {
		return err
	}
	if srvErr != nil {
		return &exitError{code: exitCode(srvErr), err: fmt.Errorf("the server at %s did not tell its version", info.Server.URL)}
	}
	return nil
}

// printVersion prints info as JSON or as text.
func printVersion(stdout io.Writer, asJSON bool, info versionInfo) error {
	if asJSON {
		return writeJSON(stdout, info)
	}
	fmt.Fprintf(stdout, "antifragile %s (constitutional hash %s, %s %s)\n", info.Version, info.ConstitutionalHash, info.Go, info.Platform)
	if s := info.Server; s != nil {
		if s.Error != "" {
			fmt.Fprintf(stdout, "server %s: %s\n", s.URL, s.Error)
		} else {
			fmt.Fprintf(stdout, "server %s: antifragile %s (constitutional hash %s)\n", s.URL, s.Version, s.ConstitutionalHash)
			if s.ConstitutionalHash != info.ConstitutionalHash {
				fmt.Fprintln(stdout, "warning: the server's constitutional hash differs from this binary's")
			}
		}
	}
	return nil
}

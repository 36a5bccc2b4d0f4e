package report

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/antifragile-go/antifragile/internal/gameday"
)

// clusterRow is the text of one instance's line in the cluster table.
type clusterRow struct {
	Instance, Agents, State, Status, Score, Breakers, Open string
	Heartbeats, Starts, Sent, Received, Undelivered        string
	Live                                                   bool
}

// clusterView is the cluster part of the report: the table, how the
// messages across processes fared and the kills.
type clusterView struct {
	Name       string
	Rows       []clusterRow
	Accounting string
	Kills      []string
	ViewError  string
}

// clusterOf returns the cluster part of r's report; nil for a game day in
// one process.
func clusterOf(r *gameday.Result) *clusterView {
	c := r.Cluster
	if c == nil {
		return nil
	}
	v := &clusterView{Name: c.Name, Accounting: c.Accounting(), ViewError: c.ViewError}
	for _, in := range c.Instances {
		open := "—"
		if len(in.Open) > 0 {
			open = strings.Join(in.Open, ", ")
		}
		v.Rows = append(v.Rows, clusterRow{
			Instance: in.Instance, Agents: strings.Join(in.Agents, ", "), State: in.State, Status: in.Status.String(),
			Score: strconv.FormatFloat(in.Score, 'f', 3, 64), Breakers: strconv.Itoa(in.Breakers), Open: open,
			Heartbeats: strconv.FormatUint(in.Heartbeats, 10), Starts: strconv.Itoa(in.Starts),
			Sent: strconv.FormatUint(in.Sent, 10), Received: strconv.FormatUint(in.Received, 10),
			Undelivered: strconv.FormatUint(in.Undelivered, 10), Live: in.State == gameday.InstanceLive,
		})
	}
	for _, k := range c.Kills {
		v.Kills = append(v.Kills, k.Summary())
	}
	return v
}

// writeCluster writes the cluster table of r, if it ran across processes,
// as aligned text.
func writeCluster(w io.Writer, r *gameday.Result) error {
	v := clusterOf(r)
	if v == nil {
		return nil
	}
	fmt.Fprintf(w, "\ncluster %q at the end (messages across processes: sent, received, undelivered per process):\n", v.Name)
	if v.ViewError != "" {
		fmt.Fprintf(w, "  the cluster view could not be read: %s\n", v.ViewError)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  INSTANCE\tAGENTS\tSTATE\tSTATUS\tSCORE\tBREAKERS\tOPEN\tHEARTBEATS\tSTARTS\tSENT\tRECEIVED\tUNDELIVERED")
	for _, row := range v.Rows {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", row.Instance, row.Agents, row.State, row.Status,
			row.Score, row.Breakers, row.Open, row.Heartbeats, row.Starts, row.Sent, row.Received, row.Undelivered)
	}
	return tw.Flush()
}

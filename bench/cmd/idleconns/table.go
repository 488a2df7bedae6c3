package main

import (
	"fmt"
	"io"
	"text/tabwriter"
)

// printTable writes the results as a table, sizes in KiB.
func printTable(w io.Writer, results []result) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "server\tconns\trounds\tRSS before KiB\tRSS after KiB\tRSS/conn B\theap/conn B\tstack/conn B\tRSS/conn after FreeOSMemory B\tgoroutines/conn\t")
	for _, r := range results {
		per := func(v int64) string { return fmt.Sprintf("%.0f", float64(v)/float64(r.Conns)) }
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%s\t%s\t%s\t%s\t%.2f\t\n",
			r.Server, r.Conns, r.Rounds, r.RSSBefore>>10, r.RSSAfter>>10,
			per(r.RSSAfter-r.RSSBefore), per(r.HeapDelta), per(r.StackDelta),
			per(r.RSSFreed-r.RSSBefore), float64(r.GoroutineDiff)/float64(r.Conns))
	}
	tw.Flush()
}

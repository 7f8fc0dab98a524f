package trace

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"time"
)

// ClockLayout is how WriteTree prints a root's time (UTC).
const ClockLayout = "15:04:05.000"

// WriteTree prints the flow as a tree with box-drawing characters: a
// header line, then each root as "type (source) HH:MM:SS.mmm" and every
// other event as "type (source) +latency", under its cause:
//
//	order.placed (order-service) 12:00:00.123
//	└─ payment.succeeded (payment-service) +8ms
//	   ├─ order.paid (order-service) +5ms
//	   └─ stock.reserved (inventory-service) +6ms
//
// Orphans are marked "[orphan: cause X not found]", events stamped before
// their cause "[clock skew]". A summary line ends the output.
func WriteTree(w io.Writer, f *Flow) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "flow %s: %d event(s) from %s to %s UTC (%s)\n", f.CorrelationID, f.Events,
		f.Start.UTC().Format("2006-01-02 "+ClockLayout), f.End.UTC().Format(ClockLayout),
		time.Duration(f.DurationMs)*time.Millisecond)
	for _, r := range f.Roots {
		fmt.Fprintf(bw, "%s %s", label(r), r.Timestamp.UTC().Format(ClockLayout))
		if r.Orphan {
			if r.CausationID != "" {
				fmt.Fprintf(bw, " [orphan: cause %s not found]", r.CausationID)
			} else {
				fmt.Fprint(bw, " [orphan]")
			}
		}
		fmt.Fprintln(bw)
		writeChildren(bw, r, "")
	}
	var notes []string
	if f.Truncated {
		notes = append(notes, fmt.Sprintf("truncated: only the first %d events are shown", f.Events))
	}
	if f.Undecodable > 0 {
		notes = append(notes, fmt.Sprintf("%d undecodable record(s) skipped", f.Undecodable))
	}
	for _, w := range f.Warnings {
		notes = append(notes, "warning: "+w)
	}
	if len(notes) > 0 {
		fmt.Fprintln(bw, strings.Join(notes, "; "))
	}
	return bw.Flush()
}

// writeChildren prints n's children iteratively (deep chains do not grow
// the stack).
func writeChildren(w io.Writer, n *Node, prefix string) {
	type item struct {
		n      *Node
		prefix string
		last   bool
	}
	push := func(stack []item, n *Node, prefix string) []item {
		for i := len(n.Children) - 1; i >= 0; i-- {
			stack = append(stack, item{n.Children[i], prefix, i == len(n.Children)-1})
		}
		return stack
	}
	stack := push(nil, n, prefix)
	for len(stack) > 0 {
		it := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		branch, next := "├─ ", "│  "
		if it.last {
			branch, next = "└─ ", "   "
		}
		fmt.Fprintf(w, "%s%s%s", it.prefix, branch, label(it.n))
		if d, ok := it.n.Latency(); ok {
			sign := "+"
			if d < 0 {
				sign, d = "-", -d
			}
			fmt.Fprintf(w, " %s%s", sign, formatLatency(d))
		}
		if it.n.ClockSkew {
			fmt.Fprint(w, " [clock skew]")
		}
		fmt.Fprintln(w)
		stack = push(stack, it.n, it.prefix+next)
	}
}

func label(n *Node) string {
	return fmt.Sprintf("%s (%s)", n.EventType, n.Source)
}

// formatLatency prints d in milliseconds below a second ("0ms", "8ms"),
// else as time.Duration does ("1.234s", "2m3.5s").
func formatLatency(d time.Duration) string {
	if d < time.Second {
		return fmt.Sprintf("%dms", d.Milliseconds())
	}
	return d.String()
}

package report

import (
	"net/netip"
	"sort"
)

// Tally fills the summary's rankings and counts from the findings.
func (r *Report) Tally() {
	s := &r.Summary
	s.Packets, s.TCPPackets, s.Connections = 0, 0, 0
	for _, f := range s.Files {
		s.Packets += f.Packets
		s.TCPPackets += f.TCP
		s.Connections += f.Conns
	}
	s.Resets = len(r.Findings)
	s.Benign, s.Attention = 0, 0
	causes, senders, listeners, hosts := map[string]int{}, map[string]int{}, map[string]int{}, map[string]int{}
	for i := range r.Findings {
		f := &r.Findings[i]
		if f.Benign {
			s.Benign++
		} else {
			s.Attention++
		}
		causes[string(f.Cause)]++
		senders[string(f.Sender)]++
		listeners[f.Server]++
		if ap, err := netip.ParseAddrPort(f.From); err == nil {
			hosts[ap.Addr().String()]++
		} else {
			hosts[f.From]++
		}
	}
	s.ByCause, s.BySender = ranked(causes, 0), ranked(senders, 0)
	s.Listeners, s.Hosts = ranked(listeners, 5), ranked(hosts, 5)
}

// ranked sorts counts, largest first (ties by key), keeping the top n (all when n is 0).
func ranked(m map[string]int, n int) []Count {
	out := make([]Count, 0, len(m))
	for k, v := range m {
		out = append(out, Count{Key: k, Count: v})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Key < out[j].Key
	})
	if n > 0 && len(out) > n {
		out = out[:n]
	}
	return out
}

// SortFindings orders findings by file, then frame, and the connections
// beside them by file, each file's in the order its analysis ended them:
// files analysed at the same time hand theirs over as they go, so without
// this the report's order changed from run to run.
func (r *Report) SortFindings() {
	order := map[string]int{}
	for i, f := range r.Summary.Files {
		order[f.File] = i
	}
	sort.SliceStable(r.Findings, func(i, j int) bool {
		a, b := &r.Findings[i], &r.Findings[j]
		if a.File != b.File {
			return order[a.File] < order[b.File]
		}
		return a.Frame < b.Frame
	})
	sort.SliceStable(r.Connections, func(i, j int) bool {
		return order[r.Connections[i].File] < order[r.Connections[j].File]
	})
}

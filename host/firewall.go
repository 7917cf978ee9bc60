package host

import (
	"fmt"

	"github.com/rstscope/rstscope/cause"
)

// RejectRule is a packet-filter rule that answers TCP with a forged reset.
type RejectRule struct {
	Source string // "nftables", "iptables-legacy", "ip6tables-nft", ...
	Family string // nftables family: ip, ip6, inet, bridge, netdev
	Table  string
	Chain  string
	// Handle is the nftables rule handle; for iptables, the rule's 1-based
	// position in its chain, as iptables -L --line-numbers counts.
	Handle uint64
	Text   string // the rule as its tool would print it, best effort
}

// auditRejectRules gives one warning per rule: the reset may be intended,
// but it is a reset source an operator should know is there.
func auditRejectRules(rules []RejectRule) []Finding {
	out := make([]Finding, 0, len(rules))
	for _, r := range rules {
		f := Finding{
			Severity: Warning,
			Cause:    cause.FirewallReject,
			Summary:  fmt.Sprintf("%s rule in %s/%s answers TCP with a reset: %s", r.Source, r.Table, r.Chain, r.Text),
		}
		if r.Source == "nftables" {
			f.ID = fmt.Sprintf("nftables.%s.%s.%s.%d", r.Family, r.Table, r.Chain, r.Handle)
			f.Evidence = []string{fmt.Sprintf("table %s %s chain %s handle %d: %s", r.Family, r.Table, r.Chain, r.Handle, r.Text)}
			f.Advice = []string{
				fmt.Sprintf("nft -a list chain %s %s %s  # add a counter to see how often it fires", r.Family, r.Table, r.Chain),
				"if the resets are unwanted, change the rule to drop or narrow its match",
			}
		} else {
			f.ID = fmt.Sprintf("%s.%s.%s.%d", r.Source, r.Table, r.Chain, r.Handle)
			f.Evidence = []string{fmt.Sprintf("%s-save: *%s rule %d: %s", r.Source, r.Table, r.Handle, r.Text)}
			f.Advice = []string{
				fmt.Sprintf("%s -t %s -L %s -v -n --line-numbers  # packet counts show how often it fires", r.Source, r.Table, r.Chain),
				"if the resets are unwanted, change the target to DROP or narrow the match",
			}
		}
		out = append(out, f)
	}
	return out
}

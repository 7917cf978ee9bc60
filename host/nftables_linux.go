package host

import (
	"fmt"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// listNFTRejects walks every nftables table, chain and rule over netlink and
// returns the rules holding a reject of type tcp reset. iptables-nft rules
// are xt compat targets, not reject expressions, so they come from
// iptables-nft-save instead and are not counted twice.
func listNFTRejects() ([]RejectRule, error) {
	c, err := nftables.New()
	if err != nil {
		return nil, fmt.Errorf("opening nftables netlink: %w", err)
	}
	chains, err := c.ListChains()
	if err != nil {
		return nil, fmt.Errorf("listing nftables chains: %w", err)
	}
	var out []RejectRule
	for _, ch := range chains {
		rules, err := c.GetRules(ch.Table, ch)
		if err != nil {
			return nil, fmt.Errorf("listing rules of %s %s: %w", ch.Table.Name, ch.Name, err)
		}
		for _, r := range rules {
			if !sendsTCPReset(r.Exprs) {
				continue
			}
			out = append(out, RejectRule{
				Source: "nftables",
				Family: familyName(ch.Table.Family),
				Table:  ch.Table.Name,
				Chain:  ch.Name,
				Handle: r.Handle,
				Text:   renderRule(r.Exprs, r.UserData),
			})
		}
	}
	return out, nil
}

func sendsTCPReset(es []expr.Any) bool {
	for _, e := range es {
		if r, ok := e.(*expr.Reject); ok && r.Type == unix.NFT_REJECT_TCP_RST {
			return true
		}
	}
	return false
}

func familyName(f nftables.TableFamily) string {
	switch f {
	case nftables.TableFamilyINet:
		return "inet"
	case nftables.TableFamilyIPv4:
		return "ip"
	case nftables.TableFamilyIPv6:
		return "ip6"
	case nftables.TableFamilyARP:
		return "arp"
	case nftables.TableFamilyNetdev:
		return "netdev"
	case nftables.TableFamilyBridge:
		return "bridge"
	}
	return fmt.Sprintf("family%d", f)
}

package host

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
)

type firewallResult struct {
	rules      []RejectRule
	unreadable []Unreadable
}

// collectFirewall reads nftables over netlink and every iptables-save
// flavour present.
func collectFirewall(ctx context.Context, o Options, live bool) firewallResult {
	var r firewallResult
	miss := func(what, path string, err error) {
		r.unreadable = append(r.unreadable, Unreadable{What: what, Path: path, Error: err.Error()})
	}
	nft := o.NFTRejects
	if nft == nil && live {
		nft = listNFTRejects
	}
	if nft == nil {
		miss("nftables rules", "netlink NETLINK_NETFILTER", errSkippedUnderRoot)
	} else if rules, err := nft(); err != nil {
		miss("nftables rules", "netlink NETLINK_NETFILTER", err)
	} else {
		r.rules = append(r.rules, rules...)
	}

	save, have := o.IPTablesSave, o.HaveCommand
	if save == nil && live {
		save = runSave
	}
	if have == nil {
		have = haveCommand
	}
	if save == nil {
		miss("iptables rules", "iptables-save", errSkippedUnderRoot)
		return r
	}
	for _, t := range savePlan(have) {
		out, err := save(ctx, t.cmd)
		if err != nil {
			miss("iptables rules", t.cmd, err)
			continue
		}
		rules, err := parseIPTablesSave(bytes.NewReader(out), t.source)
		if err != nil {
			miss("iptables rules", t.cmd, fmt.Errorf("parsing: %w", err))
			continue
		}
		r.rules = append(r.rules, rules...)
	}
	return r
}

type dupResult struct {
	found      []Duplicate
	unreadable []Unreadable
}

func collectDuplicates(o Options, live bool) dupResult {
	var r dupResult
	probe := o.Duplicates
	if probe == nil && live {
		probe = probeDuplicates
	}
	if probe == nil {
		r.unreadable = append(r.unreadable, Unreadable{What: "duplicate IPv4 probe", Path: "AF_PACKET", Error: errSkippedUnderRoot.Error()})
		return r
	}
	found, err := probe(o.ARPWait)
	if err != nil {
		if errors.Is(err, os.ErrPermission) {
			err = fmt.Errorf("%w (needs CAP_NET_RAW)", err)
		}
		r.unreadable = append(r.unreadable, Unreadable{What: "duplicate IPv4 probe", Path: "AF_PACKET", Error: err.Error()})
	}
	r.found = found
	return r
}

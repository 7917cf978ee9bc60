package host

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strings"

	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
	"golang.org/x/sys/unix"
)

// renderRule prints a rule's expressions in nft syntax, best effort: the
// matches operators write most (l4proto, addresses, ports, interfaces, ct
// state, sets) read as nft prints them; anything else shows its expression
// name, so the rule is recognisable next to `nft -a list ruleset`.
func renderRule(es []expr.Any, udata []byte) string {
	var parts []string
	left := ""      // the value a following cmp compares: "tcp dport"
	kind := ""      // how to print the compared bytes
	l4 := ""        // the last l4proto matched, to name ports "tcp dport"
	var mask []byte // a bitwise mask between a load and its cmp
	for _, e := range es {
		switch e := e.(type) {
		case *expr.Meta:
			left, kind, mask = metaName(e.Key), metaKind(e.Key), nil
		case *expr.Payload:
			left, kind, mask = payloadName(e, l4), payloadKind(e), nil
		case *expr.Ct:
			left, kind, mask = "ct", "raw", nil
			if e.Key == expr.CtKeySTATE {
				left, kind = "ct state", "ctstate"
			}
		case *expr.Bitwise:
			mask = e.Mask
		case *expr.Cmp:
			op := cmpOp(e.Op)
			if kind == "ctstate" && mask != nil {
				parts = append(parts, left+" "+ctStates(mask))
				break
			}
			v := cmpValue(kind, e.Data)
			if kind == "ip" || kind == "ip6" {
				v = prefixValue(kind, e.Data, mask)
			}
			if left == "meta l4proto" {
				l4 = v
				parts = append(parts, "meta l4proto "+op+v)
				break
			}
			parts = append(parts, strings.TrimSpace(left+" "+op+v))
		case *expr.Lookup:
			op := ""
			if e.Invert {
				op = "!= "
			}
			set := "@" + e.SetName
			if strings.HasPrefix(e.SetName, "__set") {
				set = "{ … }" // an anonymous set; its elements need another dump
			}
			parts = append(parts, strings.TrimSpace(left+" "+op+set))
		case *expr.Counter:
			parts = append(parts, fmt.Sprintf("counter packets %d bytes %d", e.Packets, e.Bytes))
		case *expr.Log:
			parts = append(parts, "log")
		case *expr.Reject:
			parts = append(parts, rejectText(e))
		case *expr.Verdict:
			parts = append(parts, verdictText(e))
		default:
			parts = append(parts, strings.ToLower(strings.TrimPrefix(fmt.Sprintf("%T", e), "*expr.")))
		}
	}
	if c, ok := userdata.GetString(udata, userdata.TypeComment); ok && c != "" {
		parts = append(parts, fmt.Sprintf("comment %q", c))
	}
	return strings.Join(dropImplied(parts), " ")
}

// dropImplied removes "meta l4proto tcp" before "tcp dport ..." and "meta
// nfproto ipv4" before "ip saddr ...", as nft does: the header field
// implies the protocol match.
func dropImplied(parts []string) []string {
	implied := map[string]string{"meta nfproto ipv4": "ip ", "meta nfproto ipv6": "ip6 "}
	out := parts[:0]
	for i, p := range parts {
		next := ""
		if i+1 < len(parts) {
			next = parts[i+1]
		}
		if proto, ok := strings.CutPrefix(p, "meta l4proto "); ok && strings.HasPrefix(next, proto+" ") {
			continue
		}
		if pre, ok := implied[p]; ok && strings.HasPrefix(next, pre) {
			continue
		}
		out = append(out, p)
	}
	return out
}

func metaName(k expr.MetaKey) string {
	switch k {
	case expr.MetaKeyL4PROTO:
		return "meta l4proto"
	case expr.MetaKeyNFPROTO:
		return "meta nfproto"
	case expr.MetaKeyIIFNAME:
		return "iifname"
	case expr.MetaKeyOIFNAME:
		return "oifname"
	case expr.MetaKeyIIF:
		return "iif"
	case expr.MetaKeyOIF:
		return "oif"
	case expr.MetaKeyMARK:
		return "meta mark"
	}
	return fmt.Sprintf("meta key%d", k)
}

func metaKind(k expr.MetaKey) string {
	switch k {
	case expr.MetaKeyL4PROTO:
		return "l4proto"
	case expr.MetaKeyNFPROTO:
		return "nfproto"
	case expr.MetaKeyIIFNAME, expr.MetaKeyOIFNAME:
		return "ifname"
	}
	return "raw"
}

// payloadName names the header fields rules match most; offsets are those
// of RFC 791, RFC 8200 and RFC 9293 headers.
func payloadName(p *expr.Payload, l4 string) string {
	switch p.Base {
	case expr.PayloadBaseNetworkHeader:
		// nft loads only a prefix's whole bytes: 10.0.0.0/8 is a 1-byte load.
		switch {
		case p.Offset == 12 && p.Len <= 4:
			return "ip saddr"
		case p.Offset == 16 && p.Len <= 4:
			return "ip daddr"
		case p.Offset == 8 && p.Len <= 16:
			return "ip6 saddr"
		case p.Offset == 24 && p.Len <= 16:
			return "ip6 daddr"
		}
	case expr.PayloadBaseTransportHeader:
		proto := "th"
		if l4 == "tcp" || l4 == "udp" {
			proto = l4
		}
		switch {
		case p.Offset == 0 && p.Len == 2:
			return proto + " sport"
		case p.Offset == 2 && p.Len == 2:
			return proto + " dport"
		}
	}
	return fmt.Sprintf("@payload(base %d, offset %d, len %d)", p.Base, p.Offset, p.Len)
}

func payloadKind(p *expr.Payload) string {
	if n := payloadName(p, ""); strings.HasPrefix(n, "ip6 ") {
		return "ip6"
	} else if strings.HasPrefix(n, "ip ") {
		return "ip"
	}
	return "payload"
}

// prefixValue prints an address match as nft does: a full address, or a
// prefix whose length is the bytes loaded or the ones in a bitwise mask.
func prefixValue(kind string, data, mask []byte) string {
	full := 4
	if kind == "ip6" {
		full = 16
	}
	if len(data) > full {
		return fmt.Sprintf("0x%x", data)
	}
	b := make([]byte, full)
	copy(b, data)
	bits := len(data) * 8
	if len(mask) == len(data) {
		bits = 0
		for _, m := range mask {
			bits += popcount(m)
		}
	}
	a, _ := netip.AddrFromSlice(b)
	if bits == full*8 {
		return a.String()
	}
	return netip.PrefixFrom(a, bits).String()
}

func popcount(b byte) int {
	n := 0
	for ; b != 0; b &= b - 1 {
		n++
	}
	return n
}

func cmpOp(op expr.CmpOp) string {
	switch op {
	case expr.CmpOpNeq:
		return "!= "
	case expr.CmpOpLt:
		return "< "
	case expr.CmpOpLte:
		return "<= "
	case expr.CmpOpGt:
		return "> "
	case expr.CmpOpGte:
		return ">= "
	}
	return ""
}

func cmpValue(kind string, b []byte) string {
	switch kind {
	case "l4proto":
		if len(b) == 1 {
			switch b[0] {
			case unix.IPPROTO_TCP:
				return "tcp"
			case unix.IPPROTO_UDP:
				return "udp"
			case unix.IPPROTO_ICMP:
				return "icmp"
			case unix.IPPROTO_ICMPV6:
				return "ipv6-icmp"
			}
			return fmt.Sprint(b[0])
		}
	case "nfproto":
		if len(b) == 1 {
			switch b[0] {
			case unix.NFPROTO_IPV4:
				return "ipv4"
			case unix.NFPROTO_IPV6:
				return "ipv6"
			}
		}
	case "ifname":
		return fmt.Sprintf("%q", strings.TrimRight(string(b), "\x00"))
	case "payload":
		switch len(b) {
		case 2: // ports are big-endian on the wire
			return fmt.Sprint(binary.BigEndian.Uint16(b))
		case 4:
			return netip.AddrFrom4([4]byte(b)).String()
		case 16:
			return netip.AddrFrom16([16]byte(b)).String()
		}
	}
	return fmt.Sprintf("0x%x", b)
}

// ctStates names the bits of a ct state mask (NF_CT_STATE_*_BIT).
func ctStates(mask []byte) string {
	if len(mask) < 4 {
		return fmt.Sprintf("0x%x", mask)
	}
	m := binary.NativeEndian.Uint32(mask)
	var names []string
	for _, s := range []struct {
		bit  uint32
		name string
	}{{1, "invalid"}, {2, "established"}, {4, "related"}, {8, "new"}, {64, "untracked"}} {
		if m&s.bit != 0 {
			names = append(names, s.name)
		}
	}
	return strings.Join(names, ",")
}

func rejectText(r *expr.Reject) string {
	switch r.Type {
	case unix.NFT_REJECT_TCP_RST:
		return "reject with tcp reset"
	case unix.NFT_REJECT_ICMPX_UNREACH:
		return fmt.Sprintf("reject with icmpx %d", r.Code)
	}
	return fmt.Sprintf("reject with icmp %d", r.Code)
}

func verdictText(v *expr.Verdict) string {
	switch v.Kind {
	case expr.VerdictAccept:
		return "accept"
	case expr.VerdictDrop:
		return "drop"
	case expr.VerdictContinue:
		return "continue"
	case expr.VerdictReturn:
		return "return"
	case expr.VerdictJump:
		return "jump " + v.Chain
	case expr.VerdictGoto:
		return "goto " + v.Chain
	}
	return fmt.Sprintf("verdict %d", v.Kind)
}

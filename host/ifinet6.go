package host

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"

	"github.com/rstscope/rstscope/cause"
)

// Addr6 is one line of /proc/net/if_inet6.
type Addr6 struct {
	Addr  netip.Addr
	Index uint32
	Bits  int    // prefix length
	Flags uint32 // IFA_F_* from include/uapi/linux/if_addr.h
	Iface string
}

// ifaFDADFailed is IFA_F_DADFAILED: duplicate address detection (RFC 4862
// section 5.4) found another node using the address.
const ifaFDADFailed = 0x08

// parseIfInet6 reads /proc/net/if_inet6: "address index prefixlen scope
// flags name", all hex but the name.
func parseIfInet6(r io.Reader) ([]Addr6, error) {
	var out []Addr6
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) < 6 {
			continue
		}
		raw, err := hex.DecodeString(fs[0])
		if err != nil || len(raw) != 16 {
			return nil, fmt.Errorf("bad address %q", fs[0])
		}
		idx, err1 := strconv.ParseUint(fs[1], 16, 32)
		bits, err2 := strconv.ParseUint(fs[2], 16, 8)
		flags, err3 := strconv.ParseUint(fs[4], 16, 32)
		if err1 != nil || err2 != nil || err3 != nil {
			return nil, fmt.Errorf("bad index or flags in %q", sc.Text())
		}
		out = append(out, Addr6{
			Addr:  netip.AddrFrom16([16]byte(raw)),
			Index: uint32(idx),
			Bits:  int(bits),
			Flags: uint32(flags),
			Iface: fs[5],
		})
	}
	return out, sc.Err()
}

// auditDADFailed reports IPv6 addresses another node already uses.
func auditDADFailed(as []Addr6) []Finding {
	var out []Finding
	for _, a := range as {
		if a.Flags&ifaFDADFailed == 0 {
			continue
		}
		out = append(out, Finding{
			ID:       fmt.Sprintf("dupaddr.ipv6.%s.%s", a.Iface, a.Addr),
			Severity: Critical,
			Cause:    cause.DuplicateIP,
			Summary:  fmt.Sprintf("%s on %s failed duplicate address detection: another node answers for it", a.Addr, a.Iface),
			Evidence: []string{fmt.Sprintf("/proc/net/if_inet6 flags 0x%02x include IFA_F_DADFAILED (0x08)", a.Flags)},
			Advice: []string{
				fmt.Sprintf("ip -6 neigh show %s; find the other node's MAC and remove the address from one of them", a.Addr),
				fmt.Sprintf("then restart DAD on this host: ip -6 addr del %s/%d dev %s && ip -6 addr add %s/%d dev %s", a.Addr, a.Bits, a.Iface, a.Addr, a.Bits, a.Iface),
			},
		})
	}
	return out
}

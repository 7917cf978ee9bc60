package host

import (
	"fmt"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// listListeners dumps TCP listeners of both families through NETLINK_SOCK_DIAG
// in the calling thread's network namespace. Unprivileged users may dump.
func listListeners() ([]Listener, error) {
	c, err := netlink.Dial(unix.NETLINK_INET_DIAG, nil)
	if err != nil {
		return nil, fmt.Errorf("dialing sock_diag: %w", err)
	}
	defer c.Close()
	var out []Listener
	for _, fam := range []uint8{afInet, afInet6} {
		msgs, err := c.Execute(netlink.Message{
			Header: netlink.Header{
				Type:  sockDiagByFamily,
				Flags: netlink.Request | netlink.Dump,
			},
			Data: inetDiagRequest(fam),
		})
		if err != nil {
			return nil, fmt.Errorf("dumping listeners: %w", err)
		}
		for _, m := range msgs {
			l, err := parseInetDiagMsg(m.Data)
			if err != nil {
				return nil, fmt.Errorf("decoding listener: %w", err)
			}
			out = append(out, l)
		}
	}
	return out, nil
}

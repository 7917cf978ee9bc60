package host

import (
	"testing"

	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
	"golang.org/x/sys/unix"
)

func TestRenderRule(t *testing.T) {
	l4tcp := []expr.Any{
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{unix.IPPROTO_TCP}},
	}
	dport := func(p byte) []expr.Any {
		return []expr.Any{
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{0, p}},
		}
	}
	rst := &expr.Reject{Type: unix.NFT_REJECT_TCP_RST}
	tests := []struct {
		name  string
		exprs []expr.Any
		udata []byte
		want  string
	}{
		// nft add rule inet t input tcp dport 9 reject with tcp reset
		{"tcp dport reject", append(append(l4tcp, dport(9)...), rst), nil, "tcp dport 9 reject with tcp reset"},
		{"saddr counter", []expr.Any{
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 12, Len: 4},
			&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: []byte{192, 0, 2, 1}},
			&expr.Counter{Packets: 3, Bytes: 180},
			rst,
		}, nil, "ip saddr != 192.0.2.1 counter packets 3 bytes 180 reject with tcp reset"},
		{"ct state and iifname", []expr.Any{
			&expr.Meta{Key: expr.MetaKeyIIFNAME, Register: 1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte("eth0\x00")},
			&expr.Ct{Key: expr.CtKeySTATE, Register: 1},
			&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: []byte{1, 0, 0, 0}, Xor: []byte{0, 0, 0, 0}},
			&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: []byte{0, 0, 0, 0}},
			rst,
		}, nil, `iifname "eth0" ct state invalid reject with tcp reset`},
		// nft add rule inet t input ip saddr 10.0.0.0/8 tcp dport { 22, 80 } reject with tcp reset
		{"prefix and anonymous set", []expr.Any{
			&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: 1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{unix.NFPROTO_IPV4}},
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 12, Len: 1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{10}},
			l4tcp[0], l4tcp[1],
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
			&expr.Lookup{SourceRegister: 1, SetName: "__set0"},
			rst,
		}, nil, "ip saddr 10.0.0.0/8 tcp dport { … } reject with tcp reset"},
		{"masked prefix", []expr.Any{
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 16, Len: 2},
			&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 2, Mask: []byte{0xff, 0xf0}, Xor: []byte{0, 0}},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{172, 16}},
			rst,
		}, nil, "ip daddr 172.16.0.0/12 reject with tcp reset"},
		{"comment and jump", []expr.Any{&expr.Verdict{Kind: expr.VerdictJump, Chain: "x"}},
			userdata.AppendString(nil, userdata.TypeComment, "why"), `jump x comment "why"`},
		{"unknown expression", []expr.Any{&expr.Limit{Rate: 1}, &expr.Verdict{Kind: expr.VerdictDrop}}, nil, "limit drop"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := renderRule(tt.exprs, tt.udata); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

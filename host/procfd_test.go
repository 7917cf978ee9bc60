package host

import "testing"

func TestSocketInode(t *testing.T) {
	tests := []struct {
		name, link string
		want       uint64
		ok         bool
	}{
		{"socket", "socket:[31337]", 31337, true},
		{"file", "/dev/null", 0, false},
		{"pipe", "pipe:[12]", 0, false},
		{"garbled", "socket:[12", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := socketInode(tt.link)
			if got != tt.want || ok != tt.ok {
				t.Errorf("got %d %v, want %d %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestSocketOwnersFixture(t *testing.T) {
	found, denied, err := socketOwners(Root("../testdata/host"), map[uint64]bool{31337: true, 5: true})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := found[31337], (owner{pid: 4242, comm: "nginx"}); got != want {
		t.Errorf("got owner %+v, want %+v", got, want)
	}
	if _, ok := found[5]; ok {
		t.Errorf("got an owner for inode 5, want none")
	}
	if denied != 0 {
		t.Errorf("got %d denied, want 0", denied)
	}
}

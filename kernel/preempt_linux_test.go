//go:build linux && (386 || amd64 || arm || arm64 || loong64 || mips64le || mipsle || ppc64le || riscv64)

package kernel

import (
	"bytes"
	"testing"

	"github.com/cilium/ebpf/btf"
)

// TestPreemptFromRQ feeds preemptFromRQ hand-made kernel BTF: the layout of
// Linux 6.18 x86-64 (offsets as bpftool btf dump shows them on this VM),
// 6.2-6.14's pcpu_hot, and kernels that have neither.
func TestPreemptFromRQ(t *testing.T) {
	i32 := &btf.Int{Name: "int", Size: 4, Encoding: btf.Signed}
	rqType := &btf.Struct{Name: "rq", Size: 3584}
	hot := &btf.Struct{Name: "pcpu_hot", Size: 64, Members: []btf.Member{
		{Name: "current_task", Type: i32, Offset: 0},
		{Name: "preempt_count", Type: i32, Offset: btf.Bits(8 * 8)},
	}}
	v := func(name string, typ btf.Type, off uint32) btf.VarSecinfo {
		return btf.VarSecinfo{Type: &btf.Var{Name: name, Type: typ, Linkage: btf.GlobalVar}, Offset: off, Size: 4}
	}
	for _, tc := range []struct {
		name string
		vars []btf.VarSecinfo
		want int64
	}{
		{"6.18: __preempt_count", []btf.VarSecinfo{v("__preempt_count", i32, 86064), v("runqueues", rqType, 178752)}, 86064 - 178752},
		{"6.2-6.14: pcpu_hot.preempt_count", []btf.VarSecinfo{v("pcpu_hot", hot, 4096), v("runqueues", rqType, 8192)}, 4096 + 8 - 8192},
		{"__preempt_count wins over pcpu_hot", []btf.VarSecinfo{v("pcpu_hot", hot, 4096), v("__preempt_count", i32, 100), v("runqueues", rqType, 8192)}, 100 - 8192},
		{"no preempt count (arm64 keeps it in thread_info)", []btf.VarSecinfo{v("runqueues", rqType, 8192)}, 0},
		{"no runqueues", []btf.VarSecinfo{v("__preempt_count", i32, 100)}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := specOf(t, &btf.Datasec{Name: ".data..percpu", Size: 200000, Vars: tc.vars})
			if got := preemptFromRQ(spec); got != tc.want {
				t.Errorf("got %d, want %d", got, tc.want)
			}
		})
	}
	t.Run("no per-CPU section", func(t *testing.T) {
		if got := preemptFromRQ(specOf(t, i32)); got != 0 {
			t.Errorf("got %d, want 0", got)
		}
	})
}

// specOf marshals types into raw BTF and loads it back, as the kernel's
// /sys/kernel/btf/vmlinux would be loaded.
func specOf(t *testing.T, types ...btf.Type) *btf.Spec {
	t.Helper()
	b, err := btf.NewBuilder(types, nil)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := b.Marshal(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	spec, err := btf.LoadSpecFromReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	return spec
}

package kernel

//go:generate go run github.com/cilium/ebpf/cmd/bpf2go -target bpfel -cc clang -cflags "-O2 -g -Wall -Werror -fdebug-prefix-map=${PWD}=. -fdebug-compilation-dir=." -type event rstscope rstscope.bpf.c
//go:generate go run github.com/cilium/ebpf/cmd/bpf2go -target bpfel -cc clang -cflags "-O2 -g -Wall -Werror -fdebug-prefix-map=${PWD}=. -fdebug-compilation-dir=." nf nf.bpf.c

package sipparse

import (
	"os"
	"syscall"
	"testing"
)

// guarded returns a copy of in that ends right before a page that may not
// be read, so that a read past its end faults instead of passing unseen.
func guarded(tb testing.TB, in []byte) []byte {
	pg := os.Getpagesize()
	n := (len(in)+pg-1)/pg*pg + pg
	mem, err := syscall.Mmap(-1, 0, n, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		tb.Fatal(err)
	}
	if err := syscall.Mprotect(mem[n-pg:], syscall.PROT_NONE); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = syscall.Munmap(mem) })
	b := mem[n-pg-len(in) : n-pg : n-pg]
	copy(b, in)
	return b
}

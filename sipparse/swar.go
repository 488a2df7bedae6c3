package sipparse

import (
	"encoding/binary"
	"math/bits"
)

// Eight bytes at a time ("SIMD within a register"): these scans beat
// bytes.IndexByte on the short lines of a SIP header section, where its call
// and setup cost dominate.

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// below returns a word whose lowest set bit marks the first byte of x that
// is less than n (n <= 0x80; bits above that byte may be set falsely, the
// lowest one is exact). Bytes of 0x80 and above never match.
func below(x uint64, n byte) uint64 { return (x - uint64(n)*lsb) &^ x & msb }

// findCtl returns the index of the first byte below 0x20 (CR, LF, HT and the
// other control octets) in b at or after i, or -1.
func findCtl(b []byte, i int) int {
	for ; i+8 <= len(b); i += 8 {
		if m := below(binary.LittleEndian.Uint64(b[i:]), 0x20); m != 0 {
			return i + bits.TrailingZeros64(m)/8
		}
	}
	for ; i < len(b); i++ {
		if b[i] < 0x20 {
			return i
		}
	}
	return -1
}

// findCtlSpace returns the index of the first byte at or below 0x20 (white
// space and control octets) in b[i:end], or -1.
func findCtlSpace(b []byte, i, end int) int {
	for ; i+8 <= end; i += 8 {
		if m := below(binary.LittleEndian.Uint64(b[i:]), 0x21); m != 0 {
			return i + bits.TrailingZeros64(m)/8
		}
	}
	for ; i < end; i++ {
		if b[i] <= 0x20 {
			return i
		}
	}
	return -1
}

// findByte returns the index of the first c in b[i:end], or -1.
func findByte(b []byte, i, end int, c byte) int {
	pat := uint64(c) * lsb
	for ; i+8 <= end; i += 8 {
		if m := below(binary.LittleEndian.Uint64(b[i:])^pat, 1); m != 0 {
			return i + bits.TrailingZeros64(m)/8
		}
	}
	for ; i < end; i++ {
		if b[i] == c {
			return i
		}
	}
	return -1
}

package sipparse

// Span is a view of the bytes buf[Off:Off+Len] of the buffer a message was
// parsed from. The zero Span is empty.
type Span struct {
	Off uint32
	Len uint32
}

// Bytes returns the bytes of s in buf, or nil when s is empty. buf must be the
// buffer the span was made from.
func (s Span) Bytes(buf []byte) []byte {
	if s.Len == 0 {
		return nil
	}
	return buf[s.Off : s.Off+s.Len : s.Off+s.Len]
}

// Empty reports whether s has no bytes.
func (s Span) Empty() bool { return s.Len == 0 }

// End returns the offset just past s.
func (s Span) End() int { return int(s.Off + s.Len) }

func span(start, end int) Span { return Span{Off: uint32(start), Len: uint32(end - start)} }

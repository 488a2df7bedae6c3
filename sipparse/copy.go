package sipparse

// CopyTo copies the message into dst, bytes included, so that dst stays
// valid after m's buffer is reused. It reuses dst's memory: at steady state it
// allocates nothing, and at most one allocation per slice when dst is new.
func (m *Message) CopyTo(dst *Message) {
	own := append(append(dst.own[:0], m.buf...), m.srcHost...)
	hs := append(dst.Headers[:0], m.Headers...)
	vs := append(dst.Vias[:0], m.Vias...)
	cs := append(dst.Contacts[:0], m.Contacts...)
	rs := append(dst.Routes[:0], m.Routes...)
	rrs := append(dst.RecordRoutes[:0], m.RecordRoutes...)
	lines := dst.lines[:0] // Parse's scratch: never shared
	*dst = *m
	dst.own, dst.buf, dst.lines = own, own[:len(m.buf)], lines
	dst.Headers, dst.Vias, dst.Contacts, dst.Routes, dst.RecordRoutes = hs, vs, cs, rs, rrs
	dst.srcHost = nil
	if m.srcHost != nil {
		dst.srcHost = own[len(m.buf):]
	}
}

// Detach copies the buffer the message views into memory of its own (one
// allocation), so the message stays valid after that buffer is reused or
// changed. Use it on a Message that is not reused by Parse.
func (m *Message) Detach() {
	m.own = append(append(make([]byte, 0, len(m.buf)+len(m.srcHost)), m.buf...), m.srcHost...)
	m.buf = m.own[:len(m.buf)]
	if m.srcHost != nil {
		m.srcHost = m.own[len(m.buf):]
	}
}

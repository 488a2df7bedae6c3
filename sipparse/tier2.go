package sipparse

// The second parsing tier: what Parse leaves for later. Each method parses
// its part once, caches it in the Message until the next Parse, and returns
// the same result when called again. A failure is a *ParseError (Status 400)
// stored in the Message like Parse's own.

// ParseURI parses the Request-URI of a request into [Message.RequestURI].
// Headers are not allowed in it (RFC 3261 §19.1.1).
func (m *Message) ParseURI() error {
	if m.done&doneURI != 0 {
		return m.tier2Err()
	}
	m.done |= doneURI
	if !m.Request || m.RequestURI.Raw.Empty() {
		return nil
	}
	raw := m.RequestURI.Raw
	if off, err := parseURI(m.buf, int(raw.Off), raw.End(), &m.RequestURI, uriRequestLine); err != nil {
		m.fail2(ErrBadRequestURI, off, HdrOther)
	}
	return m.tier2Err()
}

// ParseVias parses every via-parm of every Via header field line into
// [Message.Vias], top first.
func (m *Message) ParseVias() error {
	if m.done&doneVias != 0 {
		return m.tier2Err()
	}
	m.done |= doneVias
	lim := m.Limits.withDefaults()
	m.Vias = m.Vias[:0]
	for idx := range m.Headers {
		h := &m.Headers[idx]
		if h.ID != HdrVia {
			continue
		}
		i, end := int(h.Value.Off), h.Value.End()
		for {
			if len(m.Vias) >= lim.MaxValues {
				m.fail2(ErrTooManyValues, i, HdrVia)
				return m.tier2Err()
			}
			m.Vias = append(m.Vias, Via{})
			v := &m.Vias[len(m.Vias)-1]
			j, err := parseVia(m.buf, i, end, v)
			if err != nil {
				m.Vias = m.Vias[:len(m.Vias)-1]
				m.fail2(err, j, HdrVia)
				return m.tier2Err()
			}
			v.Header = uint16(idx)
			if j >= end {
				break
			}
			i = j + 1 // past ','
		}
	}
	return m.tier2Err()
}

// ParseAddrs parses the URIs of From and To, and every value of Contact,
// Route and Record-Route into [Message.Contacts], [Message.Routes] and
// [Message.RecordRoutes].
func (m *Message) ParseAddrs() error {
	if m.done&doneAddrs != 0 {
		return m.tier2Err()
	}
	m.done |= doneAddrs
	for _, a := range [...]*Addr{&m.From, &m.To} {
		if a.Raw.Empty() {
			continue // absent
		}
		if off, err := parseAddrURI(m.buf, a); err != nil {
			id := HdrFrom
			if a == &m.To {
				id = HdrTo
			}
			m.fail2(err, off, id)
			return m.tier2Err()
		}
	}
	const lists = 1<<HdrContact | 1<<HdrRoute | 1<<HdrRecordRoute
	if m.seen&lists == 0 {
		return m.tier2Err()
	}
	lim := m.Limits.withDefaults()
	for idx := range m.Headers {
		h := &m.Headers[idx]
		var list *[]Addr
		switch h.ID {
		case HdrContact:
			list = &m.Contacts
		case HdrRoute:
			list = &m.Routes
		case HdrRecordRoute:
			list = &m.RecordRoutes
		default:
			continue
		}
		if err := m.addrList(int(h.Value.Off), h.Value.End(), h.ID, list, &lim); err != nil {
			return err
		}
	}
	return m.tier2Err()
}

// ParseAll runs ParseURI, ParseVias and ParseAddrs and returns the first
// error.
func (m *Message) ParseAll() error {
	_ = m.ParseURI()
	_ = m.ParseVias()
	_ = m.ParseAddrs()
	return m.tier2Err()
}

func (m *Message) addrList(i, end int, id HeaderID, list *[]Addr, lim *Limits) error {
	for {
		if len(*list) >= lim.MaxValues {
			m.fail2(ErrTooManyValues, i, id)
			return m.tier2Err()
		}
		*list = append(*list, Addr{})
		a := &(*list)[len(*list)-1]
		j, err := scanAddr(m.buf, i, end, a, true)
		if err == nil {
			j, err = parseAddrURI(m.buf, a)
			if err == nil {
				j = a.Raw.End()
				j = skipLWS(m.buf, j, end)
			}
		}
		if err != nil {
			*list = (*list)[:len(*list)-1]
			m.fail2(err, j, id)
			return m.tier2Err()
		}
		if a.Star && (id != HdrContact || j < end || len(*list) > 1) {
			m.fail2(ErrBadAddress, j, id)
			return m.tier2Err()
		}
		if j >= end {
			return nil
		}
		i = j + 1 // past ','
	}
}

func (m *Message) fail2(err error, off int, h HeaderID) {
	if m.err2.Err == nil {
		m.err2 = m.newError(err, off, h)
	}
}

func (m *Message) tier2Err() error {
	if m.err2.Err != nil {
		return &m.err2
	}
	return nil
}

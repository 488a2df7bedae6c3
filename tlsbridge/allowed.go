package tlsbridge

// AllowList returns the current allow list. It may be called from any
// goroutine; the list never changes (replacements swap in a new one).
func (m *Manager) AllowList() *AllowList { return m.allowed.Load() }

// AllowedDomains returns a copy of the current allow list's entries.
func (m *Manager) AllowedDomains() []string { return m.allowed.Load().Entries() }

// SetAllowedDomains replaces the allow list; handshakes verified
// afterwards use the new one. nil restores the default {"localhost"}; a
// non-nil empty list allows any peer. It may be called from any goroutine.
func (m *Manager) SetAllowedDomains(domains []string) error {
	if domains == nil {
		domains = []string{DefaultAllowedDomain}
	}
	l, err := NewAllowList(domains)
	if err != nil {
		return err
	}
	m.allowed.Store(l)
	return nil
}

// AllowsAnyPeer reports whether mutual TLS is on with an empty allow list,
// so that any peer with a trusted certificate is accepted. The engine logs
// a warning when this is true at start.
func (m *Manager) AllowsAnyPeer() bool {
	return m.cfg.MutualTLS && m.allowed.Load().Len() == 0
}

// autoAllow adds name to the allow list when mutual TLS is on, auto-allow
// is not switched off and the list is not empty (an empty list already
// allows everyone; adding would restrict it).
func (m *Manager) autoAllow(name string) {
	if !m.cfg.MutualTLS || m.cfg.NoAutoAllow || name == "" {
		return
	}
	for {
		old := m.allowed.Load()
		if old.Len() == 0 {
			return
		}
		nl := old.with(name)
		if nl == old {
			return
		}
		if m.allowed.CompareAndSwap(old, nl) {
			m.stats.autoAllowed.Add(1)
			m.log.Info("tlsbridge: allowed domain added by outgoing connection", "name", name)
			return
		}
	}
}

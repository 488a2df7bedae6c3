package engine

// ClientManager is a manager that only makes outgoing connections: it never
// listens, but its connections run on gnet event loops like a server's.
type ClientManager struct {
	Manager
}

// NewClientManager returns a client manager for cfg; call Start, then Dial.
func NewClientManager(cfg Config) (*ClientManager, error) {
	s := new(ClientManager)
	if err := s.init(cfg); err != nil {
		return nil, err
	}
	return s, nil
}

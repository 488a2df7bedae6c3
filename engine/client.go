package engine

// ClientManager is a manager that only makes outgoing connections: it never
// listens, but its connections run on gnet event loops like a server's. By
// default it shares no connection between endpoints (Config.PoolSize
// defaults to pool.Unlimited), and its dispatcher refuses peer-to-peer
// endpoints (dispatch.ErrPeerToPeerOnClient).
type ClientManager struct {
	Manager
}

// NewClientManager returns a client manager for cfg; call Start, add
// endpoints to its Dispatcher, and send.
func NewClientManager(cfg Config) (*ClientManager, error) {
	s := new(ClientManager)
	if err := s.init(cfg, true); err != nil {
		return nil, err
	}
	return s, nil
}

package loadgen

import (
	"context"
	"crypto/tls"
	"net"
	"time"
)

// TLSDialer returns a DialFunc for SIP over TLS: it connects within
// timeout (zero means DefaultDialTimeout) and runs a TLS client handshake
// with conf, bounded by the context Run gives it. When conf has no
// ServerName, the host of the address is used, as crypto/tls.Dialer does.
// Set Config.Transport to "TLS" for the Via header field. conf is not
// modified.
func TLSDialer(conf *tls.Config, timeout time.Duration) DialFunc {
	if timeout == 0 {
		timeout = DefaultDialTimeout
	}
	d := &tls.Dialer{NetDialer: &net.Dialer{Timeout: timeout}, Config: conf}
	return func(ctx context.Context, network, address string) (net.Conn, error) {
		return d.DialContext(ctx, network, address)
	}
}

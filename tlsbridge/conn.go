package tlsbridge

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/valyala/bytebufferpool"
)

// Transport is the event-loop connection under a [Conn]. The engine
// implements it over gnet.Conn.
type Transport interface {
	// Write sends p. Loop only (gnet: Conn.Write). It must accept every
	// byte, queueing what the socket does not take: crypto/tls treats any
	// error from it as permanent and the connection is then dead. p is
	// reused when Write returns, so copy what is kept.
	Write(p []byte) (int, error)
	// AsyncWrite sends p from any goroutine (gnet: Conn.AsyncWrite); the
	// transport owns p. The handshake writes through it. Its bytes must
	// go out in call order and before anything written by Write after
	// the engine learned that Handshake returned (gnet runs AsyncWrite as
	// a high-priority task, before an EventLoop.Execute queued later).
	AsyncWrite(p []byte) error
}

// Errors of Conn's methods.
var (
	ErrNotActive        = errors.New("tlsbridge: connection not active: handshake not done or Activate not called")
	ErrHandshakeRunning = errors.New("tlsbridge: handshake still running")
	ErrClosed           = errors.New("tlsbridge: connection closed")
	ErrHandshakeFlood   = errors.New("tlsbridge: too much input during the handshake")
)

// Conn is crypto/tls over a non-blocking event-loop connection.
//
// Life of a Conn, with the goroutine allowed for each call:
//
//  1. [Manager.Accept] or [Manager.Connect] makes it (any goroutine).
//  2. The engine runs [Conn.Handshake] on a goroutine of its own, while
//     the loop passes every inbound byte to [Conn.Feed] (loop). The
//     handshake writes through Transport.AsyncWrite.
//  3. When Handshake returns nil, the engine calls [Conn.Activate] on the
//     loop (gnet: EventLoop.Execute). From then on Feed decrypts on the
//     loop into a plaintext buffer read with [Conn.Buffered] and
//     [Conn.Discard], and [Conn.Write] encrypts to Transport.Write.
//     If Handshake fails, the engine closes the connection.
//  4. [Conn.Close] (loop) when the connection goes away, at any stage.
type Conn struct {
	m      *Manager
	tc     *tls.Conn
	t      Transport
	remote net.Addr
	out    bool
	dst    Outbound
	peer   string // verified peer name; written before hsDone
	cert   *x509.Certificate

	// Handshake phase, guarded by mu.
	mu     sync.Mutex
	cond   sync.Cond
	hsIn   []byte // ciphertext fed and not yet read by the handshake
	hsOff  int
	closed bool

	hsDone atomic.Bool // Handshake returned; hsErr, peer, cert are set
	hsErr  error

	// Loop phase: loop only.
	released bool   // Close was called
	loop     bool   // Activate succeeded
	src      []byte // ciphertext of the current Feed not yet read by crypto/tls
	plain    *bytebufferpool.ByteBuffer
	off      int   // consumed prefix of plain.B
	err      error // sticky read error

	rec records // framing of the bytes handed to crypto/tls (pipe.Read's goroutine)

	keys    *keyLog   // traffic secrets logged by crypto/tls; nil when not wanted
	version uint16    // negotiated; written before hsDone
	suite   uint16    // negotiated; written before hsDone
	r13     *record13 // our TLS 1.3 record layer, set by Activate when it applies
}

// Accept returns the Conn of an incoming connection on t. remote is used
// in logs and RemoteAddr; it may be nil. Any goroutine.
func (m *Manager) Accept(t Transport, remote net.Addr) (*Conn, error) {
	if m.cfg.Client {
		return nil, ErrClientManager
	}
	c := m.newConn(t, remote)
	cfg := m.server
	if c.keys != nil {
		cfg = m.server.Clone()
		cfg.KeyLogWriter = c.keys
	}
	c.tc = tls.Server((*pipe)(c), cfg)
	return c, nil
}

// Connect returns the Conn of an outgoing connection on t to dst. Any
// goroutine.
func (m *Manager) Connect(t Transport, remote net.Addr, dst Outbound) *Conn {
	c := m.newConn(t, remote)
	c.out = true
	c.dst = dst
	cfg := m.ClientConfig(dst, &c.peer)
	if c.keys != nil {
		cfg.KeyLogWriter = c.keys
	}
	c.tc = tls.Client((*pipe)(c), cfg)
	return c
}

func (m *Manager) newConn(t Transport, remote net.Addr) *Conn {
	c := &Conn{m: m, t: t, remote: remote}
	c.cond.L = &c.mu
	if !m.cfg.DisableRecordLayer {
		c.keys = new(keyLog)
	}
	return c
}

// Handshake runs the TLS handshake and blocks until it ends, the context
// ends, Config.HandshakeTimeout passes or the Conn is closed. Call it once,
// on a goroutine that is not an event loop. On failure the error is an
// *[Error], already counted and logged, and the connection must be closed.
//
// With TLS 1.3 a client's handshake ends before the server has checked the
// client certificate; a refusal by the server shows up as an error from
// the first Feed.
func (c *Conn) Handshake(ctx context.Context) error {
	if d := c.m.cfg.handshakeTimeout(); d > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
	err := c.tc.HandshakeContext(ctx)
	if err == nil {
		c.established()
	} else {
		err = c.failed(err)
	}
	c.mu.Lock()
	if c.keys != nil && (err != nil || c.closed) {
		c.keys.wipe()
	}
	c.mu.Unlock()
	c.hsErr = err
	c.hsDone.Store(true)
	return err
}

func (c *Conn) established() {
	cs := c.tc.ConnectionState()
	c.version, c.suite = cs.Version, cs.CipherSuite
	if len(cs.PeerCertificates) > 0 {
		c.cert = cs.PeerCertificates[0]
	}
	if c.out {
		c.m.stats.connected.Add(1)
		c.m.autoAllow(c.peer)
		return
	}
	c.m.stats.accepted.Add(1)
	if c.cert != nil {
		c.peer, _ = c.m.allowed.Load().AllowsAny(Identities(c.cert))
	}
}

func (c *Conn) failed(err error) error {
	var e *Error
	if !errors.As(err, &e) { // refusals by our hooks are counted there
		r := ReasonOther
		if errors.Is(err, context.DeadlineExceeded) {
			r = ReasonHandshakeTimeout
		}
		e = &Error{Reason: r, Err: err}
		c.m.count(e)
	}
	dir := "in"
	if c.out {
		dir = "out"
	}
	level := c.m.log.Warn
	if e.Reason == ReasonOther {
		level = c.m.log.Info
	}
	level("tlsbridge: handshake failed", "reason", e.Reason.String(), "dir", dir,
		"remote", c.tc.RemoteAddr().String(), "host", c.dst.Host, "err", e)
	return e
}

// Activate switches the Conn to loop mode after Handshake returned nil, and
// decrypts what arrived meanwhile (check Buffered afterwards). It returns
// the handshake's error if it failed, ErrHandshakeRunning if it has not
// returned yet. Loop only.
func (c *Conn) Activate() error {
	if !c.hsDone.Load() {
		return ErrHandshakeRunning
	}
	if c.hsErr != nil {
		return c.hsErr
	}
	if c.loop {
		return nil
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return ErrClosed
	}
	src := c.hsIn[c.hsOff:]
	c.hsIn, c.hsOff = nil, 0
	c.loop = true
	c.mu.Unlock()
	// The handshake handed crypto/tls one record at a time (pipe.Read),
	// so src starts at the first record after the handshake.
	c.startRecord13()
	if c.r13 != nil {
		return c.feed13(src)
	}
	c.src = src
	err := c.decrypt()
	c.src = nil
	return err
}

// Feed hands the Conn ciphertext read from the network. Loop only. p is
// not kept after Feed returns.
//
// Before Activate, the bytes are copied for the handshake goroutine. After
// it, they are decrypted at once into the plaintext buffer (see
// Buffered): by the package's TLS 1.3 record layer, with no allocation, or
// by crypto/tls (TLS 1.2, ChaCha20-Poly1305, Config.DisableRecordLayer),
// whose reads allocate; a partial record waits for the next Feed. A
// record we refuse sends the peer an alert and counts in
// Stats.RecordErrors. It may write (a KeyUpdate answer, an alert). A
// non-nil error means the connection is finished (io.EOF
// after the peer's close_notify, an alert, a corrupt record, the error of
// a failed handshake, ErrClosed): close it.
func (c *Conn) Feed(p []byte) error {
	if !c.loop {
		if c.released {
			return ErrClosed
		}
		if c.hsDone.Load() && c.hsErr != nil {
			return c.hsErr
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.closed {
			return ErrClosed
		}
		if len(c.hsIn)+len(p) > maxHandshakeInput {
			return ErrHandshakeFlood
		}
		c.hsIn = append(c.hsIn, p...)
		c.cond.Signal()
		return nil
	}
	if c.err != nil {
		return c.err
	}
	if c.r13 != nil {
		return c.feed13(p)
	}
	c.src = p
	err := c.decrypt()
	c.src = nil
	return err
}

// decrypt reads plaintext from crypto/tls until c.src is used up and
// crypto/tls holds no complete record.
func (c *Conn) decrypt() error {
	if c.err != nil {
		return c.err
	}
	if c.plain != nil && c.off > 0 {
		n := copy(c.plain.B, c.plain.B[c.off:])
		c.plain.B, c.off = c.plain.B[:n], 0
	}
	// Free space for the longest record pending: its plaintext is
	// shorter than its body, so each Read takes one record whole.
	need := c.rec.peekMax(c.src) + 1
	for len(c.src) > 0 || c.rec.ready > 0 {
		if c.plain == nil {
			c.plain = c.m.plain.Get()
		}
		b := c.plain.B
		if cap(b)-len(b) < need {
			b = slices.Grow(b, need)
		}
		free := b[len(b):cap(b)]
		n, err := c.tc.Read(free)
		c.plain.B = b[:len(b)+n]
		if n > 0 && n < len(free) && c.rec.ready > 0 {
			c.rec.ready-- // a record was read whole
		}
		if err == errWouldBlock {
			c.rec.resync()
			break
		}
		if err != nil {
			c.err = err
			if isLocalError(err) {
				c.m.stats.recordErrors.Add(1)
			}
			break
		}
	}
	c.release()
	return c.err
}

// release returns an empty plaintext buffer to the pool, so an idle Conn
// holds none. bytebufferpool sizes new buffers and drops big ones by the
// lengths it is given back; the length handed back is the capacity, which
// is what the next user needs.
func (c *Conn) release() {
	if c.plain != nil && c.off == len(c.plain.B) {
		c.plain.B = c.plain.B[:cap(c.plain.B)]
		c.m.plain.Put(c.plain)
		c.plain, c.off = nil, 0
	}
}

// Buffered returns the decrypted bytes not yet discarded. The slice is
// valid until the next Feed, Discard or Close. Loop only.
func (c *Conn) Buffered() []byte {
	if c.plain == nil {
		return nil
	}
	return c.plain.B[c.off:]
}

// Discard consumes the first n bytes of Buffered. Loop only.
func (c *Conn) Discard(n int) {
	if c.plain == nil || n <= 0 {
		return
	}
	c.off = min(c.off+n, len(c.plain.B))
	c.release()
}

// Write encrypts p into TLS records and passes them to Transport.Write:
// with the TLS 1.3 record layer, records of up to 16 KiB sealed into a
// pooled buffer, up to 64 KiB per Transport.Write. It does not allocate.
// Any error is permanent: close the connection. Loop only, after
// Activate.
func (c *Conn) Write(p []byte) (int, error) {
	if !c.loop {
		return 0, ErrNotActive
	}
	if c.r13 != nil {
		return c.write13(p)
	}
	return c.tc.Write(p)
}

// CloseNotify sends a close_notify alert, to be followed by closing the
// transport. Loop only, after Activate.
func (c *Conn) CloseNotify() error {
	if !c.loop {
		return ErrNotActive
	}
	if c.r13 != nil {
		return c.closeNotify13()
	}
	return c.tc.CloseWrite()
}

// Close releases the Conn's buffers and wakes a running handshake, which
// then fails. It does not close the transport. Loop only.
func (c *Conn) Close() error {
	c.released = true
	c.mu.Lock()
	c.closed = true
	c.hsIn, c.hsOff = nil, 0
	c.cond.Broadcast()
	c.mu.Unlock()
	if c.keys != nil {
		c.keys.wipe() // a handshake still running wipes them when it returns
	}
	if c.r13 != nil {
		c.close13()
	}
	if c.loop {
		c.src = nil
		if c.err == nil {
			c.err = ErrClosed
		}
		if c.plain != nil {
			c.off = len(c.plain.B)
			c.release()
		}
	}
	return nil
}

// Outgoing reports whether the Conn was made by Connect. Any goroutine.
func (c *Conn) Outgoing() bool { return c.out }

// PeerIdentity returns the name the peer was verified as: for outgoing
// connections the destination host or expected name that its certificate
// matched; for incoming mutual TLS the first of its identities that the
// allow list allowed (the first identity when the list is empty). It is ""
// before the handshake succeeded or when the peer sent no certificate.
// Any goroutine.
func (c *Conn) PeerIdentity() string {
	if !c.hsDone.Load() || c.hsErr != nil {
		return ""
	}
	return c.peer
}

// PeerCertificate returns the peer's leaf certificate after a successful
// handshake, or nil. Any goroutine.
func (c *Conn) PeerCertificate() *x509.Certificate {
	if !c.hsDone.Load() || c.hsErr != nil {
		return nil
	}
	return c.cert
}

// ConnectionState returns crypto/tls's view of the connection. Any
// goroutine; it blocks while the handshake runs, and allocates.
func (c *Conn) ConnectionState() tls.ConnectionState { return c.tc.ConnectionState() }

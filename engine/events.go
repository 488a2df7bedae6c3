package engine

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"time"

	"github.com/panjf2000/gnet/v2"

	"github.com/sipcm/sipcm/sipparse"
)

// events is the gnet.EventHandler of a manager.
type events struct {
	gnet.BuiltinEventEngine
	m *Manager
}

// OnOpen runs on the loop when an enrolled connection joins it.
func (e *events) OnOpen(gc gnet.Conn) ([]byte, gnet.Action) {
	c, _ := gc.Context().(*Conn)
	if c == nil {
		return nil, gnet.Close
	}
	m := e.m
	l := m.loopOf(gc.EventLoop())
	c.gc, c.l = gc, l
	l.now = m.clock.Now()
	c.lastActive.Store(int64(l.now))
	switch {
	case c.dir == Incoming && m.cfg.FirstMessageTimeout > 0:
		c.awaitingFirst = true
		l.wheel.Add(&c.timer, l.now+m.cfg.FirstMessageTimeout)
	default:
		l.armIdle(c)
	}
	if c.dir == Incoming {
		l.stats.connsIn.inc()
		l.stats.accepted.inc()
	} else {
		l.stats.connsOut.inc()
		l.stats.dialed.inc()
	}
	l.add(c)
	c.opened.Store(true)
	m.log.Debug("engine: connection open", "conn", c.id, "direction", c.dir,
		"transport", c.transport, "local", c.local, "remote", c.remote)
	if c.tls != nil {
		// The handler hears of a TLS connection once its handshake is
		// done (tlsDone).
		if !m.startHandshake(c) {
			return nil, gnet.Close
		}
		return nil, gnet.None
	}
	if m.ch != nil {
		m.ch.HandleOpen(c)
	}
	return nil, gnet.None
}

// OnClose runs on the loop when a connection closes, whoever closed it.
func (e *events) OnClose(gc gnet.Conn, err error) gnet.Action {
	c, _ := gc.Context().(*Conn)
	if c == nil || c.l == nil || c.closed.Load() {
		return gnet.None
	}
	m, l := e.m, c.l
	c.closed.Store(true)
	l.wheel.Cancel(&c.timer)
	l.remove(c)
	if l.cur == c {
		l.out = l.out[:0]
	}
	if c.dir == Incoming {
		l.stats.connsIn.dec()
		m.release(c.remote.Addr())
	} else {
		l.stats.connsOut.dec()
	}
	if err != nil && errors.Is(err, io.EOF) {
		err = nil
	}
	if c.tls != nil {
		l.closedTLS(c)
	}
	m.log.Debug("engine: connection closed", "conn", c.id, "direction", c.dir,
		"remote", c.remote, "err", err)
	m.disp.HandleClose(c, err) // ends the requests outstanding on c
	m.dropPooled(c)
	if m.ch != nil && (c.tls == nil || c.tls.announced) {
		m.ch.HandleClose(c, err)
	}
	return gnet.None
}

// OnTick runs on gnet's ticker goroutine, not on a loop: it only hands a
// tick to each loop.
func (e *events) OnTick() (time.Duration, gnet.Action) {
	e.m.tick()
	return e.m.cfg.Tick, gnet.None
}

// OnTraffic frames, parses and dispatches what the connection has buffered.
// It reads with Peek and Discard, never Next, so that bytes the loop just
// read are not copied; bytes left over from an earlier read are in gnet's
// ring buffer and Peek joins them in a pooled buffer.
func (e *events) OnTraffic(gc gnet.Conn) gnet.Action {
	c, _ := gc.Context().(*Conn)
	if c == nil || c.l == nil {
		return gnet.Close
	}
	l := c.l
	l.now = l.m.clock.Now()
	c.lastActive.Store(int64(l.now))
	if c.tls != nil {
		return l.trafficTLS(c, gc)
	}
	buf, _ := gc.Peek(-1)
	off, action := l.frame(c, buf)
	if c.closed.Load() {
		// Closed under us (a failed write): gnet has released the
		// connection; touch nothing more.
		return gnet.None
	}
	if off > 0 {
		_, _ = gc.Discard(off)
		c.bytesIn.add(uint64(off))
		l.stats.bytesIn.add(uint64(off))
	}
	l.flush(c)
	return action
}

// frame frames, parses and handles the messages at the start of buf, the
// bytes c has buffered (plaintext for TLS), and returns how many it
// consumed. Writes to c are gathered meanwhile; the caller flushes them.
// The caller must check c.closed first when it returns. Loop only.
func (l *loop) frame(c *Conn, buf []byte) (int, gnet.Action) {
	l.cur = c
	action := gnet.None
	off := 0
	for off < len(buf) {
		n, kind, err := c.framer.Next(buf[off:])
		if err != nil {
			if err == sipparse.ErrNeedMore {
				break
			}
			fe, _ := err.(*sipparse.FrameError)
			if fe == nil || fe.Fatal {
				l.stats.framingErrors.inc()
				l.logFrameError(c, err)
				action = gnet.Close
				break
			}
			// An oversize message: answer its header section with 513;
			// the framer skips its body.
			l.stats.oversize.inc()
			l.answerOversize(c, buf[off:off+n])
		} else {
			switch kind {
			case sipparse.FrameMessage:
				l.message(c, buf[off:off+n])
			case sipparse.FramePing:
				l.stats.pings.inc()
				_ = c.write(crlf, false)
			}
		}
		off += n
		if c.closed.Load() {
			break
		}
	}
	l.cur = nil
	return off, action
}

var crlf = []byte("\r\n")

// message parses one framed message and hands it to the handler. Loop only.
func (l *loop) message(c *Conn, b []byte) {
	msg := &l.msg
	if err := msg.Parse(b); err != nil {
		l.refuse(c, msg, err)
		return
	}
	c.msgsIn.inc()
	l.stats.messagesIn.inc()
	if c.awaitingFirst {
		c.awaitingFirst = false
		l.armIdle(c)
	}
	if msg.Request {
		// Responses built from it get received/rport (RFC 3261 §18.2.1,
		// RFC 3581); forwarding uses sipparse.AppendForward.
		msg.SetSource(c.remoteHost, int(c.remote.Port()))
	}
	l.m.h.HandleMessage(c, msg)
}

// refuse answers a request the parser refused with the status it chose,
// or drops a message that cannot be answered. Loop only.
func (l *loop) refuse(c *Conn, msg *sipparse.Message, err error) {
	pe, _ := err.(*sipparse.ParseError)
	if pe == nil || !msg.Answerable() {
		l.stats.badMessages.inc()
		if l.m.log.Enabled(context.Background(), slog.LevelDebug) {
			l.m.log.Debug("engine: message dropped", "conn", c.id, "remote", c.remote, "err", err)
		}
		return
	}
	l.stats.badRequests.inc()
	msg.SetSource(c.remoteHost, int(c.remote.Port()))
	if l.m.log.Enabled(context.Background(), slog.LevelDebug) {
		l.m.log.Debug("engine: request refused", "conn", c.id, "remote", c.remote,
			"status", pe.Status, "err", err)
	}
	l.respond(c, msg, pe.Status)
}

// answerOversize answers 513 to an oversize request from its header
// section. Loop only.
func (l *loop) answerOversize(c *Conn, hdr []byte) {
	msg := &l.msg
	_ = msg.Parse(hdr)
	if l.m.log.Enabled(context.Background(), slog.LevelDebug) {
		l.m.log.Debug("engine: message too large", "conn", c.id, "remote", c.remote)
	}
	if msg.Answerable() {
		msg.SetSource(c.remoteHost, int(c.remote.Port()))
		l.respond(c, msg, 513)
	}
}

// respond sends a response the engine makes by itself. Loop only.
func (l *loop) respond(c *Conn, msg *sipparse.Message, status int) {
	_ = c.Respond(msg, status, "")
}

func (l *loop) logFrameError(c *Conn, err error) {
	l.m.log.Info("engine: framing lost, closing connection", "conn", c.id,
		"remote", c.remote, "err", err)
}

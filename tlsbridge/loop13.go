package tlsbridge

import (
	"bytes"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"io"
	"slices"
	"sync"

	"github.com/valyala/bytebufferpool"
)

// keyLog is the tls.Config.KeyLogWriter of one Conn: it keeps the TLS 1.3
// application traffic secrets in memory for the record layer and nothing
// else. crypto/tls calls it on the handshake goroutine, before Handshake
// returns; the loop reads the secrets after it did (hsDone).
type keyLog struct {
	mu             sync.Mutex
	client, server [48]byte
	clientN        int
	serverN        int
}

var (
	labelClientTraffic = []byte("CLIENT_TRAFFIC_SECRET_0 ")
	labelServerTraffic = []byte("SERVER_TRAFFIC_SECRET_0 ")
)

// Write takes one NSS key log line, "LABEL <client random> <secret>\n",
// and clears it: crypto/tls formats the line in a buffer of its own that
// it drops after the call.
func (k *keyLog) Write(line []byte) (int, error) {
	n := len(line)
	defer clear(line)
	var dst *[48]byte
	var dn *int
	switch {
	case bytes.HasPrefix(line, labelClientTraffic):
		dst, dn = &k.client, &k.clientN
	case bytes.HasPrefix(line, labelServerTraffic):
		dst, dn = &k.server, &k.serverN
	default:
		return n, nil
	}
	fields := bytes.Fields(line)
	if len(fields) != 3 || hex.DecodedLen(len(fields[2])) > len(dst) {
		return n, nil
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	m, err := hex.Decode(dst[:], fields[2])
	if err != nil {
		clear(dst[:])
		return n, nil
	}
	*dn = m
	return n, nil
}

// wipe clears the secrets.
func (k *keyLog) wipe() {
	k.mu.Lock()
	clear(k.client[:])
	clear(k.server[:])
	k.clientN, k.serverN = 0, 0
	k.mu.Unlock()
}

// startRecord13 sets up the TLS 1.3 record layer when the connection's
// version and suite allow it and the secrets were logged; otherwise loop
// mode stays on crypto/tls. It wipes the logged secrets either way. Loop
// only, from Activate.
func (c *Conn) startRecord13() {
	k := c.keys
	if k == nil {
		return
	}
	defer k.wipe()
	if c.version != tls.VersionTLS13 { // keys is nil under DisableRecordLayer
		return
	}
	s, ok := suite13ByID(c.suite)
	k.mu.Lock()
	defer k.mu.Unlock()
	if !ok || k.clientN != s.size || k.serverN != s.size {
		return
	}
	r, err := newRecord13(s, c.out, k.client[:s.size], k.server[:s.size])
	if err != nil {
		return
	}
	c.r13 = r
}

// feed13 decrypts the records of p into the plaintext buffer, keeping a
// partial record for the next Feed. Loop only.
func (c *Conn) feed13(p []byte) error {
	if c.err != nil {
		return c.err
	}
	r := c.r13
	if c.plain != nil && c.off > 0 {
		n := copy(c.plain.B, c.plain.B[c.off:])
		c.plain.B, c.off = c.plain.B[:n], 0
	}
	if r.carry != nil {
		for len(p) > 0 {
			need, err := recordNeed(r.carry.B)
			if err != nil {
				return c.fail13(err)
			}
			if need == 0 {
				break
			}
			k := min(need, len(p))
			r.carry.B = append(r.carry.B, p[:k]...)
			p = p[k:]
		}
		need, err := recordNeed(r.carry.B)
		if err != nil {
			return c.fail13(err)
		}
		if need > 0 {
			return nil // p used up
		}
		err = c.open13(r.carry.B)
		putBuf(&c.m.plain, r.carry)
		r.carry = nil
		if err != nil {
			return c.fail13(err)
		}
	}
	for len(p) > 0 {
		need, err := recordNeed(p)
		if err != nil {
			return c.fail13(err)
		}
		if need > 0 {
			break
		}
		end := recordHeaderLen + bodyLen(p)
		if err := c.open13(p[:end]); err != nil {
			return c.fail13(err)
		}
		p = p[end:]
	}
	if len(p) > 0 {
		r.carry = c.m.plain.Get()
		r.carry.B = append(r.carry.B[:0], p...)
	}
	c.release()
	return nil
}

// recordNeed returns how many more bytes b, which starts at a record
// header, needs to hold the whole record (0 when it does), or an error
// for an invalid header.
func recordNeed(b []byte) (int, error) {
	if len(b) < recordHeaderLen {
		if len(b) > 0 && b[0] != typeApplicationData {
			return 0, errUnexpected
		}
		return recordHeaderLen - len(b), nil
	}
	if b[0] != typeApplicationData {
		// After the handshake every TLS 1.3 record is protected
		// (RFC 8446 §5): a change_cipher_spec or a plaintext record
		// is unexpected.
		return 0, errUnexpected
	}
	n := bodyLen(b)
	if n > maxCiphertext13 {
		return 0, errRecordOverflow
	}
	return max(0, recordHeaderLen+n-len(b)), nil
}

// open13 decrypts one whole record, appends its application data to the
// plaintext buffer and handles alerts and post-handshake messages.
func (c *Conn) open13(rec []byte) error {
	r := c.r13
	ct := rec[recordHeaderLen:]
	if len(ct) < aeadTagLen+1 {
		return errBadRecordMAC
	}
	if c.plain == nil {
		c.plain = c.m.plain.Get()
	}
	b := c.plain.B
	if need := len(ct) - aeadTagLen; cap(b)-len(b) < need {
		b = slices.Grow(b, need)
	}
	out, err := r.in.aead.Open(b[len(b):len(b)], r.in.nextNonce(), ct, rec[:recordHeaderLen])
	if err != nil {
		c.plain.B = b
		return errBadRecordMAC
	}
	i := len(out) - 1
	for i >= 0 && out[i] == 0 {
		i--
	}
	if i < 0 {
		c.plain.B = b
		return errUnexpected // no content type: all padding
	}
	typ, data := out[i], out[:i]
	if len(data) > maxPlaintext {
		c.plain.B = b
		return errRecordOverflow
	}
	if len(r.hs) > 0 && typ != typeHandshake {
		c.plain.B = b
		return errUnexpected // a handshake message interrupted (RFC 8446 §5.1)
	}
	if typ == typeApplicationData {
		c.plain.B = b[:len(b)+len(data)]
		return nil
	}
	c.plain.B = b // data lies past the plaintext: handle it before the next Open
	switch typ {
	case typeAlert:
		if len(data) != 2 {
			return errDecode
		}
		switch data[1] {
		case alertCloseNotify:
			return io.EOF
		case alertUserCanceled:
			return nil // RFC 8446 §6.1: followed by close_notify
		}
		return remoteAlert(data[1])
	case typeHandshake:
		if len(data) == 0 {
			return errUnexpected
		}
		return c.handshake13(data)
	}
	return errUnexpected
}

// handshake13 handles the post-handshake messages of one record.
func (c *Conn) handshake13(data []byte) error {
	r := c.r13
	msgs := data
	if len(r.hs) > 0 {
		if len(r.hs)+len(data) > maxPostHandshake+4 {
			return errUnexpected
		}
		r.hs = append(r.hs, data...)
		msgs = r.hs
	}
	for len(msgs) >= 4 {
		n := int(msgs[1])<<16 | int(msgs[2])<<8 | int(msgs[3])
		if n > maxPostHandshake {
			return errUnexpected
		}
		if len(msgs) < 4+n {
			break
		}
		typ, body := msgs[0], msgs[4:4+n]
		msgs = msgs[4+n:]
		switch typ {
		case msgNewSessionTicket:
			if !r.client {
				return errUnexpected
			}
			// Sessions are not resumed: the ticket is dropped.
		case msgKeyUpdate:
			if len(msgs) > 0 {
				return errUnexpected // must end its record: the key changes
			}
			if len(body) != 1 || body[0] > keyUpdateRequest {
				return errIllegalParam
			}
			if err := r.in.update(r.suite); err != nil {
				return errUnexpected
			}
			if body[0] == keyUpdateRequest {
				if err := c.keyUpdate13(false); err != nil {
					return err
				}
			}
		default:
			return errUnexpected
		}
	}
	if len(msgs) == 0 {
		r.hs = r.hs[:0]
		if cap(r.hs) > 4<<10 {
			r.hs = nil
		}
		return nil
	}
	if len(r.hs) == 0 {
		r.hs = append(r.hs, msgs...)
	} else {
		r.hs = append(r.hs[:0], msgs...) // overlapping copy: msgs is a suffix of r.hs
	}
	return nil
}

// keyUpdate13 sends a KeyUpdate (RFC 8446 §4.6.3), asking the peer to
// update its key too when request is set, and moves to the next sending
// key.
func (c *Conn) keyUpdate13(request bool) error {
	r := c.r13
	if r.wclosed {
		return nil
	}
	v := byte(keyUpdateNotRequest)
	if request {
		v = keyUpdateRequest
	}
	msg := [5]byte{msgKeyUpdate, 0, 0, 1, v}
	buf := c.m.seal.Get()
	buf.B = r.appendRecord(buf.B[:0], typeHandshake, msg[:])
	err := c.send13(buf.B)
	putBuf(&c.m.seal, buf)
	if err != nil {
		return err
	}
	if err := r.out.update(r.suite); err != nil {
		r.werr = err
		return err
	}
	return nil
}

// fail13 ends the connection for err: a local error sends its alert.
func (c *Conn) fail13(err error) error {
	if isLocalError(err) {
		c.m.stats.recordErrors.Add(1)
		if a, ok := alertOf(err); ok {
			c.alert13(alertLevelFatal, a)
		}
	}
	c.err = err
	c.release()
	return err
}

// alertOf returns the alert of a local error.
func alertOf(err error) (uint8, bool) {
	var a tls.AlertError
	if errors.As(err, &a) {
		return uint8(a), true
	}
	return 0, false
}

// alert13 sends an alert and stops writing.
func (c *Conn) alert13(level, desc uint8) {
	r := c.r13
	if r.wclosed || r.werr != nil {
		return
	}
	data := [2]byte{level, desc}
	buf := c.m.seal.Get()
	buf.B = r.appendRecord(buf.B[:0], typeAlert, data[:])
	_ = c.send13(buf.B)
	putBuf(&c.m.seal, buf)
	r.wclosed = true
}

// send13 hands sealed records to the transport.
func (c *Conn) send13(b []byte) error {
	r := c.r13
	if r.werr != nil {
		return r.werr
	}
	n, err := c.t.Write(b)
	if err == nil && n < len(b) {
		err = io.ErrShortWrite
	}
	if err != nil {
		r.werr = err
	}
	return err
}

// writeBatch bounds the sealed bytes handed to one Transport.Write.
const writeBatch = 64 << 10

// write13 seals p into records of at most maxPlaintext bytes and writes
// them, a batch at a time, from a pooled buffer.
func (c *Conn) write13(p []byte) (int, error) {
	r := c.r13
	if r.werr != nil {
		return 0, r.werr
	}
	if r.wclosed {
		return 0, ErrClosed
	}
	buf := c.m.seal.Get()
	defer putBuf(&c.m.seal, buf)
	b := buf.B[:0]
	// Room for one batch: its plaintext and each record's header,
	// content type and tag.
	n := min(len(p), writeBatch)
	if want := n + (n/maxPlaintext+1)*(recordHeaderLen+1+aeadTagLen); cap(b) < want {
		b = slices.Grow(b, want)
	}
	written := 0
	for len(p) > 0 {
		if r.out.seq >= keyUpdateAfter {
			if len(b) > 0 {
				if err := c.send13(b); err != nil {
					buf.B = b
					return written, err
				}
				b = b[:0]
			}
			if err := c.keyUpdate13(false); err != nil {
				buf.B = b
				return written, err
			}
		}
		k := min(len(p), maxPlaintext)
		b = r.appendRecord(b, typeApplicationData, p[:k])
		p = p[k:]
		if len(b) >= writeBatch || len(p) == 0 {
			if err := c.send13(b); err != nil {
				buf.B = b
				return written, err
			}
			b = b[:0]
		}
		written += k
	}
	buf.B = b
	return written, nil
}

// closeNotify13 sends close_notify.
func (c *Conn) closeNotify13() error {
	r := c.r13
	if r.werr != nil {
		return r.werr
	}
	c.alert13(alertLevelWarning, alertCloseNotify)
	return r.werr
}

// close13 releases the record layer's buffers and wipes its keys.
func (c *Conn) close13() {
	r := c.r13
	if r.carry != nil {
		putBuf(&c.m.plain, r.carry)
		r.carry = nil
	}
	r.hs = nil
	r.in.wipe()
	r.out.wipe()
	r.wclosed = true
	if r.werr == nil {
		r.werr = ErrClosed
	}
}

// putBuf gives a buffer back to pool p. bytebufferpool sizes new buffers
// and drops big ones by the lengths it is given back; the length handed
// back is the capacity, which is what the next user needs.
func putBuf(p *bytebufferpool.Pool, b *bytebufferpool.ByteBuffer) {
	b.B = b.B[:cap(b.B)]
	p.Put(b)
}

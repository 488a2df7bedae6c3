package tlsbridge

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"hash"
	"net"

	"github.com/valyala/bytebufferpool"
)

// The TLS 1.3 record layer of loop mode (RFC 8446 §5), for AES-GCM
// suites. crypto/tls runs the whole handshake and every check; this only
// protects application records with the traffic secrets it logged (see
// keyLog), and handles the post-handshake messages a TLS 1.3 peer may
// send: NewSessionTicket (ignored) and KeyUpdate (§4.6.3).

// Record sizes (RFC 8446 §5.1, §5.2).
const (
	recordHeaderLen  = 5
	maxPlaintext     = 1 << 14
	maxCiphertext13  = maxPlaintext + 256
	aeadTagLen       = 16
	aeadNonceLen     = 12
	maxPostHandshake = 1 << 16 // a NewSessionTicket is at most about 2^16 + extensions
)

// bodyLen returns the body length a record header h (recordHeaderLen
// bytes) announces.
func bodyLen(h []byte) int { return int(h[3])<<8 | int(h[4]) }

// Record content types and the handshake message types handled after the
// handshake.
const (
	typeAlert            = 21
	typeHandshake        = 22
	typeApplicationData  = 23
	msgNewSessionTicket  = 4
	msgKeyUpdate         = 24
	alertCloseNotify     = 0
	alertUnexpectedMsg   = 10
	alertBadRecordMAC    = 20
	alertRecordOverflow  = 22
	alertDecodeError     = 50
	alertIllegalParam    = 47
	alertUserCanceled    = 90
	alertLevelWarning    = 1
	alertLevelFatal      = 2
	keyUpdateNotRequest  = 0
	keyUpdateRequest     = 1
	tls13LegacyVersionHi = 3
	tls13LegacyVersionLo = 3
)

// keyUpdateAfter is the number of records sealed under one key after
// which the sender updates it. RFC 8446 §5.5 allows AES-GCM about 2^24.5
// records per key; updating at 2^24 stays inside the limit.
const keyUpdateAfter = 1 << 24

// suite13 is a TLS 1.3 cipher suite the record layer implements.
type suite13 struct {
	hash   func() hash.Hash
	size   int // hash size: length of a traffic secret
	keyLen int
}

// suite13ByID returns the parameters of an AES-GCM TLS 1.3 suite, or
// false. ChaCha20-Poly1305 is not implemented (the standard library has
// no public ChaCha20-Poly1305): connections using it stay on crypto/tls.
func suite13ByID(id uint16) (suite13, bool) {
	switch id {
	case tls.TLS_AES_128_GCM_SHA256:
		return suite13{hash: sha256.New, size: sha256.Size, keyLen: 16}, true
	case tls.TLS_AES_256_GCM_SHA384:
		return suite13{hash: sha512.New384, size: sha512.Size384, keyLen: 32}, true
	}
	return suite13{}, false
}

// expandLabel is HKDF-Expand-Label (RFC 8446 §7.1) with an empty context.
func (s suite13) expandLabel(secret []byte, label string, length int) ([]byte, error) {
	info := make([]byte, 0, 4+6+len(label))
	info = binary.BigEndian.AppendUint16(info, uint16(length))
	info = append(info, byte(6+len(label)))
	info = append(info, "tls13 "...)
	info = append(info, label...)
	info = append(info, 0) // context length
	return hkdf.Expand(s.hash, secret, string(info), length)
}

// trafficKey protects one direction of a connection.
type trafficKey struct {
	aead   cipher.AEAD
	iv     [aeadNonceLen]byte
	nonce  [aeadNonceLen]byte // scratch: kept here so that it does not escape per record
	seq    uint64
	secret [48]byte // current traffic secret, for KeyUpdate; zeroed by wipe
}

// set derives the key and IV of secret (RFC 8446 §7.3) and restarts the
// sequence number.
func (k *trafficKey) set(s suite13, secret []byte) error {
	key, err := s.expandLabel(secret, "key", s.keyLen)
	if err != nil {
		return err
	}
	iv, err := s.expandLabel(secret, "iv", aeadNonceLen)
	if err != nil {
		return err
	}
	block, err := aes.NewCipher(key)
	clear(key)
	if err != nil {
		return err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return err
	}
	k.aead = aead
	copy(k.iv[:], iv)
	clear(iv)
	k.seq = 0
	if &k.secret[0] != &secret[0] {
		clear(k.secret[:])
		copy(k.secret[:], secret)
	}
	return nil
}

// update moves to the next traffic secret (RFC 8446 §7.2).
func (k *trafficKey) update(s suite13) error {
	next, err := s.expandLabel(k.secret[:s.size], "traffic upd", s.size)
	if err != nil {
		return err
	}
	copy(k.secret[:], next)
	clear(next)
	return k.set(s, k.secret[:s.size])
}

// nextNonce returns the nonce of the current record (RFC 8446 §5.3) and
// advances the sequence number.
func (k *trafficKey) nextNonce() []byte {
	k.nonce = k.iv
	var seq [8]byte
	binary.BigEndian.PutUint64(seq[:], k.seq)
	for i, b := range seq {
		k.nonce[4+i] ^= b
	}
	k.seq++
	return k.nonce[:]
}

// wipe forgets the secret and the AEAD. The expanded AES key schedule
// inside the dropped AEAD cannot be cleared from Go; it is unreachable
// once dropped.
func (k *trafficKey) wipe() {
	clear(k.secret[:])
	clear(k.iv[:])
	clear(k.nonce[:])
	k.aead = nil
}

// record13 is the state of the TLS 1.3 record layer of one Conn. Loop
// only.
type record13 struct {
	suite   suite13
	client  bool // our side is the client: NewSessionTicket may arrive
	in, out trafficKey
	carry   *bytebufferpool.ByteBuffer // a partial inbound record, from the manager's pool
	hs      []byte                     // a partial post-handshake message (rare; not pooled)
	wclosed bool                       // close_notify or a fatal alert was sent
	werr    error                      // sticky error of Transport.Write
}

// Errors of the record layer. A local error has sent its alert to the
// peer; errors.As with *net.OpError and Op "local error" finds them, as
// for crypto/tls.
var (
	errBadRecordMAC   = localAlert(alertBadRecordMAC)
	errRecordOverflow = localAlert(alertRecordOverflow)
	errUnexpected     = localAlert(alertUnexpectedMsg)
	errDecode         = localAlert(alertDecodeError)
	errIllegalParam   = localAlert(alertIllegalParam)
)

func localAlert(a uint8) error { return &net.OpError{Op: "local error", Err: tls.AlertError(a)} }

// remoteAlert is the error of a fatal alert from the peer, shaped as
// crypto/tls's.
func remoteAlert(a uint8) error { return &net.OpError{Op: "remote error", Err: tls.AlertError(a)} }

// isLocalError reports whether err is a record-layer error we detected
// (and alerted the peer about), ours or crypto/tls's.
func isLocalError(err error) bool {
	var oe *net.OpError
	return errors.As(err, &oe) && oe.Op == "local error"
}

// newRecord13 sets up the record layer from the traffic secrets that
// crypto/tls logged.
func newRecord13(s suite13, client bool, clientSecret, serverSecret []byte) (*record13, error) {
	r := &record13{suite: s, client: client}
	in, out := clientSecret, serverSecret
	if client {
		in, out = serverSecret, clientSecret
	}
	if err := r.in.set(s, in); err != nil {
		return nil, err
	}
	if err := r.out.set(s, out); err != nil {
		return nil, err
	}
	return r, nil
}

// appendRecord appends to b one record of content type typ carrying
// data (at most maxPlaintext bytes), sealed with r.out.
func (r *record13) appendRecord(b []byte, typ byte, data []byte) []byte {
	start := len(b)
	n := len(data) + 1 + aeadTagLen
	if cap(b)-start < recordHeaderLen+n {
		nb := make([]byte, start, start+recordHeaderLen+n+cap(b))
		copy(nb, b)
		b = nb
	}
	b = append(b, typeApplicationData, tls13LegacyVersionHi, tls13LegacyVersionLo, byte(n>>8), byte(n))
	b = append(b, data...)
	b = append(b, typ)
	body := b[start+recordHeaderLen:]
	sealed := r.out.aead.Seal(body[:0], r.out.nextNonce(), body, b[start:start+recordHeaderLen])
	return b[:start+recordHeaderLen+len(sealed)]
}

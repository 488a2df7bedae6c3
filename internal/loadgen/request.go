package loadgen

import "strconv"

// request builds OPTIONS requests that differ only in a sequence number,
// which goes into the branch, the Call-ID and the CSeq. The fixed parts are
// made once per connection; Append only copies them and formats the number.
type request struct {
	viaHead   []byte // start line and Via up to the branch's number
	callHead  []byte // after the branch number, up to the Call-ID's number
	cseqHead  []byte // after the Call-ID number, up to the CSeq number
	cseqTrail []byte // the rest
}

// newRequest makes the fixed parts for a connection: token makes the branch
// and Call-ID unique across runs and connections; local is the connection's
// local address ("host:port", brackets for IPv6) for the Via.
func newRequest(host, transport, local, token string) *request {
	return &request{
		viaHead: []byte("OPTIONS sip:" + host + " SIP/2.0\r\n" +
			"Via: SIP/2.0/" + transport + " " + local + ";rport;branch=z9hG4bK" + token + "."),
		callHead: []byte("\r\nMax-Forwards: 70\r\n" +
			"To: <sip:" + host + ">\r\n" +
			"From: <sip:sipcm-bench@" + host + ">;tag=" + token + "\r\n" +
			"Call-ID: " + token + "."),
		cseqHead:  []byte("@sipcm-bench\r\nCSeq: "),
		cseqTrail: []byte(" OPTIONS\r\nUser-Agent: sipcm-bench\r\nContent-Length: 0\r\n\r\n"),
	}
}

// Append appends the request with sequence number seq to dst. It does not
// allocate when dst has room.
func (r *request) Append(dst []byte, seq uint32) []byte {
	dst = append(dst, r.viaHead...)
	dst = strconv.AppendUint(dst, uint64(seq), 10)
	dst = append(dst, r.callHead...)
	dst = strconv.AppendUint(dst, uint64(seq), 10)
	dst = append(dst, r.cseqHead...)
	dst = strconv.AppendUint(dst, uint64(seq), 10)
	return append(dst, r.cseqTrail...)
}

// Len returns an upper bound of the length of one request.
func (r *request) Len() int {
	return len(r.viaHead) + len(r.callHead) + len(r.cseqHead) + len(r.cseqTrail) + 3*10
}

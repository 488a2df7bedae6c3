package bench

import (
	"github.com/sipcm/sipcm/internal/sipgoref"
	"github.com/sipcm/sipcm/sipparse"
)

// sipcmFields extracts from a message sipparse accepted the fields the
// differential test compares with sipgo's. Parse guarantees Via, From, To,
// Call-ID and CSeq are present when it returns nil.
func sipcmFields(m *sipparse.Message, buf []byte) sipgoref.Fields {
	f := sipgoref.Fields{
		Request:    m.Request,
		StatusCode: m.StatusCode,
		HasCallID:  true,
		CallID:     string(m.CallID.Bytes(buf)),
		HasCSeq:    true,
		CSeqNum:    m.CSeq.Num,
		CSeqMethod: string(m.CSeq.MethodName.Bytes(buf)),
		ViaCount:   len(m.Vias),
		HasFrom:    true,
		FromTag:    string(m.From.Tag.Bytes(buf)),
		HasTo:      true,
		ToTag:      string(m.To.Tag.Bytes(buf)),
		BodyLen:    int(m.Body.Len),
	}
	if m.Request {
		f.Method = string(m.MethodName.Bytes(buf))
		f.RequestURI = string(m.RequestURI.Raw.Bytes(buf))
	}
	if len(m.Vias) > 0 {
		f.TopBranch = string(m.Vias[0].Branch.Bytes(buf))
	}
	return f
}

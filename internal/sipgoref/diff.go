package sipgoref

import (
	"strconv"
	"strings"
)

// Diff compares the fields sipgo extracted (ref) with those of another
// parser (got) and describes each disagreement, one string per field; nil
// means they agree.
//
// It compares what both parsers expose: start line kind, method, Request-URI
// text, status code, Call-ID, CSeq, the number of Via values, the top Via
// branch, the From and To tags and the body length. It normalises only what
// sipgo changes by design: the method is compared case-insensitively (sipgo
// upper-cases it). RequestURIString and SIPVersion are sipgo-only and are not
// compared. Any goroutine may call Diff.
func Diff(ref, got Fields) []string {
	var d []string
	add := func(field, sipgo, other string) {
		d = append(d, field+": sipgo "+strconv.Quote(sipgo)+", other "+strconv.Quote(other))
	}
	if ref.Request != got.Request {
		add("Request", strconv.FormatBool(ref.Request), strconv.FormatBool(got.Request))
		return d // the rest compares unlike things
	}
	if !strings.EqualFold(ref.Method, got.Method) {
		add("Method", ref.Method, got.Method)
	}
	if ref.RequestURI != got.RequestURI {
		add("RequestURI", ref.RequestURI, got.RequestURI)
	}
	if ref.StatusCode != got.StatusCode {
		add("StatusCode", strconv.Itoa(ref.StatusCode), strconv.Itoa(got.StatusCode))
	}
	if ref.HasCallID != got.HasCallID || ref.CallID != got.CallID {
		add("CallID", ref.CallID, got.CallID)
	}
	if ref.HasCSeq != got.HasCSeq || ref.CSeqNum != got.CSeqNum {
		add("CSeqNum", strconv.FormatUint(uint64(ref.CSeqNum), 10), strconv.FormatUint(uint64(got.CSeqNum), 10))
	}
	if ref.CSeqMethod != got.CSeqMethod {
		add("CSeqMethod", ref.CSeqMethod, got.CSeqMethod)
	}
	if ref.ViaCount != got.ViaCount {
		add("ViaCount", strconv.Itoa(ref.ViaCount), strconv.Itoa(got.ViaCount))
	}
	if ref.TopBranch != got.TopBranch {
		add("TopBranch", ref.TopBranch, got.TopBranch)
	}
	if ref.HasFrom != got.HasFrom || ref.FromTag != got.FromTag {
		add("FromTag", ref.FromTag, got.FromTag)
	}
	if ref.HasTo != got.HasTo || ref.ToTag != got.ToTag {
		add("ToTag", ref.ToTag, got.ToTag)
	}
	if ref.BodyLen != got.BodyLen {
		add("BodyLen", strconv.Itoa(ref.BodyLen), strconv.Itoa(got.BodyLen))
	}
	return d
}

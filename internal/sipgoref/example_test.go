package sipgoref_test

import (
	"fmt"

	"github.com/sipcm/sipcm/internal/corpus"
	"github.com/sipcm/sipcm/internal/sipgoref"
)

func ExampleParser_Parse() {
	m, _ := corpus.Lookup(corpus.OK3Via)
	f, err := sipgoref.NewParser().Parse(m.Bytes)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(f.StatusCode, f.CSeqNum, f.CSeqMethod, f.TopBranch, f.ToTag, f.BodyLen)
	// Output:
	// 200 2 INVITE z9hG4bK721e418c4.1 314159 147
}

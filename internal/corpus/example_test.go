package corpus_test

import (
	"fmt"

	"github.com/sipcm/sipcm/internal/corpus"
)

func ExampleMessages() {
	for _, m := range corpus.Messages() {
		fmt.Println(m.Name, len(m.Bytes))
	}
	// Output:
	// options 456
	// invite 907
	// ok3via 820
	// register-compact 470
	// big4k 4096
}

func ExampleCut() {
	stream, ends := corpus.Stream(corpus.StreamLen)
	chunks := corpus.Cut(stream, 1, 1500)
	n := 0
	for _, c := range chunks {
		n += len(c)
	}
	fmt.Println(len(ends), n == len(stream))
	// Output:
	// 100 true
}

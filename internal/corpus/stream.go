package corpus

import "math/rand/v2"

// StreamLen is the number of messages in the stream that framer benchmarks
// use: Stream(StreamLen).
const StreamLen = 100

// streamSeed fixes the order of the messages in a stream.
const streamSeed = 0x5ec0_5ec0

// Stream returns n corpus messages back to back, as a stream transport
// (TCP, TLS) carries them, and ends, the offset just past each message:
// message i is stream[ends[i-1]:ends[i]] (with ends[-1] taken as 0).
//
// The order is fixed: each run of len(Names()) messages holds every corpus
// message once, in an order drawn from a constant seed, so Stream(100) holds
// each message 20 times. n <= 0 gives an empty stream.
func Stream(n int) (stream []byte, ends []int) {
	if n <= 0 {
		return nil, nil
	}
	msgs := Messages()
	rng := rand.New(rand.NewPCG(streamSeed, streamSeed))
	order := make([]int, len(msgs))
	ends = make([]int, 0, n)
	for i := 0; i < n; i++ {
		k := i % len(msgs)
		if k == 0 {
			for j := range order {
				order[j] = j
			}
			rng.Shuffle(len(order), func(a, b int) { order[a], order[b] = order[b], order[a] })
		}
		stream = append(stream, msgs[order[k]].Bytes...)
		ends = append(ends, len(stream))
	}
	return stream, ends
}

// Cut splits b into consecutive chunks of 1 to maxChunk bytes whose sizes
// come from a pseudo-random generator seeded with seed: the same arguments
// always give the same chunks. Joined in order, the chunks are b.
//
// The chunks alias b; each has its capacity capped at its length, so
// appending to one never overwrites the next. maxChunk < 1 is taken as 1.
func Cut(b []byte, seed uint64, maxChunk int) [][]byte {
	if maxChunk < 1 {
		maxChunk = 1
	}
	rng := rand.New(rand.NewPCG(seed, ^seed))
	var chunks [][]byte
	for len(b) > 0 {
		n := 1 + rng.IntN(maxChunk)
		if n > len(b) {
			n = len(b)
		}
		chunks = append(chunks, b[:n:n])
		b = b[n:]
	}
	return chunks
}

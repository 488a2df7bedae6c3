// Package bench compares sipcm with its Go peer, github.com/emiago/sipgo:
// benchmarks named BenchmarkX/<case>/<impl> (impl sipcm or sipgo) so one
// `go test -bench` run shows both, and differential tests that check both
// parsers read the same values from the same messages.
//
// The package has no API; everything is in its test files. Run
//
//	go test -run '^$' -bench . -benchmem ./bench
package bench

//go:build race

package batch

// raceEnabled is set when the tests run with the race detector, which slows them tenfold.
const raceEnabled = true

//go:build race

package main

// raceEnabled: the tests run with the race detector, which slows the
// child processes several times; the crash test places fewer orders.
const raceEnabled = true

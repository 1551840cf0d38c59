package bulk

import "golang.org/x/sys/cpu"

// EachMove runs f once with each copy routine this machine can run.
func EachMove(f func(name string)) {
	defer func(v bool) { vectorMoves = v }(vectorMoves)
	vectorMoves = false
	f("string")
	if cpu.X86.HasAVX2 {
		vectorMoves = true
		f("vector")
	}
}

// OwnsAhead is whether PrefetchForWrite issues PREFETCHW here.
func OwnsAhead() bool { return ownsAhead }

// Intel is whether CPUID names this CPU's vendor Intel.
func Intel() bool { return intel() }

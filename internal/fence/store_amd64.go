package fence

// Store64 stores v at *p with release ordering: every store this thread
// made before it is visible to a thread that loads v (with acquire
// ordering, as sync/atomic's loads are) before that thread sees v.
//
//go:noescape
func Store64(p *uint64, v uint64)

// Store32 is Store64 for a 4-byte word.
//
//go:noescape
func Store32(p *uint32, v uint32)

//go:noescape
func storePair(p1 *uint64, v1 uint64, p2 *uint64, v2 uint64, both bool)

// StoreInline is Store64 as a Go statement the compiler inlines, for hot
// paths that must make no call: a call costs its return address, its frame
// and the spills of every live value, all stores that queue behind the
// message's own in the store buffer. On amd64 a plain store is a release
// store, and the compiler keeps stores to different words in program
// order: each takes and gives the memory state. (A second store to the
// same word, with no load between, may replace the first: a protocol that
// needs both seen uses Store64.) A load that must follow another uses
// sync/atomic's Load, which keeps its place the same way.
func StoreInline(p *uint64, v uint64) { *p = v }

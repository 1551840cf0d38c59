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

//go:build !amd64

package fence

import "sync/atomic"

// Store64 stores v at *p with (at least) release ordering; here it is
// sync/atomic's sequentially consistent store.
func Store64(p *uint64, v uint64) { atomic.StoreUint64(p, v) }

// Store32 is Store64 for a 4-byte word.
func Store32(p *uint32, v uint32) { atomic.StoreUint32(p, v) }

func storePair(p1 *uint64, v1 uint64, p2 *uint64, v2 uint64, both bool) {
	if both {
		atomic.StoreUint64(p1, v1)
	}
	atomic.StoreUint64(p2, v2)
}

// StoreInline is Store64, inlinable (see the amd64 version).
func StoreInline(p *uint64, v uint64) { atomic.StoreUint64(p, v) }

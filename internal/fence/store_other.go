//go:build !amd64

package fence

import "sync/atomic"

// Store64 stores v at *p with (at least) release ordering; here it is
// sync/atomic's sequentially consistent store.
func Store64(p *uint64, v uint64) { atomic.StoreUint64(p, v) }

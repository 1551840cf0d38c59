package dict

// HoldLock takes d's writer lock and keeps it, as a writer killed holding
// it would.
func HoldLock(d *Dict) error { return d.c.h.DictTestLock() }

// HeapName is the file in /dev/shm that holds d's storage.
func HeapName(d *Dict) string {
	n := d.c.ref[:192]
	for i, b := range n {
		if b == 0 {
			return string(n[:i])
		}
	}
	return string(n)
}

// DieOverwriting sets key's integer value in place and stops where a
// writer killed inside would (stage 1: half the bytes written, seqlock
// odd; stage 2: written, the undo note not yet cleared), keeping the lock.
func DieOverwriting(d *Dict, key string, v int64, stage int) error {
	kt, kb, err := encode(key)
	if err != nil {
		return err
	}
	return d.c.h.DictTestOverwrite(kt, kb, v, stage)
}

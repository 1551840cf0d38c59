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

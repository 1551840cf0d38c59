package pool

// SharedOpened is how many segments this process has mapped to resolve
// array references.
func SharedOpened() int {
	shared.Lock()
	defer shared.Unlock()
	return shared.opened
}

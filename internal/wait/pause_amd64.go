package wait

// Pause tells the processor that the caller is spinning (PAUSE): a sibling
// hardware thread gets the core's resources, and the spin uses less power.
func Pause()

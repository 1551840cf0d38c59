package channel

// WakeCalls is how many wake system calls this process's channels made.
func WakeCalls() int64 { return wakeCalls.Load() }

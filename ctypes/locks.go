package ctypes

import "github.com/shmkit/shmkit/semaphore"

// The lock methods of each locked type, spelled out rather than promoted
// from guard, so that go doc shows them with their own receivers.

// GetLock returns the value's lock, or nil if it has none.
func (v *Value[T]) GetLock() semaphore.Locker { return v.guard.GetLock() }

// Lock takes the value's lock (recursively, for the default lock).
func (v *Value[T]) Lock() error { return v.guard.Lock() }

// Unlock releases the value's lock.
func (v *Value[T]) Unlock() error { return v.guard.Unlock() }

// GetLock returns the array's lock, or nil if it has none.
func (a *Array[T]) GetLock() semaphore.Locker { return a.guard.GetLock() }

// Lock takes the array's lock (recursively, for the default lock).
func (a *Array[T]) Lock() error { return a.guard.Lock() }

// Unlock releases the array's lock.
func (a *Array[T]) Unlock() error { return a.guard.Unlock() }

// GetLock returns the record's lock, or nil if it has none.
func (v *StructValue[T]) GetLock() semaphore.Locker { return v.guard.GetLock() }

// Lock takes the record's lock (recursively, for the default lock).
func (v *StructValue[T]) Lock() error { return v.guard.Lock() }

// Unlock releases the record's lock.
func (v *StructValue[T]) Unlock() error { return v.guard.Unlock() }

// GetLock returns the array of records's lock, or nil if it has none.
func (a *StructArray[T]) GetLock() semaphore.Locker { return a.guard.GetLock() }

// Lock takes the array of records's lock (recursively, for the default lock).
func (a *StructArray[T]) Lock() error { return a.guard.Lock() }

// Unlock releases the array of records's lock.
func (a *StructArray[T]) Unlock() error { return a.guard.Unlock() }

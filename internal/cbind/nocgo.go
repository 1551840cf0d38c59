//go:build !cgo

package cbind

import "unsafe"

// Available reports whether this build has the C primitives.
const Available = false

// Without cgo every primitive fails with ErrNoCgo.

func NamedWait(unsafe.Pointer) error                                 { return ErrNoCgo }
func NamedTryWait(unsafe.Pointer) error                              { return ErrNoCgo }
func NamedTimedWait(unsafe.Pointer, int64) error                     { return ErrNoCgo }
func NamedPost(unsafe.Pointer) error                                 { return ErrNoCgo }
func NamedValue(unsafe.Pointer) (int, error)                         { return 0, ErrNoCgo }
func NamedClose(unsafe.Pointer) error                                { return ErrNoCgo }
func NamedUnlink(string) error                                       { return ErrNoCgo }
func MutexInit(unsafe.Pointer, bool) error                           { return ErrNoCgo }
func MutexLock(unsafe.Pointer) error                                 { return ErrNoCgo }
func MutexTryLock(unsafe.Pointer) error                              { return ErrNoCgo }
func MutexTimedLock(unsafe.Pointer, int64) error                     { return ErrNoCgo }
func MutexUnlock(unsafe.Pointer) error                               { return ErrNoCgo }
func MutexConsistent(unsafe.Pointer) error                           { return ErrNoCgo }
func BarrierInit(unsafe.Pointer, uint32) error                       { return ErrNoCgo }
func BarrierArrive(unsafe.Pointer) (uint32, uint32, error)           { return 0, 0, ErrNoCgo }
func BarrierOutcome(unsafe.Pointer, uint32) error                    { return ErrNoCgo }
func BarrierTimeout(unsafe.Pointer, uint32) error                    { return ErrNoCgo }
func BarrierAbort(unsafe.Pointer) error                              { return ErrNoCgo }
func BarrierReset(unsafe.Pointer) error                              { return ErrNoCgo }
func NamedOpen(string, bool, uint32, uint32) (unsafe.Pointer, error) { return nil, ErrNoCgo }

// Copy is Go's copy.
func Copy(dst, src []byte) { copy(dst, src) }

func RobustThreads() unsafe.Pointer         { return nil }
func MutexLevels(unsafe.Pointer) int        { return 0 }
func RobustRegister(uintptr) error          { return ErrNoCgo }
func RobustLayout() [9]uint64               { return [9]uint64{} }
func RobustSelfTest() (int32, int32, error) { return 0, 0, ErrNoCgo }

package ctypes

import "unsafe"

// unsafeBytes views a non-empty []Char as the []byte it is.
func unsafeBytes(s []Char) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(&s[0])), len(s))
}

//go:build !amd64

package bulk

func copyBytes(dst, src []byte) { copy(dst, src) }

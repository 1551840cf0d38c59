package dict

import "encoding/binary"

// keyHash is the C library's dict_hash: where a key's probe starts (its
// top 32 bits) and what its slot's hash holds. Readers in every language
// must agree on it bit for bit (TestHashMatchesC).
func keyHash(tag int, p []byte) uint64 {
	h := 0x9E3779B97F4A7C15 ^ uint64(uint8(tag))<<56 ^ uint64(len(p))
	for len(p) >= 8 {
		h = (h ^ binary.LittleEndian.Uint64(p)) * 0xBF58476D1CE4E5B9
		h ^= h >> 31
		p = p[8:]
	}
	var w uint64 // the last 0-7 bytes, little-endian, as C's memcpy into a zeroed word
	for i := len(p) - 1; i >= 0; i-- {
		w = w<<8 | uint64(p[i])
	}
	h = (h ^ w) * 0x94D049BB133111EB
	h ^= h >> 29
	h *= 0xBF58476D1CE4E5B9
	h ^= h >> 32
	return h
}

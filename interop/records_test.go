package interop_test

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shmkit/shmkit/channel"
	"github.com/shmkit/shmkit/ctypes"
	"github.com/shmkit/shmkit/internal/proctest"
	"github.com/shmkit/shmkit/shm"
)

// particle and event are the records Go shares with the peers.
type particle struct {
	Pos    [3]float64
	ID     int64
	Kind   uint8
	_      [3]byte
	Charge int32
	Energy float64
}

type event struct {
	Seq   int64
	Where [2]float32
}

// TestRecords: Go makes an array of records and a channel of records; each
// peer reads the layout from the segment (not from a declaration of its
// own), reads the records by their described offsets, and receives the
// channel's records.
func TestRecords(t *testing.T) {
	proctest.NeedCgo(t, "the Go side's locked value or mutex (pthread)")
	eachPeer(t, func(t *testing.T, p peer) {
		seg, name := proctest.Segment(t, 1<<20)
		init := make([]particle, 10)
		for i := range init {
			init[i] = particle{ID: int64(i), Energy: float64(i) / 4, Kind: 1}
		}
		_, err := ctypes.NewStructArrayFrom(seg, "p", init)
		require.NoError(t, err)
		ch, err := channel.New[event](seg, "ev", 4, 3)
		require.NoError(t, err)
		r := start(t, p, "records", name, "p", "ev")
		r.expect(t, "layout particle size=48 Pos:d@0x3 ID:q@24 Kind:B@32 Charge:i@36 Energy:d@40")
		r.expect(t, "records=10 ids=45 energy=11.25")
		const n = 500
		for k := 0; k < n; k += 2 {
			require.NoError(t, ch.Send([]event{{Seq: int64(k)}, {Seq: int64(k + 1), Where: [2]float32{1, 2}}}))
		}
		require.NoError(t, ch.End())
		r.expect(t, fmt.Sprintf("events=%d seq=%s", n, strconv.Itoa(n*(n-1)/2)))
		require.NoError(t, r.cmd.Wait())
	})
}

// wide is a record of eight float64 fields: its arrays have room for
// descriptions of up to eight fields and records of up to 64 bytes.
type wide struct{ A, B, C, D, E, F, G, H float64 }

type descField struct {
	name          string
	code          byte
	offset, count uint32
}

// A desc is a record description as a hostile process may write it.
type desc struct {
	size, align uint32
	fields      []descField
}

func (d desc) String() string { return fmt.Sprintf("size %d align %d %v", d.size, d.align, d.fields) }

// bytes is d as struct shmkit_struct_desc and its fields (cgo/shmkit.h).
func (d desc) bytes() []byte {
	b := make([]byte, 64+64*len(d.fields))
	copy(b, "hostile")
	binary.LittleEndian.PutUint32(b[48:], d.size)
	binary.LittleEndian.PutUint32(b[52:], d.align)
	binary.LittleEndian.PutUint32(b[56:], uint32(len(d.fields)))
	for i, f := range d.fields {
		r := b[64+64*i:]
		copy(r[:47], f.name)
		binary.LittleEndian.PutUint32(r[48:], f.offset)
		binary.LittleEndian.PutUint32(r[52:], f.count)
		r[56] = f.code
	}
	return b
}

// valid is the rule of cgo/shmkit.h, written out again as the test's
// oracle: every field inside the record, after the one before and aligned
// in every record, names distinct.
func (d desc) valid() bool {
	if d.size == 0 || d.size > 64 || d.align == 0 || d.align > 8 || d.align&(d.align-1) != 0 ||
		d.size%d.align != 0 || len(d.fields) == 0 {
		return false
	}
	seen := map[string]bool{}
	end := uint64(0)
	for _, f := range d.fields {
		size := uint32(ctypes.Typecode(f.code).Size())
		if f.name == "" || seen[f.name] || size == 0 || f.count == 0 || f.offset%size != 0 ||
			uint64(f.offset)+uint64(f.count)*uint64(size) > uint64(d.size) || d.size%size != 0 || uint64(f.offset) < end {
			return false
		}
		seen[f.name] = true
		end = uint64(f.offset) + uint64(f.count)*uint64(size)
	}
	return true
}

// hostileDescs are the descriptions that once passed a check and were
// not safe to read, and the near misses around them.
var hostileDescs = []desc{
	{41, 1, []descField{{"x", 'd', 0, 1}}},                                       // misaligned in the second record
	{42, 2, []descField{{"x", 'i', 0, 1}}},                                       // the same, 4 bytes
	{6, 2, []descField{{"x", 'i', 0, 1}, {"c", 'H', 4, 1}}},                      // the same, a uint32 in 6 bytes
	{20, 4, []descField{{"x", 'd', 0, 2}, {"n", 'i', 16, 1}}},                    // float64s in 20 bytes
	{16, 8, []descField{{"x", 'd', 0, 1}, {"x", 'd', 8, 1}}},                     // duplicate names
	{24, 8, []descField{{"x", 'd', 0, 1}, {"y", 'd', 8, 1}, {"x", 'q', 16, 1}}},  // duplicate names apart
	{40, 1, []descField{{"x", 'd', 0, 1}, {"y", 'q', 32, 1}}},                    // size a multiple of 8, align 1: fine
	{9, 1, []descField{{"x", 'B', 0, 9}}},                                        // bytes in any size: fine
	{48, 8, []descField{{"a", 'd', 0, 3}, {"b", 'q', 24, 1}, {"c", 'f', 32, 4}}}, // fine
	{16, 8, []descField{{"a", 'd', 0, 2}, {"b", 'd', 8, 1}}},                     // overlapping: ctypes cannot hold it
	{16, 8, []descField{{"b", 'd', 8, 1}, {"a", 'd', 0, 1}}},                     // out of offset order
}

// randomDescs are n descriptions, each a valid one with up to two
// mutations of the kinds a scribbling process makes, from a fixed seed.
func randomDescs(n int) []desc {
	rng := rand.New(rand.NewPCG(25, 3))
	codes := []byte("cbBhHiIlLqQfduTx\x00")
	var out []desc
	for len(out) < n {
		d := desc{size: 8 * uint32(1+rng.IntN(8)), align: 8}
		for at, i := uint32(0), 0; at < d.size && i < 4; i++ {
			d.fields = append(d.fields, descField{string(rune('a' + i)), 'd', at, 1})
			at += 8 * uint32(1+rng.IntN(2))
		}
		for range rng.IntN(3) {
			f := &d.fields[rng.IntN(len(d.fields))]
			switch rng.IntN(7) {
			case 0:
				d.size = uint32(rng.IntN(66))
			case 1:
				d.align = uint32(rng.IntN(17))
			case 2:
				f.code = codes[rng.IntN(len(codes))]
			case 3:
				f.offset = uint32(rng.IntN(int(d.size) + 9))
			case 4:
				f.count = uint32(rng.IntN(4))
			case 5:
				f.name = d.fields[0].name
			case 6:
				d.size, d.align = d.size-uint32(rng.IntN(8)), 1
			}
		}
		out = append(out, d)
	}
	return out
}

// TestHostileRecordDescriptions writes each hostile and each random
// description into an array of two records, one segment each, and opens
// it from Go (typed and untyped), C and Python: every reader refuses
// exactly the descriptions the rule refuses, with ErrCorrupt (C:
// SHMKIT_ECORRUPT, Python: CorruptError), and reads every field of every
// record of the others without a fault.
func TestHostileRecordDescriptions(t *testing.T) {
	descs := append(append([]desc{}, hostileDescs...), randomDescs(60)...)
	names := make([]string, len(descs))
	var valid, invalid int
	for i, d := range descs {
		seg, name := proctest.Segment(t, 1<<16)
		names[i] = name
		_, err := ctypes.NewStructArray[wide](seg, "r", 2, ctypes.WithoutLock())
		require.NoError(t, err)
		obj, err := seg.Lookup("r")
		require.NoError(t, err)
		copy(obj.Bytes()[obj.Desc:], d.bytes())
		o, err := ctypes.OpenObject(seg, "r")
		if d.valid() {
			valid++
			require.NoError(t, err, "%v", d)
			for i := range o.Len() {
				for _, f := range o.Layout.Fields {
					v := o.Field(i, f)
					for j := range v.Len() {
						v.Float64(j)
					}
				}
			}
		} else {
			invalid++
			require.ErrorIs(t, err, shm.ErrCorrupt, "%v", d)
			_, err = ctypes.OpenStructArray[wide](seg, "r", ctypes.WithoutLock())
			require.ErrorIs(t, err, shm.ErrCorrupt, "%v", d)
		}
	}
	t.Logf("%d descriptions: %d valid, %d refused", len(descs), valid, invalid)
	eachPeer(t, func(t *testing.T, p peer) {
		got := strings.Split(run(t, p, append([]string{"descs", "r"}, names...)...), "\n")
		require.Len(t, got, len(descs))
		for i, d := range descs {
			want := map[bool]string{true: "ok", false: "corrupt"}[d.valid()]
			assert.Equal(t, want, got[i], "%v", d)
		}
	})
}

// TestNamesAsGoChecksThem gives C and Python the names that Go's checks
// judge (shm.PosixName for segments, the directory's rule for objects) and
// expects the same verdicts: nothing cut at a NUL, nothing wrapped.
func TestNamesAsGoChecksThem(t *testing.T) {
	long := strings.Repeat("x", 255)
	segNames := []string{"a", "/a", "//a", "a/b", "a\x00b", "", "/", ".", "..", "/.", "/..", "...", " ", "a.b",
		long, long + "x", "/" + long, "é", "\xff"}
	objNames := []string{"a", "", "a\x00b", strings.Repeat("o", 63), strings.Repeat("o", 64), "é/. ", "\xff",
		"\xed\xa0\x80", "/", ".", "\x00"}
	verdict := func(err error) string {
		if err != nil {
			require.ErrorIs(t, err, shm.ErrInvalidName)
			return "bad"
		}
		return "ok"
	}
	var wantSeg, wantObj []string
	for _, n := range segNames {
		_, err := shm.PosixName(n)
		wantSeg = append(wantSeg, verdict(err))
	}
	seg, _ := proctest.Segment(t, 1<<20)
	for _, n := range objNames {
		_, err := ctypes.NewRawValue[int32](seg, n, 0)
		wantObj = append(wantObj, verdict(err))
	}
	hexes := func(names []string) (out []string) {
		for _, n := range names {
			out = append(out, hex.EncodeToString([]byte(n)))
		}
		return out
	}
	eachPeer(t, func(t *testing.T, p peer) {
		want := append([]string(nil), wantSeg...)
		if p.name == "Python" {
			want[len(want)-1] = "bad" // "\xff" is not UTF-8, so no str can name it
		}
		got := strings.Split(run(t, p, append([]string{"names", "segment"}, hexes(segNames)...)...), "\n")
		assert.Equal(t, want, got, "segment names %q", segNames)
		_, fresh := proctest.Segment(t, 1<<20) // the Python peer makes the objects in it
		got = strings.Split(run(t, p, append([]string{"names", "object", fresh}, hexes(objNames)...)...), "\n")
		assert.Equal(t, wantObj, got, "object names %q", objNames)
	})
}

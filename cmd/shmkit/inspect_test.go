package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shmkit/shmkit/channel"
	"github.com/shmkit/shmkit/ctypes"
	"github.com/shmkit/shmkit/internal/proctest"
	"github.com/shmkit/shmkit/semaphore"
	"github.com/shmkit/shmkit/shm"
)

func TestInspect(t *testing.T) {
	proctest.NeedCgo(t, "a locked Value and a mutex (pthread)")
	name := proctest.Name(t)
	seg, err := shm.Create(name, 1<<20)
	require.NoError(t, err)
	defer seg.Close()
	_, err = ctypes.NewValue[float64](seg, "pi", 3.5)
	require.NoError(t, err)
	_, err = ctypes.NewRawArrayFrom(seg, "arr", []int16{-1, 2, -3, 4, 5, 6, 7, 8, 9, 10})
	require.NoError(t, err)
	_, err = semaphore.NewBounded(seg, "sem", 2)
	require.NoError(t, err)
	mu, err := semaphore.NewMutex(seg, "mu")
	require.NoError(t, err)
	ev, err := semaphore.NewEvent(seg, "ev")
	require.NoError(t, err)
	ev.Set()
	_, err = semaphore.NewBarrier(seg, "b", 3)
	require.NoError(t, err)
	ch, err := channel.New[int32](seg, "ch", 4, 8)
	require.NoError(t, err)
	require.NoError(t, ch.Send([]int32{1}))
	require.NoError(t, ch.Send([]int32{2}))
	require.NoError(t, ch.End())

	_, err = ctypes.NewStructArrayFrom(seg, "particles", []particle{{X: 1.5, Y: -2, ID: 7, Tag: [4]ctypes.Char{'a', 'b'}}})
	require.NoError(t, err)

	held, release, done := make(chan struct{}), make(chan struct{}), make(chan error)
	go func() { mu.Lock(); close(held); <-release; done <- mu.Unlock() }()
	<-held
	defer func() { close(release); require.NoError(t, <-done) }()

	var out, errOut bytes.Buffer
	require.Equal(t, 0, run([]string{"inspect", "--json", name}, &out, &errOut), errOut.String())
	got := map[string]objectInfo{}
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var in objectInfo
		require.NoError(t, json.Unmarshal([]byte(line), &in))
		got[in.Name] = in
	}
	assert.Equal(t, []any{3.5}, got["pi"].Values, "numbers, not strings")
	assert.Equal(t, "free", got["pi"].Lock)
	assert.Equal(t, "h", got["arr"].Typecode)
	assert.Equal(t, 10, got["arr"].Len)
	assert.Equal(t, []any{-1.0, 2.0, -3.0, 4.0, 5.0, 6.0, 7.0, 8.0}, got["arr"].Values)
	require.NotNil(t, got["sem"].Value)
	assert.Equal(t, 2, *got["sem"].Value)
	assert.Equal(t, 2, got["sem"].Bound)
	assert.Equal(t, fmt.Sprintf("held by pid %d", os.Getpid()), got["mu"].Lock)
	require.NotNil(t, got["ev"].Set)
	assert.True(t, *got["ev"].Set)
	assert.Equal(t, &barrierInfo{Parties: 3}, got["b"].Barrier)
	require.NotNil(t, got["ch"].Channel)
	assert.Equal(t, 2, got["ch"].Channel.Len)
	assert.Equal(t, 4, got["ch"].Channel.Cap)
	assert.True(t, got["ch"].Channel.Ended)
	assert.Equal(t, []any{map[string]any{"X": 1.5, "Y": -2.0, "ID": 7.0, "Tag": "b'ab'"}}, got["particles"].Values)
	assert.Equal(t, &layoutInfo{TypeName: "particle", Size: 24, Align: 8, Fields: []fieldInfo{
		{"X", "d", 0, 1}, {"Y", "d", 8, 1}, {"ID", "i", 16, 1}, {"Tag", "c", 20, 4}}}, got["particles"].Layout)
	assert.Equal(t, "free", got["particles"].Lock)
	assert.Len(t, got, 8)

	out.Reset()
	require.Equal(t, 0, run([]string{"inspect", name}, &out, &errOut))
	assert.Contains(t, out.String(), "[-1 2 -3 4 5 6 7 8 …]")
	assert.Contains(t, out.String(), "2/4 queued, max 8, ended=true")

	errOut.Reset()
	assert.Equal(t, 1, run([]string{"inspect", proctest.Name(t)}, &out, &errOut))
	assert.Contains(t, errOut.String(), "no such segment")
	raw := proctest.Name(t)
	require.NoError(t, os.WriteFile("/dev/shm/"+raw, make([]byte, 4096), 0o600))
	errOut.Reset()
	assert.Equal(t, 1, run([]string{"inspect", raw}, &out, &errOut))
	assert.Contains(t, errOut.String(), "not a shmkit segment")
	assert.Equal(t, 2, run([]string{"inspect"}, &out, &errOut))
}

type particle struct {
	X, Y float64
	ID   int32
	Tag  [4]ctypes.Char
}

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden compares got with testdata/file, or rewrites it with -update.
func golden(t *testing.T, file string, got string) {
	t.Helper()
	path := filepath.Join("testdata", file)
	if *update {
		require.NoError(t, os.MkdirAll("testdata", 0o755))
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, string(want), got)
}

// The outputs of inspect and ls, byte for byte, with the segment's name,
// our pid and the creation time replaced.
func TestGoldenOutputs(t *testing.T) {
	proctest.NeedCgo(t, "a locked Value and a mutex (pthread)")
	name := proctest.Name(t)
	seg, err := shm.Create(name, 1<<20)
	require.NoError(t, err)
	defer seg.Close()
	_, err = ctypes.NewValue[float64](seg, "pi", 3.5)
	require.NoError(t, err)
	_, err = ctypes.NewRawArrayFrom(seg, "arr", []int16{-1, 2, -3, 4, 5, 6, 7, 8, 9, 10})
	require.NoError(t, err)
	c, err := ctypes.NewCharArray(seg, "greeting", 16)
	require.NoError(t, err)
	require.NoError(t, c.SetValue([]byte("shmkit 'x'\n")))
	w, err := ctypes.NewWCharArray(seg, "wide", 8)
	require.NoError(t, err)
	require.NoError(t, w.SetValue("héllo"))
	_, err = semaphore.NewBounded(seg, "sem", 2)
	require.NoError(t, err)
	mu, err := semaphore.NewRMutex(seg, "mu")
	require.NoError(t, err)
	_, err = semaphore.NewCond(seg, "cv", mu)
	require.NoError(t, err)
	_, err = semaphore.NewEvent(seg, "ev")
	require.NoError(t, err)
	_, err = semaphore.NewBarrier(seg, "b", 3)
	require.NoError(t, err)
	ch, err := channel.New[int32](seg, "ch", 4, 8)
	require.NoError(t, err)
	require.NoError(t, ch.Send([]int32{1}))
	_, err = ctypes.NewStructArrayFrom(seg, "particles", []particle{
		{X: 1.5, Y: -2, ID: 7, Tag: [4]ctypes.Char{'a', 'b'}}, {X: 3, ID: -1, Tag: [4]ctypes.Char{'\'', 'x'}}})
	require.NoError(t, err)
	pc, err := channel.New[particle](seg, "pch", 4, 1)
	require.NoError(t, err)
	require.NoError(t, pc.Send([]particle{{ID: 1}}))

	normal := strings.NewReplacer("/"+name, "/SEG", name, "SEG", fmt.Sprint(os.Getpid()), "PID",
		seg.Created().Format("2006-01-02 15:04:05"), "DATE")
	for _, args := range [][]string{{"inspect", name}, {"inspect", "--json", name}} {
		var out, errOut bytes.Buffer
		require.Equal(t, 0, run(args, &out, &errOut), errOut.String())
		file := strings.ReplaceAll(strings.Join(args[:len(args)-1], "_"), "--", "")
		golden(t, file+".golden", normal.Replace(out.String()))
	}

	var out, errOut bytes.Buffer
	require.Equal(t, 0, run([]string{"ls"}, &out, &errOut), errOut.String())
	var ours []string // the header and our segment: the rest of /dev/shm is not ours
	for i, line := range strings.Split(out.String(), "\n") {
		if i == 0 || strings.HasPrefix(line, name+" ") {
			ours = append(ours, strings.Join(strings.Fields(line), " ")) // widths depend on the others
		}
	}
	golden(t, "ls.golden", normal.Replace(strings.Join(ours, "\n")+"\n"))
}

// An array of records whose description a hostile process rewrote so that
// a float64 field is misaligned in every record after the first (17-byte
// records) is reported as that object's error; inspect showed the rest
// and exits 0 rather than panicking.
func TestInspectHostileRecordDescription(t *testing.T) {
	proctest.NeedCgo(t, "a locked Value (its lock is a pthread mutex)")
	seg, name := proctest.Segment(t, 1<<20)
	_, err := ctypes.NewStructArray[particle](seg, "p", 4, ctypes.WithoutLock())
	require.NoError(t, err)
	_, err = ctypes.NewValue[float64](seg, "pi", 3.5)
	require.NoError(t, err)
	obj, err := seg.Lookup("p")
	require.NoError(t, err)
	desc := obj.Bytes()[obj.Desc:]
	binary.LittleEndian.PutUint32(desc[48:], 17) // size
	binary.LittleEndian.PutUint32(desc[52:], 1)  // align
	binary.LittleEndian.PutUint32(desc[56:], 1)  // fields: X, a float64 at 0

	var out, errOut bytes.Buffer
	require.Equal(t, 0, run([]string{"inspect", "--json", name}, &out, &errOut), errOut.String())
	got := map[string]objectInfo{}
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var in objectInfo
		require.NoError(t, json.Unmarshal([]byte(line), &in))
		got[in.Name] = in
	}
	assert.Contains(t, got["p"].Error, shm.ErrCorrupt.Error())
	assert.Contains(t, got["p"].Error, "8-byte elements in records of 17 bytes")
	assert.Equal(t, []any{3.5}, got["pi"].Values) // the sound object beside it still shows
}

// A wide character array holding numbers that are no character (another
// process wrote 0xffffffff and 0x110000) is shown with Python's escape of
// the number; before, 0xffffffff came out as `\x-1`.
func TestInspectWideBeyondUnicode(t *testing.T) {
	name := proctest.Name(t)
	seg, err := shm.Create(name, 1<<20)
	require.NoError(t, err)
	defer seg.Close()
	_, err = ctypes.NewWCharArray(seg, "wide", 4)
	require.NoError(t, err)
	raw, err := ctypes.OpenRawArray[ctypes.WChar](seg, "wide") // as another process writes it
	require.NoError(t, err)
	copy(raw.Slice(), []ctypes.WChar{'A', -1, 0x110000, 0}) // -1: 0xffffffff
	for args, want := range map[string]string{"inspect": `'A\Uffffffff\U00110000'`, "inspect --json": `'A\\Uffffffff\\U00110000'`} {
		var out, errOut bytes.Buffer
		require.Equal(t, 0, run(append(strings.Fields(args), name), &out, &errOut), errOut.String())
		assert.Contains(t, out.String(), want, args)
		assert.NotContains(t, out.String(), `\x-`, args)
	}
}

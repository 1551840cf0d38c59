package interop_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shmkit/shmkit/dict"
	"github.com/shmkit/shmkit/internal/proctest"
)

// TestDictStringsNotUTF8: string keys and values whose bytes are not
// UTF-8, written by Go and by a foreign writer (a Python process storing
// raw bytes with the STR tag through the C library), are read by Go and
// by another Python process: every key, each looked up, the bad ones
// deleted from Python. One such key used to make Python's iteration of the
// whole dict raise UnicodeDecodeError.
func TestDictStringsNotUTF8(t *testing.T) {
	proctest.NeedCgo(t, "the shared dict (the C library)")
	seg, name := proctest.Segment(t, 1<<16)
	d, err := dict.New(seg, "d")
	require.NoError(t, err)
	defer func() { d.Unlink(); d.Close() }()
	require.NoError(t, d.Set("good", int64(1)))
	require.NoError(t, d.Set("go\xff\xfe", "value\x80"))
	require.NoError(t, d.Set("\xc3\xa9", int64(3))) // "é", valid

	// The foreign writer: tag STR (4) with bytes that are not UTF-8.
	out, err := python(t, "-c", `
import sys, shmkit, shmkit._native as n
with shmkit.attach(sys.argv[1]) as seg, seg.dict("d") as d:
    for k, v in ((b"raw\xc3\x28", b"\xed\xa0\x80"), (b"\x80", b"x")):
        rc = n.lib.shmkit_dict_set(d._c.h, 4, k, len(k), 4, v, len(v))
        assert rc == 0, rc
print("ok")
`, name).Output()
	require.NoError(t, err, "%s", out)

	got := map[string]any{}
	require.NoError(t, d.Range(func(k, v any) bool { got[k.(string)] = v; return true }))
	assert.Equal(t, map[string]any{"good": int64(1), "go\xff\xfe": "value\x80", "é": int64(3),
		"raw\xc3\x28": "\xed\xa0\x80", "\x80": "x"}, got, "Go reads every key")

	out, err = python(t, "-c", `
import sys, shmkit
with shmkit.attach(sys.argv[1]) as seg, seg.dict("d") as d:
    for k, v in sorted(d.items()):
        print("item", ascii(k), ascii(v), d[k] == v, k in d)
    print("keys", len(list(d)), len(d.keys()), len(d.copy()))
    print("é", d["é"])
    print("get", ascii(d["go\udcff\udcfe"]), ascii(d["raw\udcc3("]))
    del d["go\udcff\udcfe"]
    print("popped", ascii(d.pop("\udc80")))
    d["py\udc81"] = "v\udc82"
    print("eq", "\udcc3\udca9" in d)
`, name).Output()
	require.NoError(t, err, "%s", out)
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	assert.Equal(t, []string{
		`item 'good' 1 True True`,
		`item 'go\udcff\udcfe' 'value\udc80' True True`,
		`item 'raw\udcc3(' '\udced\udca0\udc80' True True`,
		`item '\xe9' 3 True True`,
		`item '\udc80' 'x' True True`,
		"keys 5 5 5",
		"é 3",
		`get 'value\udc80' '\udced\udca0\udc80'`,
		"popped 'x'",
		"eq False",
	}, lines)
	_, ok, err := d.Get("go\xff\xfe")
	require.NoError(t, err)
	assert.False(t, ok, "Python deleted Go's key")
	v, ok, err := d.Get("py\x81")
	require.NoError(t, err)
	assert.True(t, ok, "Python's key with an escaped byte is that byte for Go")
	assert.Equal(t, "v\x82", v)
	n, err := d.Len()
	require.NoError(t, err)
	assert.Equal(t, 4, n)
}

// TestDictKeysEqualInPython: Go stores the keys 1, 1.0 and true, one key
// in a Python dict. Python reads each value by its own key, and dict(d)
// and d.copy() raise KeyCollisionError instead of keeping one value.
func TestDictKeysEqualInPython(t *testing.T) {
	proctest.NeedCgo(t, "the shared dict (the C library)")
	seg, name := proctest.Segment(t, 1<<16)
	d, err := dict.New(seg, "d")
	require.NoError(t, err)
	defer func() { d.Unlink(); d.Close() }()
	require.NoError(t, d.Set(int64(1), "int"))
	require.NoError(t, d.Set(1.0, "float"))
	require.NoError(t, d.Set(true, "bool"))
	out, err := python(t, "-c", `
import sys, shmkit
with shmkit.attach(sys.argv[1]) as seg, seg.dict("d") as d:
    print(d[1], d[1.0], d[True], len(d.items()), d == {1: "int"})
    for f in (dict, lambda m: m.copy()):
        try:
            print(f(d))
        except shmkit.KeyCollisionError as e:
            print("collision")
`, name).Output()
	require.NoError(t, err, "%s", out)
	assert.Equal(t, "int float bool 3 False\ncollision\ncollision", strings.TrimSpace(string(out)))
}

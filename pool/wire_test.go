package pool

import (
	"bytes"
	"testing"
)

// A task message round-trips, and no bytes make parseTask read outside
// the message or panic.
func FuzzParseTask(f *testing.F) {
	f.Add(appendTask(nil, 7, "double", [][]byte{{1, 2}, {}, []byte("abc")}))
	f.Add([]byte{})
	f.Add(bytes.Repeat([]byte{0xff}, 40))
	f.Fuzz(func(t *testing.T, msg []byte) {
		id, fn, items, err := parseTask(msg)
		if err != nil {
			return
		}
		again := appendTask(nil, id, fn, items)
		id2, fn2, items2, err := parseTask(again)
		if err != nil || id2 != id || fn2 != fn || len(items2) != len(items) {
			t.Fatalf("round trip: %v", err)
		}
		for i := range items {
			if !bytes.Equal(items[i], items2[i]) {
				t.Fatalf("item %d differs", i)
			}
		}
	})
}

func FuzzParseResult(f *testing.F) {
	f.Add(appendResult(nil, 9, []answer{{0, []byte{1}}, {1, []byte("boom")}, {2, nil}}))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, msg []byte) {
		id, answers, err := parseResult(msg)
		if err != nil {
			return
		}
		id2, answers2, err := parseResult(appendResult(nil, id, answers))
		if err != nil || id2 != id || len(answers2) != len(answers) {
			t.Fatalf("round trip: %v", err)
		}
		for i := range answers {
			if answers[i].status != answers2[i].status || !bytes.Equal(answers[i].data, answers2[i].data) {
				t.Fatalf("answer %d differs", i)
			}
		}
	})
}

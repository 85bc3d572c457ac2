package wire

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// FuzzCheckMeta: whatever meta decodes from, what CheckMeta takes encodes
// within its bounds and decodes back.
func FuzzCheckMeta(f *testing.F) {
	f.Add([]byte(`{"name":"a video","labels":["a","b"],"n":{"m":{"o":1}}}`))
	f.Add([]byte(`{"a":` + strings.Repeat(`[`, 40) + strings.Repeat(`]`, 40) + `}`))
	f.Add([]byte(`{"big":"` + strings.Repeat("x", MaxMetaBytes) + `"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var meta map[string]any
		if json.Unmarshal(data, &meta) != nil || meta == nil {
			return
		}
		if vs := CheckMeta(meta, "meta"); len(vs) > 0 {
			if vs[0].Pointer != "/meta" {
				t.Fatalf("violation at %q, want /meta", vs[0].Pointer)
			}
			return
		}
		out, err := json.Marshal(meta)
		if err != nil || len(out) > MaxMetaBytes {
			t.Fatalf("taken meta encodes to %d bytes, %v", len(out), err)
		}
		var back map[string]any
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("taken meta does not decode back: %v", err)
		}
	})
}

func TestCheckMetaDepth(t *testing.T) {
	nest := func(n int) map[string]any {
		m := map[string]any{}
		for range n - 1 {
			m = map[string]any{"a": m}
		}
		return m
	}
	for _, tt := range []struct {
		depth int
		ok    bool
	}{{1, true}, {32, true}, {33, false}} {
		if vs := CheckMeta(nest(tt.depth), "meta"); (len(vs) == 0) != tt.ok {
			t.Errorf("CheckMeta(%d levels) = %v, want ok %v", tt.depth, vs, tt.ok)
		}
	}
	if vs := CheckMeta(map[string]any{"a": []any{[]any{1}}}, "meta"); len(vs) != 0 {
		t.Errorf("CheckMeta(3 levels of arrays) = %v", vs)
	}
	// A scalar adds no level: 32 levels with a value at the bottom pass.
	leaf := nest(32)
	for m := leaf; ; {
		next, ok := m["a"].(map[string]any)
		if !ok {
			m["a"] = "a value"
			break
		}
		m = next
	}
	if vs := CheckMeta(leaf, "meta"); len(vs) != 0 {
		t.Errorf("CheckMeta(32 levels, a scalar at the bottom) = %v, want ok", vs)
	}
	// Arrays count as objects do.
	arrays := func(n int) map[string]any {
		var v any = []any{}
		for range n - 2 {
			v = []any{v}
		}
		return map[string]any{"a": v}
	}
	for _, tt := range []struct {
		depth int
		ok    bool
	}{{32, true}, {33, false}} {
		if vs := CheckMeta(arrays(tt.depth), "meta"); (len(vs) == 0) != tt.ok {
			t.Errorf("CheckMeta(%d levels, arrays below the first) = %v, want ok %v", tt.depth, vs, tt.ok)
		}
	}
}

func TestCheckNoNUL(t *testing.T) {
	body := map[string]any{"creator": "r\x00d", "meta": map[string]any{"tags": []any{"ok", "a\x00"}, "k\x00": "v"}, "fine": "x"}
	var got []string
	for _, v := range CheckNoNUL(body) {
		got = append(got, v.Field+": "+v.Problem)
	}
	slices.Sort(got)
	want := []string{"creator: must not hold U+0000", "meta.tags[1]: must not hold U+0000", "meta: must not hold U+0000 in a member's name"}
	if !slices.Equal(got, want) {
		t.Errorf("CheckNoNUL() = %q, want %q", got, want)
	}
	if vs := CheckNoNUL(map[string]any{"a": `\u0000 written out`, "b": "é"}); vs != nil {
		t.Errorf("CheckNoNUL(no NUL) = %v", vs)
	}
}

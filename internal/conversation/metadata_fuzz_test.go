package conversation_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	cv "github.com/parleyhq/parley/internal/conversation"
)

// rfc7396 is RFC 7396's MergePatch, written from the RFC's pseudo-code without touching its
// arguments: the oracle for MetadataMergePatch.
func rfc7396(target, patch any) any {
	p, ok := patch.(map[string]any)
	if !ok {
		return patch
	}
	out := map[string]any{}
	if t, ok := target.(map[string]any); ok {
		for k, v := range t {
			out[k] = v
		}
	}
	for k, v := range p {
		if v == nil {
			delete(out, k)
		} else {
			out[k] = rfc7396(out[k], v)
		}
	}
	return out
}

func sameJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

// scribble changes every object inside v, to show whether a result shares memory with an
// input.
func scribble(v any) {
	switch x := v.(type) {
	case map[string]any:
		for _, e := range x {
			scribble(e)
		}
		x["\x00scribbled"] = true
	case []any:
		for _, e := range x {
			scribble(e)
		}
	}
}

// FuzzMetadataPatch applies arbitrary JSON objects to arbitrary metadata with every operation:
// it never panics; the result is either a *ValidationError or metadata within the limits,
// equal to what the operation means (RFC 7396 for a merge patch); and neither the old
// metadata nor, through the result, any later change reaches back into it.
func FuzzMetadataPatch(f *testing.F) {
	for _, s := range [][2]string{
		{`{}`, `{}`},
		{`{"a": 1}`, `{"a": null, "b": {"c": 1}}`},
		{`{"a": {"b": {"c": 1, "d": [1, 2]}}}`, `{"a": {"b": {"c": null, "e": {"f": true}}}}`},
		{`{"a": [1, {"b": 2}]}`, `{"a": {"b": null}}`},
		{`{"a": null}`, `{"b": null}`},
		{`{"a": "x"}`, `{"": 1}`},
		{`{"k": {"k": {"k": {"k": {"k": 1}}}}}`, `{"k": {"k": {"k": {"k": {"k": {"k": 1}}}}}}`},
		{`{"big": "xxxxxxxxxxxxxxxx"}`, `{"n": 1.5e300, "s": "\u00e9\u0000"}`},
	} {
		f.Add(s[0], s[1])
	}
	ops := map[cv.MetadataOp]string{cv.MetadataMerge: "merge", cv.MetadataReplace: "replace", cv.MetadataMergePatch: "merge patch"}
	f.Fuzz(func(t *testing.T, oldJSON, patchJSON string) {
		var old, patch map[string]any
		if json.Unmarshal([]byte(oldJSON), &old) != nil || json.Unmarshal([]byte(patchJSON), &patch) != nil || patch == nil {
			return
		}
		oldBefore, _ := json.Marshal(old)
		patchBefore, _ := json.Marshal(patch)
		for op, name := range ops {
			// Fresh inputs for each operation, since the result is scribbled on.
			old, patch = nil, nil
			_ = json.Unmarshal([]byte(oldJSON), &old)
			_ = json.Unmarshal([]byte(patchJSON), &patch)
			out, err := cv.ApplyMetadata(old, op, patch)
			if err != nil {
				var ve *cv.ValidationError
				if !errors.As(err, &ve) || ve.Field == "" || ve.Message == "" {
					t.Fatalf("%s: error %T %v, want a *ValidationError naming a field", name, err, err)
				}
				if out != nil {
					t.Fatalf("%s: a result with an error", name)
				}
			} else {
				if out == nil {
					t.Fatalf("%s: nil result", name)
				}
				if err := cv.CheckMetadata(out); err != nil {
					t.Fatalf("%s: result breaks the limits: %v", name, err)
				}
				var want any
				switch op {
				case cv.MetadataReplace:
					want = patch
				case cv.MetadataMerge:
					m := map[string]any{}
					for k, v := range old {
						m[k] = v
					}
					for k, v := range patch {
						m[k] = v
					}
					want = m
				case cv.MetadataMergePatch:
					want = rfc7396(old, patch)
					// A merge patch is idempotent.
					again, err := cv.ApplyMetadata(out, op, patch)
					if err != nil || !reflect.DeepEqual(again, out) {
						t.Fatalf("merge patch is not idempotent: %v then %v (%v)", out, again, err)
					}
				}
				if !sameJSON(out, want) {
					t.Fatalf("%s of %s with %s: %v, want %v", name, oldJSON, patchJSON, out, want)
				}
				// The result shares nothing with old.
				scribble(out)
			}
			if after, _ := json.Marshal(old); !bytes.Equal(after, oldBefore) {
				t.Fatalf("%s modified old: %s -> %s", name, oldBefore, after)
			}
			if op != cv.MetadataMergePatch || err != nil {
				continue
			}
			// The patch is not modified by a merge patch either (Merge and Replace put the
			// patch's values in the result as they are, so scribbling reached them).
			if after, _ := json.Marshal(patch); !bytes.Equal(after, patchBefore) {
				t.Fatalf("merge patch modified the patch: %s -> %s", patchBefore, after)
			}
		}
	})
}

package conversation

import (
	"encoding/json"
	"fmt"
	"sort"
	"unicode/utf8"
)

// Limits on conversation metadata.
const (
	MaxMetadataBytes = 16 << 10
	MaxMetadataKeys  = 100
	MaxMetadataDepth = 5
	MaxMetadataKey   = 128
)

// CheckMetadata enforces the limits on a whole metadata object. The error names the offending
// key (the root is "metadata", which also stands for an empty key).
func CheckMetadata(m map[string]any) error {
	if len(m) > MaxMetadataKeys {
		return Invalid("metadata", "at most %d keys", MaxMetadataKeys)
	}
	for _, k := range sortedKeys(m) {
		if k == "" {
			return Invalid("metadata", "keys must be 1 to %d bytes of UTF-8; an empty key is not allowed", MaxMetadataKey)
		}
		if len(k) > MaxMetadataKey || !utf8.ValidString(k) {
			return Invalid(k, "keys must be 1 to %d bytes of UTF-8", MaxMetadataKey)
		}
		if d := depth(m[k]); d > MaxMetadataDepth {
			return Invalid(k, "nested deeper than %d levels", MaxMetadataDepth)
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		return Invalid("metadata", "not representable as JSON")
	}
	if len(b) > MaxMetadataBytes {
		return Invalid("metadata", "at most %d bytes when encoded as JSON (is %d)", MaxMetadataBytes, len(b))
	}
	return nil
}

func depth(v any) int {
	switch x := v.(type) {
	case map[string]any:
		d := 0
		for _, e := range x {
			d = max(d, depth(e))
		}
		return d + 1
	case []any:
		d := 0
		for _, e := range x {
			d = max(d, depth(e))
		}
		return d + 1
	}
	return 0
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// MetadataOp is how a write changes metadata.
type MetadataOp int

const (
	// MetadataMerge sets the given top-level keys, keeping the others (POST).
	MetadataMerge MetadataOp = iota
	// MetadataReplace replaces the whole object (PUT).
	MetadataReplace
	// MetadataMergePatch applies an RFC 7396 JSON Merge Patch (PATCH).
	MetadataMergePatch
)

// ApplyMetadata returns the metadata that results from op with body on old, checked against
// the limits. old is not modified.
func ApplyMetadata(old map[string]any, op MetadataOp, body map[string]any) (map[string]any, error) {
	var out map[string]any
	switch op {
	case MetadataReplace:
		out = cloneMap(body)
	case MetadataMerge:
		out = cloneMap(old)
		for k, v := range body {
			out[k] = v
		}
	case MetadataMergePatch:
		out, _ = MergePatch(cloneMap(old), body).(map[string]any)
		if out == nil {
			out = map[string]any{}
		}
	default:
		return nil, fmt.Errorf("unknown metadata op %d", op)
	}
	if err := CheckMetadata(out); err != nil {
		return nil, err
	}
	return out, nil
}

// MergePatch applies patch to target as RFC 7396 describes. target may be modified.
func MergePatch(target any, patch any) any {
	p, ok := patch.(map[string]any)
	if !ok {
		return patch
	}
	t, ok := target.(map[string]any)
	if !ok {
		t = map[string]any{}
	}
	for k, v := range p {
		if v == nil {
			delete(t, k)
			continue
		}
		t[k] = MergePatch(t[k], v)
	}
	return t
}

// cloneMap copies m deeply, so that a merge patch never reaches into the original.
func cloneMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = cloneValue(v)
	}
	return out
}

func cloneValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		return cloneMap(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = cloneValue(e)
		}
		return out
	}
	return v
}

// ChangedKeys lists the top-level keys whose values differ between a and b, sorted.
func ChangedKeys(a, b map[string]any) []string {
	var keys []string
	for k, v := range b {
		if old, ok := a[k]; !ok || !jsonEqual(old, v) {
			keys = append(keys, k)
		}
	}
	for k := range a {
		if _, ok := b[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

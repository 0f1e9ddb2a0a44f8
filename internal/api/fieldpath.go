package api

import (
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"time"
)

var (
	timeType        = reflect.TypeFor[time.Time]()
	unmarshalerType = reflect.TypeFor[json.Unmarshaler]()
)

// fieldPath finds the value in the JSON document b that does not decode into type t, and
// names it the way validation errors do ("messages[1].created_at"), with the type it should
// have had. encoding/json names no field when a type's own decoder fails (times), and names
// fields inside arrays without their index ("messages.content"); this walk does both. ok is
// false when b decodes into t.
func fieldPath(b []byte, t reflect.Type) (path string, want reflect.Type, ok bool) {
	p, want, ok := walkPath(b, t)
	return strings.TrimPrefix(p, "."), want, ok
}

func walkPath(b []byte, t reflect.Type) (string, reflect.Type, bool) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if json.Unmarshal(b, reflect.New(t).Interface()) == nil {
		return "", nil, false
	}
	if reflect.PointerTo(t).Implements(unmarshalerType) {
		return "", t, true // the value's own decoder refused it
	}
	switch t.Kind() {
	case reflect.Struct:
		var obj map[string]json.RawMessage
		if json.Unmarshal(b, &obj) != nil {
			return "", t, true
		}
		for i := range t.NumField() {
			f := t.Field(i)
			if f.Anonymous {
				if p, w, ok := walkPath(b, f.Type); ok {
					return p, w, true
				}
				continue
			}
			name, ok := jsonName(f)
			if !ok {
				continue
			}
			raw, found := lookupKey(obj, name)
			if !found {
				continue
			}
			if p, w, ok := walkPath(raw, f.Type); ok {
				return "." + name + p, w, true
			}
		}
	case reflect.Slice, reflect.Array:
		var arr []json.RawMessage
		if json.Unmarshal(b, &arr) != nil {
			return "", t, true
		}
		for i, raw := range arr {
			if p, w, ok := walkPath(raw, t.Elem()); ok {
				return "[" + strconv.Itoa(i) + "]" + p, w, true
			}
		}
	case reflect.Map:
		var obj map[string]json.RawMessage
		if json.Unmarshal(b, &obj) != nil {
			return "", t, true
		}
		for k, raw := range obj {
			if p, w, ok := walkPath(raw, t.Elem()); ok {
				return "." + k + p, w, true
			}
		}
	}
	return "", t, true
}

// jsonName is the name encoding/json gives a struct field, and whether it decodes at all.
func jsonName(f reflect.StructField) (string, bool) {
	if !f.IsExported() {
		return "", false
	}
	tag := f.Tag.Get("json")
	if tag == "-" {
		return "", false
	}
	name, _, _ := strings.Cut(tag, ",")
	if name == "" {
		name = f.Name
	}
	return name, true
}

// lookupKey finds a key as encoding/json matches fields: exactly, else case-insensitively.
func lookupKey(obj map[string]json.RawMessage, name string) (json.RawMessage, bool) {
	if v, ok := obj[name]; ok {
		return v, true
	}
	for k, v := range obj {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return nil, false
}

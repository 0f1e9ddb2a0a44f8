package bidi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"
)

// Keys for Page.Keys (the WebDriver key codes).
const (
	KeyTab       = "\uE004"
	KeyEnter     = "\uE007"
	KeyShift     = "\uE008"
	KeyBackspace = "\uE003"
	KeyEscape    = "\uE00C"
)

// Page is one top-level browsing context (a tab).
type Page struct {
	b  *Browser
	ID string
}

// Page opens a tab, brings it to the front with the focus, and closes the tab Firefox started
// with: in headless Firefox that first tab never has the focus (document.hasFocus() stays
// false, :focus and :focus-visible never match), a tab opened over WebDriver BiDi does.
func (b *Browser) Page(ctx context.Context) (*Page, error) {
	var tree struct {
		Contexts []struct {
			Context string `json:"context"`
		} `json:"contexts"`
	}
	if err := b.Call(ctx, "browsingContext.getTree", map[string]any{"maxDepth": 0}, &tree); err != nil {
		return nil, err
	}
	p, err := b.NewPage(ctx, "")
	if err != nil {
		return nil, err
	}
	for _, c := range tree.Contexts {
		if err := b.Call(ctx, "browsingContext.close", map[string]any{"context": c.Context}, nil); err != nil {
			return nil, err
		}
	}
	return p, p.Activate(ctx)
}

// Activate brings the page to the front of its window and gives it the focus.
func (p *Page) Activate(ctx context.Context) error {
	return p.b.Call(ctx, "browsingContext.activate", map[string]any{"context": p.ID}, nil)
}

// NewPage opens a tab; with a user context (from NewUserContext) it has cookies and storage of
// its own, like a second browser.
func (b *Browser) NewPage(ctx context.Context, userContext string) (*Page, error) {
	params := map[string]any{"type": "tab"}
	if userContext != "" {
		params["userContext"] = userContext
	}
	var r struct {
		Context string `json:"context"`
	}
	if err := b.Call(ctx, "browsingContext.create", params, &r); err != nil {
		return nil, err
	}
	return &Page{b: b, ID: r.Context}, nil
}

// NewUserContext makes a user context (a container with its own cookies) and returns its id.
func (b *Browser) NewUserContext(ctx context.Context) (string, error) {
	var r struct {
		UserContext string `json:"userContext"`
	}
	err := b.Call(ctx, "browser.createUserContext", nil, &r)
	return r.UserContext, err
}

// Navigate loads url and waits until the document and its resources have loaded.
func (p *Page) Navigate(ctx context.Context, url string) error {
	return p.b.Call(ctx, "browsingContext.navigate", map[string]any{"context": p.ID, "url": url, "wait": "complete"}, nil)
}

// SetViewport sets the size of the page's viewport in CSS pixels (device pixel ratio 1).
func (p *Page) SetViewport(ctx context.Context, width, height int) error {
	return p.b.Call(ctx, "browsingContext.setViewport", map[string]any{
		"context": p.ID, "viewport": map[string]any{"width": width, "height": height}, "devicePixelRatio": 1,
	}, nil)
}

// Screenshot returns a PNG of the whole document (not only the viewport).
func (p *Page) Screenshot(ctx context.Context) ([]byte, error) {
	var r struct {
		Data string `json:"data"`
	}
	if err := p.b.Call(ctx, "browsingContext.captureScreenshot", map[string]any{"context": p.ID, "origin": "document"}, &r); err != nil {
		return nil, err
	}
	return base64.StdEncoding.DecodeString(r.Data)
}

// ScriptError is an exception thrown by evaluated script.
type ScriptError struct {
	Text string
}

func (e *ScriptError) Error() string { return "script: " + e.Text }

type scriptResult struct {
	Type             string       `json:"type"`
	Result           *RemoteValue `json:"result"`
	ExceptionDetails struct {
		Text       string `json:"text"`
		LineNumber int    `json:"lineNumber"`
	} `json:"exceptionDetails"`
}

func (r scriptResult) value() (*RemoteValue, error) {
	if r.Type == "exception" {
		return nil, &ScriptError{Text: r.ExceptionDetails.Text}
	}
	if r.Result == nil {
		return &RemoteValue{Type: "undefined"}, nil
	}
	return r.Result, nil
}

var serialization = map[string]any{"maxObjectDepth": 8, "maxDomDepth": 0}

// EvalValue evaluates a JavaScript expression in the page (awaiting a promise) and returns its
// value as the browser serialized it.
func (p *Page) EvalValue(ctx context.Context, expr string) (*RemoteValue, error) {
	var r scriptResult
	err := p.b.Call(ctx, "script.evaluate", map[string]any{
		"expression": expr, "target": map[string]any{"context": p.ID}, "awaitPromise": true,
		"resultOwnership": "none", "serializationOptions": serialization, "userActivation": true,
	}, &r)
	if err != nil {
		return nil, err
	}
	return r.value()
}

// Eval evaluates a JavaScript expression and decodes its value into out (as encoding/json
// would decode the value's JSON); out may be nil.
func (p *Page) Eval(ctx context.Context, expr string, out any) error {
	v, err := p.EvalValue(ctx, expr)
	if err != nil || out == nil {
		return err
	}
	return v.Decode(out)
}

// CallFunction calls a JavaScript function declaration with arguments: Go values (sent as
// JSON-like remote values) or *RemoteValue (a node from an earlier call, by its shared id).
func (p *Page) CallFunction(ctx context.Context, fn string, out any, args ...any) error {
	var ls []any
	for _, a := range args {
		la, err := localValue(a)
		if err != nil {
			return err
		}
		ls = append(ls, la)
	}
	var r scriptResult
	err := p.b.Call(ctx, "script.callFunction", map[string]any{
		"functionDeclaration": fn, "arguments": ls, "target": map[string]any{"context": p.ID},
		"awaitPromise": true, "resultOwnership": "none", "serializationOptions": serialization, "userActivation": true,
	}, &r)
	if err != nil {
		return err
	}
	v, err := r.value()
	if err != nil || out == nil {
		return err
	}
	if rv, ok := out.(*RemoteValue); ok {
		*rv = *v
		return nil
	}
	return v.Decode(out)
}

// Element finds the first element matching a CSS selector.
func (p *Page) Element(ctx context.Context, selector string) (*RemoteValue, error) {
	v, err := p.EvalValue(ctx, "document.querySelector("+strconv.Quote(selector)+")")
	if err != nil {
		return nil, err
	}
	if v.Type != "node" || v.SharedID == "" {
		return nil, fmt.Errorf("no element matches %s", selector)
	}
	return v, nil
}

// Click scrolls the element matching selector into view and clicks its centre with the mouse,
// as a person would: whatever is on top at that point gets the click. When the page replaces
// the element meanwhile (a live update), Click finds it again.
func (p *Page) Click(ctx context.Context, selector string) error {
	var err error
	for range 3 {
		if err = p.click(ctx, selector); !isStale(err) {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
	return err
}

func (p *Page) click(ctx context.Context, selector string) error {
	el, err := p.Element(ctx, selector)
	if err != nil {
		return err
	}
	if err := p.CallFunction(ctx, `(el) => el.scrollIntoView({block: "center", inline: "center"})`, nil, el); err != nil {
		return err
	}
	return p.perform(ctx, map[string]any{
		"type": "pointer", "id": "mouse", "parameters": map[string]any{"pointerType": "mouse"},
		"actions": []any{
			map[string]any{"type": "pointerMove", "x": 0, "y": 0, "origin": map[string]any{"type": "element", "element": map[string]any{"sharedId": el.SharedID}}},
			map[string]any{"type": "pointerDown", "button": 0},
			map[string]any{"type": "pointerUp", "button": 0},
		},
	})
}

// isStale reports whether err says an element found earlier is no longer in the document.
func isStale(err error) bool {
	var e *Error
	return errors.As(err, &e) && (e.Code == "no such node" || e.Code == "no such element")
}

// Keys presses and releases each key in turn (KeyTab, KeyEnter, or a character).
func (p *Page) Keys(ctx context.Context, keys ...string) error {
	var acts []any
	for _, k := range keys {
		acts = append(acts, map[string]any{"type": "keyDown", "value": k}, map[string]any{"type": "keyUp", "value": k})
	}
	return p.perform(ctx, map[string]any{"type": "key", "id": "keyboard", "actions": acts})
}

// Type types text into whatever has the focus, one key at a time.
func (p *Page) Type(ctx context.Context, text string) error {
	var keys []string
	for _, r := range text {
		keys = append(keys, string(r))
	}
	return p.Keys(ctx, keys...)
}

// Fill focuses the field matching selector, clears it and types text into it.
func (p *Page) Fill(ctx context.Context, selector, text string) error {
	el, err := p.Element(ctx, selector)
	if err != nil {
		return err
	}
	if err := p.CallFunction(ctx, `(el) => { el.scrollIntoView({block: "center"}); el.focus(); el.value = ""; }`, nil, el); err != nil {
		return err
	}
	return p.Type(ctx, text)
}

func (p *Page) perform(ctx context.Context, source map[string]any) error {
	if err := p.b.Call(ctx, "input.performActions", map[string]any{"context": p.ID, "actions": []any{source}}, nil); err != nil {
		return err
	}
	return p.b.Call(ctx, "input.releaseActions", map[string]any{"context": p.ID}, nil)
}

// staleMark is set on the window before an action that navigates: a document without it is the
// new one.
const staleMark = "__bidiStale"

// MarkDocument marks the current document, for WaitNewDocument.
func (p *Page) MarkDocument(ctx context.Context) error {
	return p.Eval(ctx, "window."+staleMark+" = true", nil)
}

// WaitNewDocument waits until the page shows a document other than the one last marked, fully
// loaded.
func (p *Page) WaitNewDocument(ctx context.Context, timeout time.Duration) error {
	return p.WaitTrue(ctx, `!window.`+staleMark+` && document.readyState === "complete"`, timeout)
}

// WaitTrue polls a JavaScript expression until it is truthy. Errors while a new document
// replaces the old one count as not yet.
func (p *Page) WaitTrue(ctx context.Context, expr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var last error
	for {
		var ok bool
		err := p.Eval(ctx, "!!("+expr+")", &ok)
		if err == nil && ok {
			return nil
		}
		if err != nil {
			last = err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if time.Now().After(deadline) {
			if last != nil {
				return fmt.Errorf("%s did not become true within %s (last error: %v)", expr, timeout, last)
			}
			return fmt.Errorf("%s did not become true within %s", expr, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// RemoteValue is a value serialized by the browser (script.RemoteValue).
type RemoteValue struct {
	Type     string          `json:"type"`
	Value    json.RawMessage `json:"value,omitempty"`
	SharedID string          `json:"sharedId,omitempty"`
	Handle   string          `json:"handle,omitempty"`
}

// Go converts the value to what encoding/json would make of its JSON: nil, bool, float64,
// string, []any or map[string]any. Numbers that JSON cannot hold (NaN, Infinity, -0) and
// bigints become strings; nodes, functions and other objects become their type's name in
// brackets.
func (v *RemoteValue) Go() (any, error) {
	switch v.Type {
	case "undefined", "null":
		return nil, nil
	case "string":
		var s string
		err := json.Unmarshal(v.Value, &s)
		return s, err
	case "boolean":
		var b bool
		err := json.Unmarshal(v.Value, &b)
		return b, err
	case "number":
		var f float64
		if err := json.Unmarshal(v.Value, &f); err == nil {
			return f, nil
		}
		var s string
		if err := json.Unmarshal(v.Value, &s); err != nil {
			return nil, fmt.Errorf("number %s: %w", v.Value, err)
		}
		return s, nil
	case "bigint":
		var s string
		err := json.Unmarshal(v.Value, &s)
		return s, err
	case "array", "set":
		var items []RemoteValue
		if err := json.Unmarshal(v.Value, &items); err != nil {
			return nil, err
		}
		out := make([]any, len(items))
		for i := range items {
			x, err := items[i].Go()
			if err != nil {
				return nil, err
			}
			out[i] = x
		}
		return out, nil
	case "object", "map":
		var pairs [][2]json.RawMessage
		if err := json.Unmarshal(v.Value, &pairs); err != nil {
			return nil, err
		}
		out := make(map[string]any, len(pairs))
		for _, kv := range pairs {
			var key string
			if err := json.Unmarshal(kv[0], &key); err != nil {
				var rk RemoteValue
				if err := json.Unmarshal(kv[0], &rk); err != nil {
					return nil, err
				}
				k, err := rk.Go()
				if err != nil {
					return nil, err
				}
				key = fmt.Sprint(k)
			}
			var rv RemoteValue
			if err := json.Unmarshal(kv[1], &rv); err != nil {
				return nil, err
			}
			x, err := rv.Go()
			if err != nil {
				return nil, err
			}
			out[key] = x
		}
		return out, nil
	}
	return "[" + v.Type + "]", nil
}

// Decode stores the value in out as encoding/json would decode the value's JSON.
func (v *RemoteValue) Decode(out any) error {
	x, err := v.Go()
	if err != nil {
		return err
	}
	b, err := json.Marshal(x)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, out)
}

// localValue turns a Go value into a script.LocalValue.
func localValue(a any) (any, error) {
	switch x := a.(type) {
	case *RemoteValue:
		if x.SharedID != "" {
			return map[string]any{"sharedId": x.SharedID}, nil
		}
		if x.Handle != "" {
			return map[string]any{"handle": x.Handle}, nil
		}
		return map[string]any{"type": x.Type, "value": x.Value}, nil
	case nil:
		return map[string]any{"type": "null"}, nil
	case string:
		return map[string]any{"type": "string", "value": x}, nil
	case bool:
		return map[string]any{"type": "boolean", "value": x}, nil
	case int:
		return map[string]any{"type": "number", "value": x}, nil
	case int64:
		return map[string]any{"type": "number", "value": x}, nil
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, fmt.Errorf("argument %v: not a JSON number", x)
		}
		return map[string]any{"type": "number", "value": x}, nil
	}
	return nil, fmt.Errorf("argument of type %T: pass a string, number, bool, nil or *RemoteValue", a)
}

// AddPreloadScript runs a function declaration in every new document of every page before the
// document's own scripts, from now on.
func (b *Browser) AddPreloadScript(ctx context.Context, fn string) error {
	return b.Call(ctx, "script.addPreloadScript", map[string]any{"functionDeclaration": fn}, nil)
}

// LogEntry is a log.entryAdded event: a console call or an uncaught error of a page.
type LogEntry struct {
	Level  string `json:"level"` // debug, info, warn, error
	Type   string `json:"type"`  // console, javascript
	Text   string `json:"text"`
	Source struct {
		Context string `json:"context"`
	} `json:"source"`
	StackTrace *struct {
		CallFrames []struct {
			URL          string `json:"url"`
			FunctionName string `json:"functionName"`
			LineNumber   int    `json:"lineNumber"`
			ColumnNumber int    `json:"columnNumber"`
		} `json:"callFrames"`
	} `json:"stackTrace"`
}

// Where is the first frame of the entry's stack, if it has one.
func (e LogEntry) Where() string {
	if e.StackTrace == nil || len(e.StackTrace.CallFrames) == 0 {
		return ""
	}
	f := e.StackTrace.CallFrames[0]
	return fmt.Sprintf("%s:%d:%d", f.URL, f.LineNumber+1, f.ColumnNumber+1)
}

// ByRole finds the elements whose computed accessible role and name, as the browser's
// accessibility tree (what a screen reader reads) has them, are role and name; an empty role or
// name matches any. Roles are the computed ones: Firefox calls role="img" "image".
func (p *Page) ByRole(ctx context.Context, role, name string) ([]RemoteValue, error) {
	value := map[string]any{}
	if role != "" {
		value["role"] = role
	}
	if name != "" {
		value["name"] = name
	}
	var r struct {
		Nodes []RemoteValue `json:"nodes"`
	}
	err := p.b.Call(ctx, "browsingContext.locateNodes", map[string]any{
		"context": p.ID, "locator": map[string]any{"type": "accessibility", "value": value},
	}, &r)
	return r.Nodes, err
}

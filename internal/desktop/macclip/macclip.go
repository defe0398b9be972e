//go:build darwin

// Package macclip puts text on the macOS general pasteboard without cgo, through the
// Objective-C runtime (github.com/ebitengine/purego/objc). A secret copy also carries
// org.nspasteboard.ConcealedType, the marker (nspasteboard.org) that clipboard managers and
// history tools (Maccy, Paste, Alfred, Raycast, …) honour by not keeping the copy.
//
// It cannot be tested on the Linux machines the project's CI runs on; it is kept to the few
// NSPasteboard calls it needs.
package macclip

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"unsafe"

	"github.com/ebitengine/purego"
	"github.com/ebitengine/purego/objc"
)

const (
	appKit = "/System/Library/Frameworks/AppKit.framework/AppKit"
	// typeText is NSPasteboardTypeString.
	typeText = "public.utf8-plain-text"
	// ConcealedType marks a copy that clipboard managers must not keep.
	ConcealedType = "org.nspasteboard.ConcealedType"
)

// Owner puts text on the general pasteboard and remembers whether it is still there. It is
// safe for concurrent use.
type Owner struct {
	pb  objc.ID
	sel selectors

	mu     sync.Mutex
	change int    // the pasteboard's changeCount after our copy; -1 if none
	text   string // what we put there
}

type selectors struct {
	drain, new, stringWithUTF8, arrayWithObjects, declareTypes, setString, changeCount, clearContents objc.SEL
}

// Open loads AppKit and gets the general pasteboard.
func Open() (*Owner, error) {
	if _, err := purego.Dlopen(appKit, purego.RTLD_GLOBAL|purego.RTLD_NOW); err != nil {
		return nil, fmt.Errorf("load AppKit: %w", err)
	}
	cls := objc.GetClass("NSPasteboard")
	if cls == 0 {
		return nil, errors.New("load AppKit: no NSPasteboard class")
	}
	o := &Owner{change: -1, sel: selectors{
		drain:            objc.RegisterName("drain"),
		new:              objc.RegisterName("new"),
		stringWithUTF8:   objc.RegisterName("stringWithUTF8String:"),
		arrayWithObjects: objc.RegisterName("arrayWithObjects:count:"),
		declareTypes:     objc.RegisterName("declareTypes:owner:"),
		setString:        objc.RegisterName("setString:forType:"),
		changeCount:      objc.RegisterName("changeCount"),
		clearContents:    objc.RegisterName("clearContents"),
	}}
	o.pb = objc.ID(cls).Send(objc.RegisterName("generalPasteboard"))
	if o.pb == 0 {
		return nil, errors.New("no general pasteboard")
	}
	return o, nil
}

// withPool runs f on one OS thread inside an autorelease pool: the strings and arrays made
// with class methods are autoreleased, and a goroutine's thread has no pool of its own.
func (o *Owner) withPool(f func()) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	pool := objc.ID(objc.GetClass("NSAutoreleasePool")).Send(o.sel.new)
	defer pool.Send(o.sel.drain)
	f()
}

func (o *Owner) nsString(s string) objc.ID {
	return objc.ID(objc.GetClass("NSString")).Send(o.sel.stringWithUTF8, s)
}

// Copy puts text on the pasteboard as plain text; a secret also gets ConcealedType.
func (o *Owner) Copy(text string, secret bool) error {
	// The text goes to Objective-C as a C string, which ends at the first NUL.
	if strings.IndexByte(text, 0) >= 0 {
		return errors.New("the text contains a NUL byte")
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	var err error
	o.withPool(func() {
		types := []objc.ID{o.nsString(typeText)}
		if secret {
			types = append(types, o.nsString(ConcealedType))
		}
		array := objc.ID(objc.GetClass("NSArray")).Send(o.sel.arrayWithObjects,
			unsafe.Pointer(&types[0]), uint(len(types)))
		runtime.KeepAlive(types)
		objc.Send[int](o.pb, o.sel.declareTypes, array, objc.ID(0))
		if !objc.Send[bool](o.pb, o.sel.setString, o.nsString(text), types[0]) {
			err = errors.New("the pasteboard refused the text")
			return
		}
		if secret && !objc.Send[bool](o.pb, o.sel.setString, o.nsString(""), types[1]) {
			// The text is there unmarked: take it off again rather than leave a secret that
			// clipboard histories would keep.
			objc.Send[int](o.pb, o.sel.clearContents)
			err = errors.New("the pasteboard refused the concealed marker")
			return
		}
		o.change, o.text = objc.Send[int](o.pb, o.sel.changeCount), text
	})
	return err
}

// Holds reports whether the pasteboard still has our copy of exactly text: nobody has
// changed it since (its changeCount is ours).
func (o *Owner) Holds(text string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.change >= 0 && o.text == text && objc.Send[int](o.pb, o.sel.changeCount) == o.change
}

// Clear empties the pasteboard if it still has our copy; someone else's is left alone.
func (o *Owner) Clear() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.change >= 0 && objc.Send[int](o.pb, o.sel.changeCount) == o.change {
		o.withPool(func() { objc.Send[int](o.pb, o.sel.clearContents) })
	}
	o.change, o.text = -1, ""
	return nil
}

// Close clears our copy (the pasteboard server would keep it after we exit).
func (o *Owner) Close() error { return o.Clear() }

package desktop

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"strings"
	"sync"
	"testing"
)

func TestNotifierLogsOnce(t *testing.T) {
	var mu sync.Mutex
	var logs []string
	n := &Notifier{App: "homeytray",
		Logf: func(format string, args ...any) {
			mu.Lock()
			logs = append(logs, fmt.Sprintf(format, args...))
			mu.Unlock()
		},
		Send: func(string, string, string, []byte) error {
			return errors.New("beeep: dbus: The name org.freedesktop.Notifications was not provided by any .service files")
		}}
	for range 3 {
		n.Show("t", "b")
	}
	if len(logs) != 1 || !strings.Contains(logs[0], "org.freedesktop.Notifications") {
		t.Errorf("log %q, want the first failure once", logs)
	}
}

func TestImageData(t *testing.T) {
	img := image.NewNRGBA(image.Rect(0, 0, 2, 1))
	img.Set(0, 0, color.NRGBA{R: 255, A: 255})
	img.Set(1, 0, color.NRGBA{B: 255, A: 128})
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	got, ok := imageData(buf.Bytes())
	want := busImage{Width: 2, Height: 1, Rowstride: 8, HasAlpha: true, BitsPerSample: 8, Channels: 4,
		Data: []byte{255, 0, 0, 255, 0, 0, 255, 128}}
	if !ok || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("imageData = %v, %v; want %v", got, ok, want)
	}
	if _, ok := imageData([]byte("not a png")); ok {
		t.Error("imageData accepted junk")
	}
	if _, ok := imageData(nil); ok {
		t.Error("imageData accepted nothing")
	}
}

package outbox_test

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/causeway-dev/causeway/outbox"
)

// headerCases are header lists whose encoding must match json.Marshal's,
// from the common case to every escape encoding/json writes.
var headerCases = []struct {
	name string
	hs   []outbox.Header
}{
	{"nil", nil},
	{"empty", []outbox.Header{}},
	{"empty strings", []outbox.Header{{}}},
	{"typical", []outbox.Header{
		{Key: "traceparent", Value: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"},
		{Key: "ce_type", Value: "order.placed"},
	}},
	{"quote and backslash", []outbox.Header{{Key: `a"b`, Value: `c\d`}}},
	{"short escapes", []outbox.Header{{Key: "\b\f\n\r\t", Value: "x\ny"}}},
	{"control bytes", []outbox.Header{{Key: "\x00\x01\x1f", Value: "\x7f"}}},
	{"html", []outbox.Header{{Key: "<script>", Value: "a&b"}}},
	{"line separators", []outbox.Header{{Key: "a\u2028b", Value: "\u2029"}}},
	{"utf-8", []outbox.Header{{Key: "ключ", Value: "日本語 €"}}},
	{"invalid utf-8", []outbox.Header{{Key: "\xff", Value: "a\xc3(b\xed\xa0\x80"}}},
	{"truncated rune", []outbox.Header{{Key: "\xe2\x82", Value: "€\xe2"}}},
	{"json in values", []outbox.Header{{Key: "{", Value: `[{"key":"x","value":"y"}]`}}},
}

func TestAppendHeadersJSONMatchesMarshal(t *testing.T) {
	for _, c := range headerCases {
		t.Run(c.name, func(t *testing.T) {
			checkEncode(t, c.hs)
		})
	}
}

func TestAppendHeadersJSONAppends(t *testing.T) {
	got := string(outbox.AppendHeadersJSON([]byte("prefix:"), []outbox.Header{{Key: "k", Value: "v"}}))
	if want := `prefix:[{"key":"k","value":"v"}]`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func TestParseHeadersJSON(t *testing.T) {
	for _, c := range []struct {
		name, in string
		want     []outbox.Header
		wantErr  bool
	}{
		{"null", `null`, nil, false},
		{"empty", `[]`, []outbox.Header{}, false},
		{"one", `[{"key":"k","value":"v"}]`, []outbox.Header{{Key: "k", Value: "v"}}, false},
		{"two", `[{"key":"a","value":"1"},{"key":"b","value":"2"}]`, []outbox.Header{{Key: "a", Value: "1"}, {Key: "b", Value: "2"}}, false},
		{"empty strings", `[{"key":"","value":""}]`, []outbox.Header{{}}, false},
		{"utf-8", `[{"key":"ключ","value":"€"}]`, []outbox.Header{{Key: "ключ", Value: "€"}}, false},
		{"braces in strings", `[{"key":"{{","value":"}"}]`, []outbox.Header{{Key: "{{", Value: "}"}}, false},
		{"escapes", `[{"key":"a\"b","value":"\u003c\n"}]`, []outbox.Header{{Key: `a"b`, Value: "<\n"}}, false},
		{"invalid utf-8", "[{\"key\":\"\xff\",\"value\":\"v\"}]", []outbox.Header{{Key: "\ufffd", Value: "v"}}, false},
		{"whitespace", ` [ { "key" : "k" , "value" : "v" } ] `, []outbox.Header{{Key: "k", Value: "v"}}, false},
		{"other order", `[{"value":"v","key":"k"}]`, []outbox.Header{{Key: "k", Value: "v"}}, false},
		{"missing field", `[{"key":"k"}]`, []outbox.Header{{Key: "k"}}, false},
		{"unknown field", `[{"key":"k","value":"v","x":1}]`, []outbox.Header{{Key: "k", Value: "v"}}, false},
		{"field case", `[{"KEY":"k","Value":"v"}]`, []outbox.Header{{Key: "k", Value: "v"}}, false},
		{"duplicate field", `[{"key":"a","value":"v","key":"b"}]`, []outbox.Header{{Key: "b", Value: "v"}}, false},
		{"null element", `[null]`, []outbox.Header{{}}, false},
		{"null value", `[{"key":"k","value":null}]`, []outbox.Header{{Key: "k"}}, false},
		{"empty input", ``, nil, true},
		{"truncated", `[{"key":"k","value":"v"}`, nil, true},
		{"trailing comma", `[{"key":"k","value":"v"},]`, nil, true},
		{"trailing data", `[{"key":"k","value":"v"}]x`, nil, true},
		{"control byte", "[{\"key\":\"\x01\",\"value\":\"v\"}]", nil, true},
		{"object", `{"key":"k","value":"v"}`, nil, true},
		{"number value", `[{"key":"k","value":1}]`, []outbox.Header{{Key: "k"}}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := outbox.ParseHeadersJSON([]byte(c.in))
			if (err != nil) != c.wantErr {
				t.Fatalf("error = %v, want error: %v", err, c.wantErr)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("got %#v, want %#v", got, c.want)
			}
			checkDecode(t, []byte(c.in))
		})
	}
}

// FuzzHeadersJSON checks the codec against encoding/json: the input decodes
// to what json.Unmarshal gives (value and error), and the header list made
// from it encodes to what json.Marshal gives, which in turn decodes alike.
func FuzzHeadersJSON(f *testing.F) {
	for _, c := range headerCases {
		b, err := json.Marshal(c.hs)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, byte(0))
	}
	for _, s := range []string{
		``, `null`, `[]`, `[null]`, ` [ ] `,
		`[{"key":"k","value":"v"},{"key":"a","value":"b"}]`,
		`[{"value":"v","key":"k"}]`,
		`[{"key":"k","value":"v","key":"w"}]`,
		`[{"Key":"k","VALUE":"v"}]`,
		`[{"key":"k"}]`,
		`[{"key":"k","value":1}]`,
		`[{"key":"\u00e9\ud83d\ude00","value":"\/"}]`,
		"[{\"key\":\"\xed\xa0\x80\",\"value\":\"\xf0\x9f\x98\"}]",
		"[{\"key\":\"k\",\"value\":\"v\"}]\n",
		`[{"key":"k","value":"v"}`,
		"traceparent\x0000-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\x00ce_type\x00order.placed",
	} {
		f.Add([]byte(s), byte(0))
	}
	f.Fuzz(func(t *testing.T, data []byte, sep byte) {
		checkDecode(t, data)
		hs := headersFrom(data, sep)
		checkEncode(t, hs)
		checkDecode(t, outbox.AppendHeadersJSON(nil, hs))
	})
}

// headersFrom splits data on sep into alternating keys and values (nil for
// empty data).
func headersFrom(data []byte, sep byte) []outbox.Header {
	if len(data) == 0 {
		return nil
	}
	parts := bytes.Split(data, []byte{sep})
	hs := make([]outbox.Header, 0, (len(parts)+1)/2)
	for i := 0; i < len(parts); i += 2 {
		h := outbox.Header{Key: string(parts[i])}
		if i+1 < len(parts) {
			h.Value = string(parts[i+1])
		}
		hs = append(hs, h)
	}
	return hs
}

// checkEncode fails t unless AppendHeadersJSON writes what json.Marshal does.
func checkEncode(t *testing.T, hs []outbox.Header) {
	t.Helper()
	want, err := json.Marshal(hs)
	if err != nil {
		t.Fatalf("json.Marshal(%#v): %v", hs, err)
	}
	if got := outbox.AppendHeadersJSON(nil, hs); !bytes.Equal(got, want) {
		t.Fatalf("AppendHeadersJSON(%#v)\n got %s\nwant %s", hs, got, want)
	}
}

// checkDecode fails t unless ParseHeadersJSON returns what json.Unmarshal
// into a nil []Header does: the same value and the same error.
func checkDecode(t *testing.T, b []byte) {
	t.Helper()
	var want []outbox.Header
	wantErr := json.Unmarshal(b, &want)
	got, err := outbox.ParseHeadersJSON(b)
	if (err == nil) != (wantErr == nil) || (err != nil && err.Error() != wantErr.Error()) {
		t.Fatalf("ParseHeadersJSON(%q) error = %v, want %v", b, err, wantErr)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("ParseHeadersJSON(%q)\n got %#v\nwant %#v", b, got, want)
	}
}

// BenchmarkHeadersCodec compares the headers column codec with
// encoding/json on a typical row's headers.
func BenchmarkHeadersCodec(b *testing.B) {
	hs := []outbox.Header{
		{Key: "traceparent", Value: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"},
		{Key: "ce_id", Value: "00012345"},
		{Key: "ce_type", Value: "order.placed"},
		{Key: "ce_source", Value: "order-service"},
	}
	enc, err := json.Marshal(hs)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("encode/codec", func(b *testing.B) {
		b.ReportAllocs()
		var buf []byte
		for b.Loop() {
			buf = outbox.AppendHeadersJSON(buf[:0], hs)
			_ = string(buf) // what Enqueue binds
		}
	})
	b.Run("encode/json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			buf, err := json.Marshal(hs)
			if err != nil {
				b.Fatal(err)
			}
			_ = string(buf)
		}
	})
	b.Run("decode/codec", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := outbox.ParseHeadersJSON(enc); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decode/json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var got []outbox.Header
			if err := json.Unmarshal(enc, &got); err != nil {
				b.Fatal(err)
			}
		}
	})
}

package event

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// FuzzDecodeDifferential checks that Codec.Decode and the original
// json.Decoder-based implementation (refDecode, decode_ref_test.go) agree
// on every input: both succeed with identical envelopes, or both fail with
// a *DecodeError of the same Kind, EventType and Version. It also checks
// that the decoded data does not alias the input. Seeds: the committed
// corpus of FuzzDecode, and testdata/fuzz/FuzzDecodeDifferential (the
// diffSeeds of up to 4 kB, seed_NNN, and inputs found by fuzzing, found_*).
// The deep-nesting seeds (20–60 kB) are left to TestDecodeDifferentialSeeds:
// as fuzz seeds, their mutants make the fuzzer spend its time minimising.
//
//	go test -run='^$' -fuzz=FuzzDecodeDifferential -fuzztime=60s ./event/
func FuzzDecodeDifferential(f *testing.F) {
	for _, in := range fuzzCorpus(f, "FuzzDecode") {
		f.Add(in)
	}
	codec := NewCodec(newDiffRegistry(f))
	f.Fuzz(func(t *testing.T, in []byte) {
		checkDifferential(t, codec, in)
	})
}

// TestDecodeDifferentialSeeds runs the differential check on diffSeeds and
// reports which of them decode, so a seed that stops exercising what it was
// written for shows up in -v output.
func TestDecodeDifferentialSeeds(t *testing.T) {
	codec := NewCodec(newDiffRegistry(t))
	for i, in := range diffSeeds() {
		checkDifferential(t, codec, []byte(in))
		_, err := codec.Decode([]byte(in))
		t.Logf("seed %d (%d bytes): %v", i, len(in), err)
	}
}

func checkDifferential(t *testing.T, codec *Codec, in []byte) {
	t.Helper()
	orig := bytes.Clone(in)
	want, wantErr := refDecode(codec, bytes.Clone(in))
	got, gotErr := codec.Decode(in)
	if !bytes.Equal(in, orig) {
		t.Fatalf("Decode modified its input")
	}
	switch {
	case (wantErr == nil) != (gotErr == nil):
		t.Fatalf("input %q:\n got err %v\nwant err %v", in, gotErr, wantErr)
	case wantErr != nil:
		var g, w *DecodeError
		if !errors.As(gotErr, &g) || !errors.As(wantErr, &w) {
			t.Fatalf("input %q: not *DecodeError: got %T, want %T", in, gotErr, wantErr)
		}
		if g.Kind != w.Kind || g.EventType != w.EventType || g.Version != w.Version || g.Err == nil {
			t.Fatalf("input %q:\n got %v (kind %v, type %q, v%d)\nwant %v (kind %v, type %q, v%d)",
				in, gotErr, g.Kind, g.EventType, g.Version, wantErr, w.Kind, w.EventType, w.Version)
		}
	default:
		if got.EventID != want.EventID || got.EventType != want.EventType || got.Timestamp != want.Timestamp ||
			got.Version != want.Version || !bytes.Equal(got.Data, want.Data) || got.Metadata != want.Metadata {
			t.Fatalf("input %q:\n got %+v\nwant %+v", in, got, want)
		}
		data := bytes.Clone(got.Data)
		for i := range in {
			in[i] = 'X'
		}
		if !bytes.Equal(got.Data, data) {
			t.Fatalf("decoded data aliases the input")
		}
	}
}

// fuzzCorpus reads the committed corpus of the fuzz test name.
func fuzzCorpus(tb testing.TB, name string) [][]byte {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "fuzz", name, "*"))
	if err != nil || len(files) == 0 {
		tb.Fatalf("corpus of %s: %v (%d files)", name, err, len(files))
	}
	var out [][]byte
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			tb.Fatal(err)
		}
		header, body, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
		q, ok := strings.CutPrefix(body, "[]byte(")
		q, ok2 := strings.CutSuffix(q, ")")
		s, err := strconv.Unquote(q)
		if header != "go test fuzz v1" || !ok || !ok2 || err != nil {
			tb.Fatalf("%s: not a go test fuzz v1 []byte entry", file)
		}
		out = append(out, []byte(s))
	}
	return out
}

// diffEnvelope is a valid envelope with the given pieces, in wire form.
func diffEnvelope(id, typ, ts, version, data, md string) string {
	return `{"eventId":` + id + `,"eventType":` + typ + `,"timestamp":` + ts + `,"version":` + version +
		`,"data":` + data + `,"metadata":` + md + `}`
}

// diffSeeds are inputs aimed at the differences a hand-written scanner
// could have from encoding/json: escapes, white space, numbers, literals,
// nesting depth, duplicate and escaped keys, and the order of errors.
func diffSeeds() []string {
	const (
		id  = `"0195f3a2-7c1e-7000-8000-000000000001"`
		ts  = `"2026-11-25T18:05:37.123Z"`
		md  = `{"correlationId":"c-1","causationId":"e-0","source":"test-service"}`
		typ = `"thing.made"`
	)
	env := func(data string) string { return diffEnvelope(id, typ, ts, "3", data, md) }
	nest := func(open, close string, n int, inner string) string {
		return strings.Repeat(open, n) + inner + strings.Repeat(close, n)
	}
	seeds := []string{
		env(`{"count":1}`),
		" \t\r\n" + env("{ \"count\" :\t1 ,\r\n \"s\" : \"a b\\\" c\" }") + " \n",
		diffEnvelope(id, `"thing.made"`, ts, "1", `{"n":1}`, md),
		diffEnvelope(id, `"order.placed"`, ts, "1", `{"orderId":"o-1","totalAmount":25.98}`, md),
		diffEnvelope(id, `"order.placed"`, ts, "2", `{"orderId":"o-1","totalMinor":2598,"currency":"EUR"}`, md),
		// Escapes in keys and in names.
		`{"event\u0049d":` + id + `,"eventType":"thing.made","timestamp":` + ts + `,"version":3,"data":{},"metadata":` + md + `}`,
		`{"eventId":` + id + `,"eventType":"thing\u002emade","timestamp":"2026-11-25T18:05:37.123\u005a","version":3,"data":{},"metadata":{"correlation\u0049d":"c\/1","source":"s"}}`,
		diffEnvelope(`"a\u0000b"`, typ, ts, "3", `{}`, md),
		diffEnvelope(`"\ud800"`, typ, ts, "3", `{}`, md),
		diffEnvelope(`"\u00e9"`, typ, ts, "3", `{}`, md),
		diffEnvelope(id, `"thing.made\t"`, ts, "3", `{}`, md),
		diffEnvelope(id, `"thing.made\x"`, ts, "3", `{}`, md),
		diffEnvelope(id, `"thing.made\u12"`, ts, "3", `{}`, md),
		diffEnvelope(id, "\"thing.made\x01\"", ts, "3", `{}`, md),
		diffEnvelope(id, typ, ts, "3", `{"s":"\ud83d\ude00 \u2028 <&>"}`, md),
		// Duplicate keys, escaped or not, at each level.
		`{"eventId":` + id + `,"eventI\u0064":` + id + `,"eventType":"thing.made","timestamp":` + ts + `,"version":3,"data":{},"metadata":` + md + `}`,
		env(`{"a":1,"a":2}`),
		diffEnvelope(id, typ, ts, "3", `{}`, `{"correlationId":"c","source":"s","source":"t"}`),
		diffEnvelope(id, typ, ts, "3", `{}`, `{"correlationId":"c","source":"s","x":{"y":[1,2,{"z":null}]}}`),
		diffEnvelope(id, typ, ts, "3", `{}`, `{"correlationId":"c","source":"s","causationId":""}`),
		diffEnvelope(id, typ, ts, "3", `{}`, `{"correlationId":"c","source":"s","causationId":null}`),
		diffEnvelope(id, typ, ts, "3", `{}`, `{"source":"s"}`),
		diffEnvelope(id, typ, ts, "3", `{}`, `{}`),
		diffEnvelope(id, typ, ts, "3", `{}`, `[]`),
		// Errors in two fields at once: which type is reported.
		diffEnvelope(`7`, `7`, ts, "3", `{}`, `{"x":1}`),
		diffEnvelope(`7`, typ, `7`, "0", `[]`, `{"x":1}`),
		diffEnvelope(id, typ, ts, "3", `{}`, md) + `x`,
		diffEnvelope(id, typ, ts, "3", `{}`, md)[1:],
		`{"eventId":` + id + `,"eventType":"thing.made","bogus":1}`,
		`{"eventType":"thing.made"}`,
		`{}`, `{ }`, `{"a"}`, `{"a":}`, `{"a":1,}`, `{,}`, `{"a":1 "b":2}`, `{"a" 1}`, `{1:2}`, `{"a":1}}`,
		"\ufeff{}", `{"a":1}` + "\x00", ` `, `"x"`, `7`, `null`, `[`, `{`,
		// Numbers and literals.
		env(`{"n":[0,-0,1.5,-1.5e10,1E+2,1e-2,12345678901234567890123]}`),
		env(`{"n":01}`), env(`{"n":-}`), env(`{"n":1.}`), env(`{"n":.5}`), env(`{"n":1e}`), env(`{"n":+1}`),
		env(`{"n":1.5e+}`), env(`{"n":-01}`), env(`{"n":0x1}`), env(`{"n":Infinity}`), env(`{"n":NaN}`),
		env(`{"t":true,"f":false,"n":null}`), env(`{"t":tru}`), env(`{"t":truex}`), env(`{"t":nul}`), env(`{"t":True}`),
		env(`{"a":[]}`), env(`{"a":[,]}`), env(`{"a":[1,]}`), env(`{"a":[1 2]}`), env(`{"a":{"b":[{}]}}`),
		// Versions.
		diffEnvelope(id, typ, ts, "03", `{}`, md), diffEnvelope(id, typ, ts, "3e0", `{}`, md),
		diffEnvelope(id, typ, ts, "999999999", `{}`, md), diffEnvelope(id, typ, ts, "1000000000", `{}`, md),
		diffEnvelope(id, typ, ts, " 3 ", `{}`, md), diffEnvelope(id, typ, ts, "-0", `{}`, md),
		// Timestamps.
		diffEnvelope(id, typ, `"2026-11-25T20:05:37.123456789+02:00"`, "3", `{}`, md),
		diffEnvelope(id, typ, `"0000-01-01T00:30:00+01:00"`, "3", `{}`, md),
		diffEnvelope(id, typ, `"9999-12-31T23:30:00-01:00"`, "3", `{}`, md),
		diffEnvelope(id, typ, `"2026-11-25t18:05:37z"`, "3", `{}`, md),
		diffEnvelope(id, typ, `"2026-11-25T18:05:37.1234567891234Z"`, "3", `{}`, md),
		diffEnvelope(id, typ, `"2026-11-25 18:05:37Z"`, "3", `{}`, md),
		diffEnvelope(id, typ, `""`, "3", `{}`, md),
		// Long names.
		diffEnvelope(`"`+strings.Repeat("a", 128)+`"`, typ, ts, "3", `{}`, md),
		diffEnvelope(`"`+strings.Repeat("a", 129)+`"`, typ, ts, "3", `{}`, md),
		diffEnvelope(`"`+strings.Repeat("a", 127)+`\u0061"`, typ, ts, "3", `{}`, md),
		diffEnvelope(`"`+strings.Repeat("a", 128)+`"`, `"`+strings.Repeat("b", 128)+`"`, ts, "3", `{}`,
			`{"correlationId":"`+strings.Repeat("c", 128)+`","causationId":"`+strings.Repeat("d", 128)+
				`","source":"`+strings.Repeat("e", 128)+`"}`),
		// Upcasters.
		diffEnvelope(id, `"thing.broken"`, ts, "1", `{ "fail" : true }`, md),
		diffEnvelope(id, `"thing.broken"`, ts, "1", `{"ok":1}`, md),
		diffEnvelope(id, `"thing.broken"`, ts, "1", `{"panic":true}`, md),
		diffEnvelope(id, `"thing.broken"`, ts, "1", `{"array":true}`, md),
		diffEnvelope(id, `"thing.broken"`, ts, "1", `{"space":true}`, md),
		diffEnvelope(id, `"thing.broken"`, ts, "1", `{"mutate":true}`, md),
		diffEnvelope(id, `"thing.made"`, ts, "2", "{\"unit\":\"box\"}", md),
		// Nesting at and beyond encoding/json's limit of 10000, in data and
		// in metadata.
		env(`{"d":` + nest("[", "]", 9999, "") + `}`),
		env(`{"d":` + nest("[", "]", 10000, "") + `}`),
		env(nest(`{"a":`, "}", 9999, "1") + ``),
		env(nest(`{"a":`, "}", 10000, "1")),
		env(nest(`{"a":`, "}", 10001, "1")),
		diffEnvelope(id, typ, ts, "3", `{}`, `{"correlationId":"c","source":"s","x":`+nest("[", "]", 9999, "")+`}`),
		diffEnvelope(id, typ, ts, "3", `{}`, `{"correlationId":"c","source":"s","x":`+nest("[", "]", 10000, "")+`}`),
	}
	return seeds
}

// newDiffRegistry has the types of the package's external tests (see
// helpers_test.go), plus order.placed v2 with a v1 upcaster.
//
//	"thing.broken" v2: its v1→v2 upcaster fails on {"fail": true}, panics
//	on {"panic": true}, returns a non-object on {"array": true}, returns
//	its argument with white space around on {"space": true}, and on
//	{"mutate": true} overwrites its argument before returning {}.
func newDiffRegistry(tb testing.TB) *Registry {
	tb.Helper()
	reg := NewRegistry()
	edit := func(f func(m map[string]any) error) func(json.RawMessage) (json.RawMessage, error) {
		return func(data json.RawMessage) (json.RawMessage, error) {
			var m map[string]any
			if err := json.Unmarshal(data, &m); err != nil {
				return nil, err
			}
			if err := f(m); err != nil {
				return nil, err
			}
			return json.Marshal(m)
		}
	}
	for _, r := range []struct {
		typ string
		v   int
		up  []Upcaster
	}{
		{"thing.made", 3, []Upcaster{
			{From: 1, Up: edit(func(m map[string]any) error { m["unit"] = "each"; return nil })},
			{From: 2, Up: edit(func(m map[string]any) error {
				n, ok := m["n"]
				if !ok {
					return errors.New("missing n")
				}
				m["count"] = n
				delete(m, "n")
				return nil
			})},
		}},
		{"thing.gone", 1, nil},
		{"thing.broken", 2, []Upcaster{{From: 1, Up: func(data json.RawMessage) (json.RawMessage, error) {
			var m map[string]any
			if err := json.Unmarshal(data, &m); err != nil {
				return nil, err
			}
			switch {
			case m["fail"] == true:
				return nil, errors.New("told to fail")
			case m["panic"] == true:
				var p *struct{ x int }
				return json.RawMessage(fmt.Sprint(p.x)), nil
			case m["array"] == true:
				return json.RawMessage(`[1]`), nil
			case m["space"] == true:
				return append(append([]byte(" \n"), data...), "\t "...), nil
			case m["mutate"] == true:
				for i := range data {
					data[i] = ' '
				}
				return json.RawMessage(`{ }`), nil
			}
			return data, nil
		}}}},
		{"order.placed", 2, []Upcaster{{From: 1, Up: edit(func(m map[string]any) error {
			m["currency"] = "USD"
			if f, ok := m["totalAmount"].(float64); ok {
				m["totalMinor"] = int64(f*100 + 0.5)
			}
			delete(m, "totalAmount")
			return nil
		})}}},
	} {
		if err := reg.Register(r.typ, r.v, r.up...); err != nil {
			tb.Fatal(err)
		}
	}
	return reg
}

package event_test

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/causeway-dev/causeway/event"
)

func identity(b json.RawMessage) (json.RawMessage, error) { return b, nil }

func TestRegisterRejectsInvalid(t *testing.T) {
	up := func(from int) event.Upcaster { return event.Upcaster{From: from, Up: identity} }
	tests := []struct {
		name      string
		typ       string
		version   int
		upcasters []event.Upcaster
	}{
		{"empty type", "", 1, nil},
		{"type with space", "order placed", 1, nil},
		{"type too long", strings.Repeat("x", event.MaxNameLen+1), 1, nil},
		{"version zero", "a.b", 0, nil},
		{"negative version", "a.b", -1, nil},
		{"chain too long", "a.b", 2, []event.Upcaster{up(0), up(1)}},
		{"chain not ending at version-1", "a.b", 3, []event.Upcaster{up(1)}},
		{"chain with a gap", "a.b", 4, []event.Upcaster{up(1), up(3)}},
		{"chain out of order", "a.b", 3, []event.Upcaster{up(2), up(1)}},
		{"nil Up", "a.b", 2, []event.Upcaster{{From: 1}}},
		{"upcasters for version 1", "a.b", 1, []event.Upcaster{up(0)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := event.NewRegistry()
			err := reg.Register(tt.typ, tt.version, tt.upcasters...)
			if !errors.Is(err, event.ErrRegistration) {
				t.Fatalf("Register: got %v, want ErrRegistration", err)
			}
			if got := reg.Types(); len(got) != 0 {
				t.Errorf("Types after failed Register: got %v, want none", got)
			}
		})
	}
}

func TestRegisterDuplicate(t *testing.T) {
	reg := event.NewRegistry()
	if err := reg.Register("a.b", 1); err != nil {
		t.Fatalf("first Register: %v", err)
	}
	if err := reg.Register("a.b", 2, event.Upcaster{From: 1, Up: identity}); !errors.Is(err, event.ErrRegistration) {
		t.Fatalf("second Register: got %v, want ErrRegistration", err)
	}
	if got, _ := reg.Latest("a.b"); got != 1 {
		t.Errorf("Latest after rejected re-registration: got %d, want 1", got)
	}
}

func TestRegistryQueries(t *testing.T) {
	reg := event.NewRegistry()
	if err := reg.Register("b.partial", 5,
		event.Upcaster{From: 3, Up: identity}, event.Upcaster{From: 4, Up: identity}); err != nil {
		t.Fatalf("Register: %v", err)
	}
	if err := reg.Register("a.only", 2); err != nil {
		t.Fatalf("Register: %v", err)
	}
	tests := []struct {
		typ            string
		latest, oldest int
		registered     bool
	}{
		{"b.partial", 5, 3, true},
		{"a.only", 2, 2, true},
		{"c.missing", 0, 0, false},
	}
	for _, tt := range tests {
		latest, ok := reg.Latest(tt.typ)
		if latest != tt.latest || ok != tt.registered {
			t.Errorf("Latest(%q): got %d, %v, want %d, %v", tt.typ, latest, ok, tt.latest, tt.registered)
		}
		oldest, ok := reg.Oldest(tt.typ)
		if oldest != tt.oldest || ok != tt.registered {
			t.Errorf("Oldest(%q): got %d, %v, want %d, %v", tt.typ, oldest, ok, tt.oldest, tt.registered)
		}
	}
	if got, want := reg.Types(), []string{"a.only", "b.partial"}; !slices.Equal(got, want) {
		t.Errorf("Types: got %v, want %v", got, want)
	}
}

package store_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/tenantml/tenantml/identity"
	"github.com/tenantml/tenantml/keys"
	"github.com/tenantml/tenantml/store"
	"github.com/tenantml/tenantml/tenant"
)

// nilStore is a Store whose parts are nil interfaces: any call that
// reaches one panics, which is how the test below tells a write the watch
// reports (the report is deferred, so it runs on the panic) from one it
// passes through unreported.
type nilStore struct{ store.Store }

func (nilStore) Identity() identity.Service { return struct{ identity.Service }{} }
func (nilStore) Tenants() tenant.Service    { return struct{ tenant.Service }{} }
func (nilStore) Keys() keys.Store           { return struct{ keys.Store }{} }

// reads are the methods that change nothing (or nothing a cache holds:
// RecordAccessKeyUse sets a key's last-used time).
func reads(name string) bool {
	for _, p := range []string{"Get", "List", "Find", "PoliciesFor"} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return name == "RecordAccessKeyUse"
}

// TestWatch_ReportsEveryWrite calls every method of the watched identity
// service, tenant registry and key store: each write must be reported,
// each read must not. A write method added to an interface and not to the
// watch fails here, so that no write path can leave a cache stale.
func TestWatch_ReportsEveryWrite(t *testing.T) {
	var changes int
	w := store.Watch(nilStore{}, func() { changes++ })
	for _, part := range []struct {
		name string
		v    any
		typ  reflect.Type
	}{
		{"identity", w.Identity(), reflect.TypeFor[identity.Service]()},
		{"tenants", w.Tenants(), reflect.TypeFor[tenant.Service]()},
		{"keys", w.Keys(), reflect.TypeFor[keys.Store]()},
	} {
		v := reflect.ValueOf(part.v)
		for i := range part.typ.NumMethod() {
			m := part.typ.Method(i)
			t.Run(part.name+"/"+m.Name, func(t *testing.T) {
				args := make([]reflect.Value, m.Type.NumIn())
				for j := range args {
					args[j] = reflect.Zero(m.Type.In(j))
				}
				before := changes
				func() {
					defer func() { _ = recover() }() // the nil part panics
					v.MethodByName(m.Name).Call(args)
				}()
				if got, want := changes-before, map[bool]int{true: 0, false: 1}[reads(m.Name)]; got != want {
					t.Fatalf("%s reported %d changes, want %d", m.Name, got, want)
				}
			})
		}
	}
}

func TestUnwrap(t *testing.T) {
	inner := nilStore{}
	if got := store.Unwrap(store.Watch(inner, func() {})); got != store.Store(inner) {
		t.Fatalf("Unwrap(Watch(s)) = %v, want s", got)
	}
	if got := store.Unwrap(inner); got != store.Store(inner) {
		t.Fatalf("Unwrap(s) = %v, want s", got)
	}
}

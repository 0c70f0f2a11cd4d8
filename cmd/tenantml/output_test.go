package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"
	"unicode"

	"gopkg.in/yaml.v3"

	"github.com/tenantml/tenantml/api/manage"
	"github.com/tenantml/tenantml/audit"
	"github.com/tenantml/tenantml/iam/simulate"
	"github.com/tenantml/tenantml/tenant"
)

// decodeOutput decodes a command's -o json or -o yaml output into v,
// through JSON so that v's json tags name the fields in both.
func decodeOutput(format, out string, v any) error {
	data := []byte(out)
	if format == "yaml" {
		var doc any
		if err := yaml.Unmarshal(data, &doc); err != nil {
			return fmt.Errorf("yaml: %w", err)
		}
		var err error
		if data, err = json.Marshal(doc); err != nil {
			return err
		}
	}
	return json.Unmarshal(data, v)
}

// TestOutput_FieldCasing checks every type a command prints with -o json
// or yaml: each field is named in camelCase by its json tag (no Go field
// names leak), and every time that may be unset is omitted when zero.
func TestOutput_FieldCasing(t *testing.T) {
	for _, v := range []any{
		manage.ListTenantKeysOutput{}, manage.RotateTenantKeyOutput{}, manage.EraseTenantOutput{},
		manage.ListArtifactsOutput{}, manage.ArtifactInfo{}, manage.PresignArtifactOutput{},
		manage.ListTenantsOutput{}, tenant.Tenant{}, manage.LookupEventsOutput{}, audit.Event{},
		audit.Report{}, simulate.Result{}, []simulate.Result{}, []validation{}, versionInfo{}, downloaded{},
	} {
		typ := reflect.TypeOf(v)
		t.Run(typ.String(), func(t *testing.T) {
			checkCasing(t, typ, typ.String(), map[reflect.Type]bool{})
		})
	}
}

var timeType = reflect.TypeOf(time.Time{})

func checkCasing(t *testing.T, typ reflect.Type, path string, seen map[reflect.Type]bool) {
	t.Helper()
	for typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Slice || typ.Kind() == reflect.Array || typ.Kind() == reflect.Map {
		typ = typ.Elem()
	}
	if typ.Kind() != reflect.Struct || typ == timeType || seen[typ] {
		return
	}
	seen[typ] = true
	for i := range typ.NumField() {
		f := typ.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("json")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" {
			continue
		}
		where := path + "." + f.Name
		if f.Anonymous && name == "" {
			checkCasing(t, f.Type, where, seen)
			continue
		}
		// audit events keep CloudTrail's own names (resources[].ARN).
		cloudTrail := name == "ARN" && f.Type.Kind() == reflect.String && typ == reflect.TypeOf(audit.Resource{})
		if name == "" || (!unicode.IsLower(rune(name[0])) && !cloudTrail) {
			t.Errorf("%s is printed as %q: want a camelCase json tag", where, name)
		}
		if f.Type == timeType && strings.Contains(strings.ToLower(f.Name), "deletion") && !strings.Contains(opts, "omitzero") && !strings.Contains(opts, "omitempty") {
			t.Errorf("%s (%s) prints a zero time when unset: want omitzero", where, tag)
		}
		checkCasing(t, f.Type, where, seen)
	}
}

func TestVersionCmd_Output(t *testing.T) {
	want := versionInfo{Version: version, GoVersion: runtime.Version()}
	for _, format := range []string{"table", "json", "yaml"} {
		t.Run(format, func(t *testing.T) {
			out, err := runCLI(t, "", "version", "-o", format)
			if err != nil {
				t.Fatal(err)
			}
			if format == "table" {
				if line := "tenantml " + want.Version + " (" + want.GoVersion + ")\n"; out != line {
					t.Fatalf("version = %q, want %q", out, line)
				}
				return
			}
			var got versionInfo
			if err := decodeOutput(format, out, &got); err != nil || got != want {
				t.Fatalf("version -o %s = %+v (%v), want %+v\n%s", format, got, err, want, out)
			}
		})
	}
	t.Run("ErrUnknownFormat", func(t *testing.T) {
		_, err := runCLI(t, "", "version", "-o", "xml")
		var ee *exitError
		if !errors.As(err, &ee) || ee.code != 2 {
			t.Fatalf("err = %v, want a usage error (exit code 2)", err)
		}
	})
}

package streamtoken

import (
	"encoding/json"
	"reflect"
	"slices"
	"testing"

	"github.com/streamtoken/streamtoken/gen"
	"github.com/streamtoken/streamtoken/internal/wire"
)

// fill sets every field of the struct v points to (by reflection over the
// generated type, so that a property added to the spec is filled too):
// pointers to a value that is not its zero, slices of one filled element.
func fill(t *testing.T, v reflect.Value, path string) {
	t.Helper()
	for i := range v.NumField() {
		f, name := v.Field(i), path+"."+v.Type().Field(i).Name
		switch f.Kind() {
		case reflect.Pointer:
			f.Set(reflect.New(f.Type().Elem()))
			fillValue(t, f.Elem(), name)
		case reflect.Slice:
			f.Set(reflect.MakeSlice(f.Type(), 1, 1))
			fillValue(t, f.Index(0), name)
		default:
			fillValue(t, f, name)
		}
	}
}

func fillValue(t *testing.T, v reflect.Value, name string) {
	t.Helper()
	switch v.Kind() {
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int64:
		v.SetInt(1_900_000_000)
	case reflect.String:
		v.SetString("x")
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		fillValue(t, v.Index(0), name)
	case reflect.Struct:
		fill(t, v, name)
	default:
		t.Fatalf("%s: a property of a kind this test cannot fill (%s): teach it", name, v.Kind())
	}
}

// Every property of the spec's TokenRequest reaches the token and back:
// through internal/wire (the server's way) and through the client's own
// TokenRequest. A property added to the spec but mapped nowhere would be
// ignored in silence by the server and unsendable by the client; this
// names it.
func TestEveryTokenRequestPropertyIsMapped(t *testing.T) {
	var body gen.TokenRequest
	fill(t, reflect.ValueOf(&body).Elem(), "TokenRequest")
	body.AccessRules[0].Type, body.AccessRules[0].Action = gen.AccessRuleTypeIPSrc, gen.AccessRuleActionAllow
	want := properties(t, body)

	r := wire.Request("v", &body)
	if lost := lost(want, properties(t, wire.Body(r, *body.ID, *body.PEM))); lost != nil {
		t.Errorf("through internal/wire, the properties %q of the spec's TokenRequest are lost: map them in wire.Request and wire.Body", lost)
	}

	// The client's TokenRequest has each of token.Request's fields (but the
	// video, which goes in the path), and sends it.
	var c TokenRequest
	cv, rv := reflect.ValueOf(&c).Elem(), reflect.ValueOf(r)
	for i := range rv.NumField() {
		name := rv.Type().Field(i).Name
		if name == "VideoID" {
			continue
		}
		f := cv.FieldByName(name)
		if !f.IsValid() || f.Type() != rv.Field(i).Type() {
			t.Errorf("the client's TokenRequest has no field %s (%s) for token.Request's", name, rv.Field(i).Type())
			continue
		}
		f.Set(rv.Field(i))
	}
	c.KeyID, c.PEM = *body.ID, *body.PEM
	if lost := lost(want, properties(t, wire.Body(c.request("v"), c.KeyID, c.PEM))); lost != nil {
		t.Errorf("through the client's TokenRequest, the properties %q of the spec's TokenRequest are lost", lost)
	}
}

// properties is a body's JSON: its properties, by name.
func properties(t *testing.T, body gen.TokenRequest) map[string]any {
	t.Helper()
	raw, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	if len(m) == 0 {
		t.Fatal("the filled body has no property")
	}
	return m
}

// lost names the properties of want that got lacks or changed, in order.
func lost(want, got map[string]any) []string {
	var names []string
	for name, v := range want {
		if !reflect.DeepEqual(got[name], v) {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

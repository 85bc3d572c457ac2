package apicode_test

import (
	"slices"
	"testing"

	"github.com/streamtoken/streamtoken/apicode"
)

func TestWhatTheSpecSaysOfACode(t *testing.T) {
	c := apicode.KeyLimit
	if c.String() != "1009" || c.Name() != "KeyLimit" || !slices.Equal(c.Statuses(), []int{400}) || c.Meaning() == "" {
		t.Errorf("KeyLimit: %s %q %v %q", c, c.Name(), c.Statuses(), c.Meaning())
	}
	if !slices.Equal(apicode.MalformedHTTP.Statuses(), []int{400, 431, 501}) {
		t.Errorf("MalformedHTTP.Statuses() = %v", apicode.MalformedHTTP.Statuses())
	}
	unknown := apicode.Code(42)
	if unknown.String() != "42" || unknown.Name() != "" || unknown.Statuses() != nil || unknown.Meaning() != "" {
		t.Errorf("an unlisted code: %s %q %v %q", unknown, unknown.Name(), unknown.Statuses(), unknown.Meaning())
	}
}

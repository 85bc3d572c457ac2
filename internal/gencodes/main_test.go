package main

import (
	"strings"
	"testing"
)

func TestCheckRefusesWhatWouldMakeWrongCode(t *testing.T) {
	ok := entry{Code: 1000, Name: "Internal", Status: []int{500}, Meaning: "a fault"}
	for _, tt := range []struct {
		name  string
		codes []entry
		want  string
	}{
		{"none", nil, "no codes"},
		{"below 1000", []entry{{Code: 999, Name: "X", Status: []int{400}, Meaning: "m"}}, "below 1000"},
		{"a code twice", []entry{ok, ok}, "twice"},
		{"a name twice", []entry{ok, {Code: 1001, Name: "Internal", Status: []int{400}, Meaning: "m"}}, "name Internal twice"},
		{"no Go name", []entry{{Code: 1000, Name: "bad name", Status: []int{400}, Meaning: "m"}}, "no exported Go identifier"},
		{"unexported", []entry{{Code: 1000, Name: "internal", Status: []int{400}, Meaning: "m"}}, "no exported Go identifier"},
		{"no status", []entry{{Code: 1000, Name: "X", Meaning: "m"}}, "status"},
		{"a 201", []entry{{Code: 1000, Name: "X", Status: []int{201}, Meaning: "m"}}, "status"},
		{"a 399", []entry{{Code: 1000, Name: "X", Status: []int{399}, Meaning: "m"}}, "status"},
		{"a 600", []entry{{Code: 1000, Name: "X", Status: []int{600}, Meaning: "m"}}, "status"},
		{"no meaning", []entry{{Code: 1000, Name: "X", Status: []int{400}}}, "no meaning"},
		{"out of order", []entry{{Code: 1001, Name: "Y", Status: []int{400}, Meaning: "m"}, ok}, "order"},
	} {
		if err := check(tt.codes); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("check(%s) = %v, want an error with %q", tt.name, err, tt.want)
		}
	}
	if err := check([]entry{ok}); err != nil {
		t.Errorf("check(one good code) = %v", err)
	}
	if err := check([]entry{{Code: 1100, Name: "Message", Status: []int{200}, Meaning: "a message beside a success"}}); err != nil {
		t.Errorf("check(a message's code, 200) = %v", err)
	}
}

func TestWithTable(t *testing.T) {
	readme := "# x\n\n" + readmeBegin + "\nold table\n" + readmeEnd + "\nafter\n"
	got, err := withTable([]byte(readme), []entry{{Code: 1009, Name: "KeyLimit", Status: []int{400}, Meaning: "too many keys"}})
	if err != nil {
		t.Fatal(err)
	}
	want := "# x\n\n" + readmeBegin + "\n\n| code | status | meaning |\n|---|---|---|\n| 1009 | 400 | too many keys |\n\n" + readmeEnd + "\nafter\n"
	if string(got) != want {
		t.Errorf("withTable() =\n%s\nwant\n%s", got, want)
	}
	if _, err := withTable([]byte("no markers"), nil); err == nil {
		t.Error("withTable(no markers) = nil error")
	}
}

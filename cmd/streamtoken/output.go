package main

import (
	"errors"

	"github.com/spf13/pflag"
)

// output is the --output flag of every command that prints a result: text
// for people, json for programs. A value that is neither is refused as the
// flags are parsed, in one line naming the flag.
type output string

const (
	outputText output = "text"
	outputJSON output = "json"
)

var _ pflag.Value = (*output)(nil)

func (o *output) String() string { return string(*o) }

func (o *output) Set(s string) error {
	switch output(s) {
	case outputText, outputJSON:
		*o = output(s)
		return nil
	}
	return errors.New("want text or json")
}

func (*output) Type() string { return "text|json" }

// json reports whether the result is to be printed as JSON.
func (o output) json() bool { return o == outputJSON }

// outputFlag registers --output on fs, text by default, with usage.
func outputFlag(fs *pflag.FlagSet, o *output, usage string) {
	*o = outputText
	fs.Var(o, "output", usage)
}

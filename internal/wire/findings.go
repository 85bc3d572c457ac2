package wire

import (
	"strconv"

	"github.com/streamtoken/streamtoken/apicode"
	"github.com/streamtoken/streamtoken/gen"
	"github.com/streamtoken/streamtoken/token"
)

// findingCodes are the codes of token.Lint's findings, as messages.
var findingCodes = map[token.FindingKind]apicode.Code{
	token.FindingRestrictsNothing: apicode.RulesRestrictNothing,
	token.FindingUnreachable:      apicode.RuleUnreachable,
	token.FindingOneIPFamily:      apicode.RuleOneIPFamily,
	token.FindingRepeated:         apicode.RuleRepeated,
}

// Findings are what a token request's access rules do that their author
// likely did not mean (token.Lint), as a success envelope's messages, each
// with its rule's pointer: the server's answer, and the client's when it
// signs locally. Never nil: the wire's messages are a list.
func Findings(rules []token.Rule) []gen.Message {
	found := token.Lint(rules)
	msgs := make([]gen.Message, len(found))
	for i, f := range found {
		msgs[i] = gen.Message{Code: int(findingCodes[f.Kind]), Message: f.String(),
			Source: &gen.MessageSource{Pointer: new("/accessRules/" + strconv.Itoa(f.Rule-1))}}
	}
	return msgs
}

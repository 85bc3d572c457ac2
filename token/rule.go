package token

// Action is what an access rule does to a viewer it matches.
type Action string

// The actions of an access rule.
const (
	ActionAllow Action = "allow"
	ActionBlock Action = "block"
)

// RuleType is what an access rule matches on.
type RuleType string

// The types of access rule.
const (
	// RuleAny matches every viewer; it sets the default after the other rules.
	RuleAny RuleType = "any"
	// RuleIPSrc matches a viewer whose address is in the rule's IP list.
	RuleIPSrc RuleType = "ip.src"
	// RuleCountry matches a viewer whose country is in the rule's country list.
	RuleCountry RuleType = "ip.geoip.country"
)

// Rule is one access rule, in the shape of the API's request body and of the
// token's accessRules claim.
type Rule struct {
	Type    RuleType `json:"type"`
	Action  Action   `json:"action"`
	Country []string `json:"country,omitempty"`
	IP      []string `json:"ip,omitempty"`
}

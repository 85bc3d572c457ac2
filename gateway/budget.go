package gateway

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"time"

	"github.com/streamtoken/streamtoken/store"
)

// Defaults of the budget of the gateway's own requests.
const (
	// DefaultBudget is how many requests of its own (keys made, listed,
	// deleted) the gateway makes on one upstream credential per
	// DefaultBudgetSpan, across the replicas that share its store:
	// Cloudflare's limit, 1,200 per 5 minutes per credential, which the
	// callers' own requests share.
	DefaultBudget     = 1200
	DefaultBudgetSpan = 5 * time.Minute
)

// overBudgetError: the credential's budget of the gateway's own requests
// is spent; nothing was sent.
type overBudgetError struct{ wait time.Duration }

func (e *overBudgetError) Error() string {
	return "the gateway's own requests on the credential are over their budget"
}

// Unwrap makes it an errUpstream: the upstream cannot be asked now.
func (e *overBudgetError) Unwrap() error { return errUpstream }

// spend takes one request from cred's budget for purpose, and reports
// whether one was left (with none, the request is not to be sent). The
// budget is a bucket of half the budget, refilled by half the budget each
// span: never more than the budget in any span, across replicas.
func (g *Gateway) spend(ctx context.Context, cred credential, purpose string) bool {
	if g.budget <= 0 {
		return true
	}
	ok, left, err := g.budgets.Spend(ctx, budgetName(cred), g.burst(), g.budgetSpan, g.now())
	if err != nil {
		g.log.Warn("the budget of the gateway's own requests could not be read: the request is not sent", "purpose", purpose, "error", err.Error())
		ok = false
	}
	g.metrics.budgetLeft.Set(float64(left))
	if !ok {
		g.metrics.upstream.WithLabelValues(purpose, "over_budget").Inc()
	}
	return ok
}

// burst is the budget's bucket: half the budget (at least one).
func (g *Gateway) burst() int { return max(1, g.budget/2) }

// refillWait is how long one request of the budget takes to come back.
func (g *Gateway) refillWait() time.Duration {
	return g.budgetSpan / time.Duration(g.burst())
}

// budgetName names cred's budget in the store.
func budgetName(cred credential) string { return "streamtoken/budget/" + sharedName(cred) }

// sharedName names cred in what replicas share through the store (its
// budget, its lockout): a SHA-256 of the credential, the same on every
// replica (an API token's is no way back to it).
func sharedName(cred credential) string {
	sum := sha256.Sum256([]byte("streamtoken credential\x00" + cred.bearer + "\x00" + cred.email + "\x00" + cred.key))
	return hex.EncodeToString(sum[:16])
}

// budgetsOf is st's budgets, or budgets within the process.
func budgetsOf(st store.KeyStore) store.Budgets {
	if b, ok := st.(store.Budgets); ok {
		return b
	}
	return store.LocalBudgets()
}

package testkey

import (
	"crypto"
	"io"
	"sync/atomic"
)

// HeldSigner is a crypto.Signer for tests of what waits on signing: it
// counts the signatures asked of it and, when Hold is set, makes each
// wait until Hold is closed before it signs with Signer.
type HeldSigner struct {
	crypto.Signer
	Hold  chan struct{}
	calls atomic.Int64
}

// Sign implements crypto.Signer.
func (h *HeldSigner) Sign(rand io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	h.calls.Add(1)
	if h.Hold != nil {
		<-h.Hold
	}
	return h.Signer.Sign(rand, digest, opts)
}

// Calls returns how many signatures were asked for so far.
func (h *HeldSigner) Calls() int64 { return h.calls.Load() }

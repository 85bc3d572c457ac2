// Package webhook verifies, and for tests signs, the notifications
// Cloudflare Stream sends to an account's webhook when a video is ready to
// stream or has failed.
//
// Each notification is a POST whose body is the video object, signed in
// its Webhook-Signature header:
//
//	Webhook-Signature: time=1230811200,sig1=60493ec9388b44585a29543bcf0de62e377d4da393246a8b1c901d0e3e672404
//
// where time is when it was sent (Unix seconds) and sig1 the hex
// HMAC-SHA256, keyed with the webhook's secret as the API gave it, of the
// time, a ".", and the body's bytes exactly as they arrived. [Verify]
// checks one; [Handler] is an http.Handler that verifies each request and
// hands the notification to a function of yours; [Sign] makes the header,
// for tests of such handlers.
//
// # Choosing a tolerance
//
// A signature proves who sent a body, not when: anyone who saw one request
// could send it again. The time in the header bounds that: a notification
// whose time is further than the tolerance from the receiver's clock is
// refused. Cloudflare documents none; [DefaultTolerance] (5 minutes) is
// wide enough for clocks kept by NTP and a sender's retry, and narrow enough
// that a replayed notification is stale soon. Widen it only for clocks you
// cannot keep; narrow it if your handler's work is not idempotent (then
// also remember the IDs you have seen for a tolerance's span).
package webhook

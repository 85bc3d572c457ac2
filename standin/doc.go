// Package standin is the Cloudflare stand-in: the operations of Cloudflare
// Stream's API on videos and live inputs that a signed URL depends on,
// served on the same wire, so that tests and local runs have a Cloudflare
// to talk to.
//
// A [Service] reads and edits a video's details (requireSignedURLs,
// allowedOrigins, and the rest kept as given), deletes one, lists the
// account's videos (filtered and paged in the store) and live inputs,
// reads and updates a live input, and takes direct uploads: each answers a
// URL whose path holds a capability, which takes one upload
// ([Service.ServeUpload]). It keeps what changed in a store.Media; every
// valid ID exists until told otherwise (Service.Videos, LiveInputs).
//
// The token server (package server) is the core, and holds none of this:
// it composes a Service given as server.Config.Media, mounting its upload
// route and asking it whether a video exists before a token is signed. A
// gateway in front of Cloudflare forwards these operations instead.
package standin

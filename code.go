package streamtoken

import "github.com/streamtoken/streamtoken/apicode"

// Code is an error code of a response envelope's errors[]: Cloudflare's
// own and streamtoken's server's, whose constants are in package apicode
// (apicode.KeyLimit, apicode.RateLimited, ...). The client reads any code
// into a Code.
type Code = apicode.Code

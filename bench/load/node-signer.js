// A bare Node.js token signer: what a user might write instead of running
// streamtoken. One worker per core (node:cluster), each signing RS256 with
// node:crypto (OpenSSL), no authentication and no checks: the baseline the
// load tool measures streamtoken against. The key file and the port come
// from the environment; the process stops when its standard input closes.
"use strict";
const cluster = require("node:cluster");
const crypto = require("node:crypto");
const fs = require("node:fs");
const http = require("node:http");
const os = require("node:os");

const port = Number(process.env.NODE_SIGNER_PORT);

if (cluster.isPrimary) {
  for (let i = 0; i < os.availableParallelism(); i++) cluster.fork();
  let listening = 0;
  cluster.on("listening", () => {
    if (++listening === os.availableParallelism()) console.log(`127.0.0.1:${port}`);
  });
  process.stdin.resume();
  process.stdin.on("end", () => {
    for (const w of Object.values(cluster.workers)) w.kill();
    process.exit(0);
  });
} else {
  process.on("disconnect", () => process.exit(0)); // the primary is gone
  const key = crypto.createPrivateKey(fs.readFileSync(process.env.NODE_SIGNER_KEY));
  const kid = process.env.NODE_SIGNER_KID;
  const b64 = (s) => Buffer.from(s).toString("base64url");
  const header = b64(JSON.stringify({ alg: "RS256", kid }));
  const route = /^\/client\/v4\/accounts\/[^/]+\/stream\/([^/]+)\/token$/;
  http.createServer((req, res) => {
    const m = req.method === "POST" && route.exec(req.url);
    req.resume();
    req.on("end", () => {
      if (!m) {
        res.writeHead(404).end();
        return;
      }
      const now = Math.floor(Date.now() / 1000);
      const input = header + "." + b64(JSON.stringify({ sub: m[1], kid, exp: now + 3600, nbf: now - 3600 }));
      const sig = crypto.sign("sha256", Buffer.from(input), key).toString("base64url");
      res.writeHead(200, { "Content-Type": "application/json" });
      res.end(JSON.stringify({ success: true, errors: [], messages: [], result: { token: input + "." + sig } }));
    });
  }).listen(port, "127.0.0.1");
}

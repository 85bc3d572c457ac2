// Asks for COUNT tokens of VIDEO in ACCOUNT through the official
// Cloudflare TypeScript SDK, unchanged but for its base URL (BASE_URL),
// with the API token API_TOKEN, and prints them, one per line. Run by
// compat/node_test.go.
import Cloudflare from 'cloudflare';

const { BASE_URL, API_TOKEN, ACCOUNT, VIDEO, COUNT } = process.env;
const client = new Cloudflare({ apiToken: API_TOKEN, baseURL: BASE_URL, maxRetries: 0 });
const n = Number(COUNT);
for (let i = 0; i < n; i++) {
  const answer = await client.stream.token.create(VIDEO, { account_id: ACCOUNT });
  if (!answer || typeof answer.token !== 'string') {
    console.error(`token ${i}: no token in the answer`);
    process.exit(1);
  }
  process.stdout.write(answer.token + '\n');
}

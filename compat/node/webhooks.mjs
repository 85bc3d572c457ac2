// Sets, reads and deletes ACCOUNT's webhook through the official
// Cloudflare TypeScript SDK, unchanged but for its base URL (BASE_URL),
// with the API token API_TOKEN, and prints what each call answered, one
// JSON document a line: update (notificationUrl), update
// (notification_url), get, delete, then the get after it ("404" when it
// failed with that status). Run by compat/node_test.go.
import Cloudflare from 'cloudflare';

const { BASE_URL, API_TOKEN, ACCOUNT } = process.env;
const client = new Cloudflare({ apiToken: API_TOKEN, baseURL: BASE_URL, maxRetries: 0 });
const print = (v) => process.stdout.write(JSON.stringify(v) + '\n');

print(await client.stream.webhooks.update({ account_id: ACCOUNT, notificationUrl: 'https://example.com/hook' }));
print(await client.stream.webhooks.update({ account_id: ACCOUNT, notification_url: 'https://example.com/other' }));
print(await client.stream.webhooks.get({ account_id: ACCOUNT }));
print(await client.stream.webhooks.delete({ account_id: ACCOUNT }));
try {
  await client.stream.webhooks.get({ account_id: ACCOUNT });
  print('found after the delete');
} catch (err) {
  print(String(err.status));
}

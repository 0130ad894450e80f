// Shared set-up for the interop tests: configuration from the environment, the npm clients
// pointed at Portico, the payloads, and helpers that turn callbacks into time-boxed promises.
import diagnostics from 'node:diagnostics_channel';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import KafkaRest from 'kafka-rest'; // Confluent's client, 0.0.5
import MessageHub from 'message-hub-rest-v1'; // IBM's client 1.2.0: produce and consume
import MessageHubAdmin from 'message-hub-rest'; // IBM's client 2.0.0: /admin/topics only

export const { MessageList } = MessageHub;

/** Every wait is bounded by this, so a broken server fails the test instead of hanging it. */
export const WAIT_MS = 30_000;

const url = withoutSlash(process.env.PORTICO_URL);
if (!url) {
  throw new Error('PORTICO_URL is required, e.g. PORTICO_URL=http://localhost:8082 npm test');
}

export const env = {
  url,
  noAutoCreateUrl: withoutSlash(process.env.PORTICO_URL_NO_AUTOCREATE),
  httpsUrl: withoutSlash(process.env.PORTICO_HTTPS_URL),
  apiKey: process.env.PORTICO_API_KEY || undefined,
  // The Portico that enforces API keys; by default the HTTPS one if given, else PORTICO_URL.
  authUrl: withoutSlash(process.env.PORTICO_AUTH_URL || process.env.PORTICO_HTTPS_URL) ?? url,
  adminTopics: process.env.PORTICO_ADMIN_TOPICS === '1',
};

/** A name no earlier run has used: `node-interop-<what>-<time>-<random>`. */
export function uniqueName(what) {
  return `node-interop-${what}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

/**
 * Values with bytes that are not valid UTF-8, a UTF-8 string with non-ASCII characters,
 * and every byte value once. Keys are ASCII text, non-ASCII UTF-8 text and non-UTF-8 bytes.
 */
export const values = [
  Buffer.from([0x00, 0xff, 0x10, 0x80]),
  Buffer.from('Grüße, 世界 — ✓', 'utf8'),
  Buffer.from(Array.from({ length: 256 }, (_, i) => i)),
];
export const keys = [Buffer.from('k0'), Buffer.from('clé-1', 'utf8'), Buffer.from([0x6b, 0x32, 0x00, 0xfe])];

/** Confluent's kafka-rest client; the API key, if any, goes in every request's headers. */
export function kafkaRest(baseUrl = env.url, apiKey = env.apiKey) {
  return new KafkaRest({
    url: baseUrl,
    timeout: WAIT_MS,
    headers: apiKey ? { Authorization: `Bearer ${apiKey}` } : undefined,
  });
}

/** IBM's message-hub-rest 1.2.0, configured as a Bluemix app would be (it always sends X-Auth-Token). */
export function messageHub(baseUrl = env.url, apiKey = env.apiKey ?? 'no-key') {
  const credentials = { api_key: apiKey, kafka_rest_url: baseUrl };
  return new MessageHub({ messagehub: [{ label: 'messagehub', credentials }] }, { https: isHttps(baseUrl) });
}

/** IBM's message-hub-rest 2.0.0, which only manages topics through /admin/topics. */
export function messageHubAdmin(baseUrl = env.url, apiKey = env.apiKey ?? 'no-key') {
  const credentials = { api_key: apiKey, kafka_admin_url: baseUrl };
  return new MessageHubAdmin({ messagehub: [{ label: 'messagehub', credentials }] }, { https: isHttps(baseUrl) });
}

function withoutSlash(u) {
  return u ? u.replace(/\/+$/, '') : undefined;
}

function isHttps(u) {
  return new URL(u).protocol === 'https:';
}

/** Calls `fn(callback)` and resolves with the callback's result, failing after WAIT_MS. */
export function call(what, fn) {
  const done = new Promise((resolve, reject) => fn((err, result) => (err ? reject(named(what, err)) : resolve(result))));
  return within(what, done);
}

// kafka-rest's APIError carries only the body's message; say which call failed and what came back.
function named(what, err) {
  err.message = err.status ? `${what}: HTTP ${err.status} ${JSON.stringify(err.data)}` : `${what}: ${err.message}`;
  return err;
}

/** Rejects with a message naming `what` if `promise` has not settled within `ms`. */
export function within(what, promise, ms = WAIT_MS) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([Promise.resolve(promise), timeout]).finally(() => clearTimeout(timer));
}

/** Calls `fn` until it returns a truthy value, `pauseMs` apart, for at most WAIT_MS. */
export async function until(what, fn, pauseMs = 100) {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const result = await within(what, fn());
    if (result) return result;
    if (Date.now() > deadline) throw new Error(`timed out after ${WAIT_MS} ms: ${what}`);
    await sleep(pauseMs);
  }
}

/**
 * Records the status of every HTTP response this process receives (the clients do not expose
 * it), as `"<METHOD> <path> <status>"` lines, so tests can check e.g. that a DELETE got 204.
 */
const exchanges = [];
diagnostics.subscribe('http.client.response.finish', ({ request, response }) => {
  exchanges.push(`${request.method} ${request.path} ${response.statusCode}`);
});

/** The statuses of the recorded exchanges with this method and path, in order. */
export function statusesOf(method, path) {
  return exchanges
    .filter((line) => line.startsWith(`${method} ${path} `))
    .map((line) => Number(line.slice(line.lastIndexOf(' ') + 1)));
}

/** Best-effort DELETE of a consumer instance, for clean-up after a failed test. */
export async function deleteInstance(baseUrl, group, instance) {
  const headers = env.apiKey ? { Authorization: `Bearer ${env.apiKey}` } : {};
  await fetch(`${baseUrl}/consumers/${group}/instances/${instance}`, {
    method: 'DELETE',
    headers,
    signal: AbortSignal.timeout(5_000),
  }).catch(() => {});
}

// Produce a few messages through Portico, read them back with a consumer instance, commit, and
// clean up — Confluent REST Proxy v1, binary embedded format, nothing but Node's built-in fetch.
//
//   PORTICO_URL=http://localhost:8082 node console.js
//
// Exits with status 1 if any step fails or the messages read differ from those produced.

const portico = (process.env.PORTICO_URL ?? 'http://localhost:8082').replace(/\/+$/, '');
const apiKey = process.env.PORTICO_API_KEY; // only if your Portico requires API keys

const BINARY = 'application/vnd.kafka.binary.v1+json'; // records with base64 keys and values
const V1 = 'application/vnd.kafka.v1+json';
const WAIT_MS = 30_000; // bound on every request and on waiting for the messages

const run = Date.now().toString(36);
const topic = `node-console-${run}`;
const group = `node-console-group-${run}`;

const messages = [
  { key: 'greeting', value: Buffer.from('Hello, Portico!') },
  { key: 'greeting', value: Buffer.from('Grüße aus Node.js') },
  { key: null, value: Buffer.from([0x00, 0xff, 0x10, 0x80]) }, // not text: bytes travel as base64
];

let instanceUri; // set once the consumer instance exists, so that we always delete it

try {
  console.log(`Portico at ${portico}`);

  // 1. Produce. A new topic is created by the broker on first use (if it auto-creates topics).
  console.log(`\n1. POST /topics/${topic} — ${messages.length} messages`);
  const records = messages.map((m) => ({ key: base64(m.key), value: base64(m.value) }));
  const produced = await send('POST', `${portico}/topics/${topic}`, { type: BINARY, body: { records } });
  for (const [i, o] of produced.offsets.entries()) {
    if (o.error_code !== null) throw new Error(`message ${i} was not written: ${o.error_code} ${o.error}`);
    console.log(`   message ${i} -> partition ${o.partition}, offset ${o.offset}`);
  }

  // 2. Create a consumer instance that starts from the oldest message and commits only when asked.
  console.log(`\n2. POST /consumers/${group} — create a consumer instance`);
  const instance = await send('POST', `${portico}/consumers/${group}`, {
    type: V1,
    body: { name: 'console', format: 'binary', 'auto.offset.reset': 'smallest', 'auto.commit.enable': 'false' },
  });
  instanceUri = instance.base_uri; // every later call goes to this URI
  console.log(`   instance ${instance.instance_id} at ${instanceUri}`);

  // 3. Read. The first read joins the group and may return nothing; keep reading until all arrived.
  console.log(`\n3. GET …/topics/${topic} — read until the ${messages.length} messages are back`);
  const received = [];
  const deadline = Date.now() + WAIT_MS;
  while (received.length < messages.length) {
    if (Date.now() > deadline) throw new Error(`only ${received.length} messages arrived within ${WAIT_MS} ms`);
    const batch = await send('GET', `${instanceUri}/topics/${topic}`, { accept: BINARY });
    for (const r of batch) {
      const value = Buffer.from(r.value, 'base64');
      const key = r.key === null ? null : Buffer.from(r.key, 'base64').toString();
      console.log(`   offset ${r.offset}: key ${JSON.stringify(key)}, value ${show(value)}`);
      received.push({ key, value });
    }
    if (batch.length === 0) await new Promise((resolve) => setTimeout(resolve, 200));
  }
  // Each message once, byte for byte. (Their order holds within a partition only: on a topic of
  // several partitions, messages with different keys may come back in another order.)
  const unmatched = [...received];
  messages.forEach((m, i) => {
    const at = unmatched.findIndex((r) => r.key === m.key && r.value.equals(m.value));
    if (at < 0) throw new Error(`message ${i} did not come back as it was sent`);
    unmatched.splice(at, 1);
  });
  console.log('   all messages came back byte for byte');

  // 4. Commit what was read, so the group would resume after it.
  console.log('\n4. POST …/offsets — commit');
  for (const c of await send('POST', `${instanceUri}/offsets`, { type: V1 })) {
    console.log(`   ${c.topic} partition ${c.partition}: consumed ${c.consumed}, committed ${c.committed}`);
  }
} catch (err) {
  console.error(`\nFAILED: ${err.message}`);
  process.exitCode = 1;
} finally {
  // 5. Delete the consumer instance: it leaves the group and frees its resources on Portico.
  if (instanceUri) {
    console.log('\n5. DELETE …/instances/console — delete the consumer instance');
    try {
      await send('DELETE', instanceUri);
      console.log('   deleted');
    } catch (err) {
      console.error(`   FAILED: ${err.message}`);
      process.exitCode = 1;
    }
  }
}
if (!process.exitCode) console.log('\nDone.');

/** One HTTP exchange; resolves with the parsed JSON body (null for 204), throws on any error status. */
async function send(method, url, { type, accept, body } = {}) {
  const headers = { Accept: accept ?? V1 };
  if (type) headers['Content-Type'] = type;
  if (apiKey) headers.Authorization = `Bearer ${apiKey}`;
  let res, text;
  try {
    res = await fetch(url, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(WAIT_MS),
    });
    text = await res.text();
  } catch (err) {
    throw new Error(`${method} ${url}: ${err.cause?.message ?? err.message}`); // e.g. ECONNREFUSED, timeout
  }
  if (!res.ok) throw new Error(`${method} ${url} answered ${res.status} ${text}`);
  return res.status === 204 ? null : JSON.parse(text);
}

function base64(data) {
  return data === null ? null : Buffer.from(data).toString('base64');
}

/** Text if the bytes are printable UTF-8, hex otherwise. */
function show(bytes) {
  const text = bytes.toString('utf8');
  const printable = Buffer.from(text).equals(bytes) && !/[\u0000-\u001f\u007f]/.test(text);
  return printable ? JSON.stringify(text) : `0x${bytes.toString('hex')} (${bytes.length} bytes)`;
}

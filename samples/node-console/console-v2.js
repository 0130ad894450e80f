// The same round trip over Confluent REST Proxy's v2 API: produce, then a consumer instance that
// subscribes, reads, commits explicit offsets, seeks back and re-reads, unsubscribes and is
// deleted — nothing but Node's built-in fetch.
//
//   PORTICO_URL=http://localhost:8082 node console-v2.js
//
// Exits with status 1 if any step fails or the messages read differ from those produced.

const portico = (process.env.PORTICO_URL ?? 'http://localhost:8082').replace(/\/+$/, '');
const apiKey = process.env.PORTICO_API_KEY; // only if your Portico requires API keys

const BINARY = 'application/vnd.kafka.binary.v2+json'; // records with base64 keys and values
const V2 = 'application/vnd.kafka.v2+json';
const WAIT_MS = 30_000; // bound on every request and on waiting for the messages

const run = Date.now().toString(36);
const topic = `node-console-v2-${run}`;
const group = `node-console-v2-group-${run}`;
const messages = ['one', 'two', 'three'].map((v) => Buffer.from(v));

let instanceUri; // set once the consumer instance exists, so that we always delete it

try {
  console.log(`Portico at ${portico}`);

  console.log(`\n1. POST /topics/${topic} — ${messages.length} messages (v2)`);
  const produced = await send('POST', `${portico}/topics/${topic}`, {
    type: BINARY, body: { records: messages.map((m) => ({ value: m.toString('base64') })) },
  });
  for (const o of produced.offsets) {
    if (o.error_code !== null) throw new Error(`not written: ${o.error_code} ${o.error}`);
  }
  console.log(`   offsets ${produced.offsets.map((o) => o.offset).join(', ')}`);

  console.log(`\n2. POST /consumers/${group} — a v2 instance`);
  const instance = await send('POST', `${portico}/consumers/${group}`, {
    type: V2, body: { name: 'console', format: 'binary', 'auto.offset.reset': 'earliest', 'auto.commit.enable': 'false' },
  });
  instanceUri = instance.base_uri;
  console.log(`   instance ${instance.instance_id} at ${instanceUri}`);

  console.log(`\n3. POST …/subscription — {"topics":["${topic}"]}`);
  await send('POST', `${instanceUri}/subscription`, { type: V2, body: { topics: [topic] } });
  const subscription = await send('GET', `${instanceUri}/subscription`);
  console.log(`   subscribed to ${subscription.topics.join(', ')}`);

  console.log('\n4. GET …/records — read until the messages are back');
  const received = await readAll(messages.length);
  received.forEach((r) => console.log(`   partition ${r.partition}, offset ${r.offset}, `
    + `timestamp ${new Date(r.timestamp).toISOString()}: ${Buffer.from(r.value, 'base64')}`));
  messages.forEach((m, i) => {
    if (!Buffer.from(received[i].value, 'base64').equals(m)) throw new Error(`message ${i} came back different`);
  });

  const last = received[received.length - 1];
  console.log(`\n5. POST …/offsets — commit offset ${last.offset} (the last processed; ${last.offset + 1} is stored)`);
  await send('POST', `${instanceUri}/offsets`, {
    type: V2, body: { offsets: [{ topic, partition: last.partition, offset: last.offset }] },
  });

  console.log('\n6. POST …/positions/beginning — and read everything again');
  await send('POST', `${instanceUri}/positions/beginning`, {
    type: V2, body: { partitions: [{ topic, partition: last.partition }] },
  });
  const again = await readAll(messages.length);
  if (again[0].offset !== received[0].offset) throw new Error('the seek did not go back to the first message');
  console.log(`   read offsets ${again.map((r) => r.offset).join(', ')} again`);

  console.log('\n7. DELETE …/subscription');
  await send('DELETE', `${instanceUri}/subscription`);
} catch (err) {
  console.error(`\nFAILED: ${err.message}`);
  process.exitCode = 1;
} finally {
  if (instanceUri) {
    console.log('\n8. DELETE …/instances/console — delete the consumer instance');
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

/** Reads the instance's records until {@code count} arrived (at most WAIT_MS). */
async function readAll(count) {
  const out = [];
  const deadline = Date.now() + WAIT_MS;
  while (out.length < count) {
    if (Date.now() > deadline) throw new Error(`only ${out.length} messages arrived within ${WAIT_MS} ms`);
    out.push(...await send('GET', `${instanceUri}/records?timeout=1000`, { accept: BINARY }));
  }
  return out;
}

/** One HTTP exchange; resolves with the parsed JSON body (null for 204), throws on any error status. */
async function send(method, url, { type, accept, body } = {}) {
  const headers = { Accept: accept ?? V2 };
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
    throw new Error(`${method} ${url}: ${err.cause?.message ?? err.message}`);
  }
  if (!res.ok) throw new Error(`${method} ${url} answered ${res.status} ${text}`);
  return res.status === 204 ? null : JSON.parse(text);
}

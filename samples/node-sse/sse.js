// Reads Kafka through Portico as Server-Sent Events, with the EventSource a browser has (the
// `eventsource` package: the WHATWG EventSource, which sends no headers of its own choosing):
//
//   1. a partition by offset, then live: records produced while it is open arrive as they come;
//      a new EventSource resumes right after the last event the old one got (last_event_id);
//   2. a consumer instance (v2): its records as they come, a commit while the stream is open,
//      and the end of the stream when the instance is deleted.
//
//   PORTICO_URL=http://localhost:8082 node sse.js
//
// With API keys (PORTICO_API_KEY set), the key never goes into a URL: this script — playing a web
// application's server — asks Portico for a short-lived token for each stream's path
// (POST /sse/tokens), and the EventSource passes that token as ?sse_token=.
//
// Exits with status 1 if any step fails or a record is lost, repeated or out of order.

import { EventSource } from 'eventsource';

const portico = (process.env.PORTICO_URL ?? 'http://localhost:8082').replace(/\/+$/, '');
const apiKey = process.env.PORTICO_API_KEY; // only if your Portico requires API keys

const BINARY = 'application/vnd.kafka.binary.v2+json';
const V2 = 'application/vnd.kafka.v2+json';
const WAIT_MS = 30_000; // bound on every request and on every event awaited

const run = Date.now().toString(36);
const topic = `node-sse-${run}`;
const group = `node-sse-group-${run}`;
let instanceUri; // set once the consumer instance exists, so that we always delete it
const sources = []; // every EventSource opened, closed at the end whatever happens

try {
  console.log(`Portico at ${portico}${apiKey ? ' (with an API key)' : ''}`);

  console.log(`\n1. POST /topics/${topic} — three records`);
  await produce(['one', 'two', 'three']);

  const partitionPath = `/topics/${topic}/partitions/0/messages`;
  console.log(`\n2. EventSource on ${partitionPath}?offset=0 — the partition from offset 0, then live`);
  const first = await open(partitionPath, 'offset=0');
  const early = await first.take(2);
  early.forEach(print);
  first.close(); // as a page that goes away after two records
  const lastSeen = early[early.length - 1].lastEventId; // what a reconnecting EventSource sends as Last-Event-ID
  console.log(`   closed after ${lastSeen}`);

  console.log(`\n3. A new EventSource with last_event_id=${lastSeen}: nothing lost, nothing repeated`);
  const resumed = await open(partitionPath, `last_event_id=${encodeURIComponent(lastSeen)}`);
  const rest = await resumed.take(1);
  rest.forEach(print);
  console.log('   producing "four" while the stream is open');
  await produce(['four']);
  const live = await resumed.take(1);
  live.forEach(print);
  resumed.close();
  const offsets = [...early, ...rest, ...live].map((e) => JSON.parse(e.data).offset);
  if (offsets.join() !== '0,1,2,3') throw new Error(`offsets ${offsets} are not 0,1,2,3`);
  const values = [...early, ...rest, ...live].map((e) => Buffer.from(JSON.parse(e.data).value, 'base64').toString());
  if (values.join() !== 'one,two,three,four') throw new Error(`values ${values} are not those produced`);

  console.log(`\n4. POST /consumers/${group} and …/subscription — a v2 instance`);
  const instance = await send('POST', `${portico}/consumers/${group}`, {
    type: V2, body: { format: 'binary', 'auto.offset.reset': 'earliest', 'auto.commit.enable': 'false' },
  });
  instanceUri = instance.base_uri;
  await send('POST', `${instanceUri}/subscription`, { type: V2, body: { topics: [topic] } });

  const recordsPath = `${new URL(instanceUri).pathname}/records`;
  console.log(`\n5. EventSource on ${recordsPath} — the instance's records as they come`);
  const stream = await open(recordsPath);
  const records = await stream.take(4);
  records.forEach(print);
  if (records.map((e) => e.lastEventId).join() !== [0, 1, 2, 3].map((o) => `${topic}/0/${o}`).join()) {
    throw new Error('the instance streamed other records than those produced');
  }

  console.log('\n6. POST …/offsets — a commit while the stream is open');
  await send('POST', `${instanceUri}/offsets`, { type: V2 });
  const cluster = (await send('GET', `${portico}/v3/clusters`)).data[0].cluster_id;
  const lags = await send('GET', `${portico}/v3/clusters/${cluster}/consumer-groups/${group}/lags`);
  const committed = lags.data.find((l) => l.topic_name === topic && l.partition_id === 0);
  console.log(`   committed: next offset ${committed?.current_offset}`);
  if (committed?.current_offset !== 4) throw new Error('the commit did not store offset 4');

  console.log('\n7. DELETE the instance — its stream ends');
  await send('DELETE', instanceUri);
  instanceUri = undefined;
  await stream.closed();
  console.log('   the stream ended (reconnecting found no instance: the EventSource closed)');

  console.log('\nDone.');
} catch (e) {
  console.error(`\nFailed: ${e.message}`);
  process.exitCode = 1;
} finally {
  sources.forEach((s) => s.close());
  if (instanceUri) {
    await send('DELETE', instanceUri).catch(() => {});
  }
}

function print(e) {
  const r = JSON.parse(e.data);
  console.log(`   id ${e.lastEventId}: ${Buffer.from(r.value, 'base64')}`);
}

/**
 * Opens an EventSource on a stream path (with a token for it when API keys are on) and gives
 * its events one by one. Portico's `event: error` (a stream that failed) comes to the same
 * 'error' listener as a connection failure does, with Portico's JSON error as its data.
 */
async function open(path, query = '') {
  const params = new URLSearchParams(query);
  if (apiKey) {
    const { token } = await send('POST', `${portico}/sse/tokens`, { type: 'application/json', body: { path } });
    params.set('sse_token', token);
  }
  const qs = params.toString();
  const source = new EventSource(`${portico}${path}${qs ? `?${qs}` : ''}`);
  sources.push(source);
  const queue = [];
  let waiter;
  let failure;
  let closedWaiter;
  const wake = () => {
    if (waiter) waiter();
  };
  source.onmessage = (e) => {
    queue.push(e);
    wake();
  };
  source.addEventListener('error', (e) => {
    if (e.data) {
      failure = new Error(`Portico ended the stream: ${e.data}`); // an event: error
    } else if (source.readyState === EventSource.CLOSED) {
      if (closedWaiter) closedWaiter();
      else failure = new Error(`the stream closed: ${e.message ?? e.code ?? 'connection failed'}`);
    }
    wake();
  });
  return {
    source,
    close: () => source.close(),
    async take(n) {
      const out = [];
      const deadline = Date.now() + WAIT_MS;
      while (out.length < n) {
        if (failure) throw failure;
        if (queue.length > 0) {
          out.push(queue.shift());
          continue;
        }
        if (Date.now() > deadline) throw new Error(`only ${out.length} of ${n} events within ${WAIT_MS} ms`);
        await new Promise((resolve) => {
          waiter = resolve;
          setTimeout(resolve, 200);
        });
      }
      return out;
    },
    closed() {
      return new Promise((resolve, reject) => {
        if (source.readyState === EventSource.CLOSED) return resolve();
        const timer = setTimeout(() => reject(new Error('the stream did not end')), WAIT_MS);
        closedWaiter = () => {
          clearTimeout(timer); // or it would keep the process alive after "Done."
          resolve();
        };
      });
    },
  };
}

async function produce(values) {
  const produced = await send('POST', `${portico}/topics/${topic}`, {
    type: BINARY, body: { records: values.map((v) => ({ value: Buffer.from(v).toString('base64'), partition: 0 })) },
  });
  for (const o of produced.offsets) {
    if (o.error_code !== null) throw new Error(`not written: ${o.error_code} ${o.error}`);
  }
}

async function send(method, url, { type, body } = {}) {
  const headers = { Accept: V2 };
  if (type) headers['Content-Type'] = type;
  if (apiKey) headers.Authorization = `Bearer ${apiKey}`;
  const response = await fetch(url, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(WAIT_MS),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${url}: ${response.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

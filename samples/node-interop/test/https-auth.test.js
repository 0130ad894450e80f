// HTTPS (a self-signed certificate trusted through NODE_EXTRA_CA_CERTS) and API keys, sent the
// way each client can: kafka-rest through its `headers` option, message-hub-rest as X-Auth-Token.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  env, values, keys, uniqueName, kafkaRest, messageHub, call, within, until, deleteInstance,
} from '../helpers.js';

test('kafka-rest and message-hub-rest work over HTTPS', async (t) => {
  if (!env.httpsUrl) return t.skip('set PORTICO_HTTPS_URL (and NODE_EXTRA_CA_CERTS to its certificate)');
  const topic = uniqueName('topic');
  const kafka = kafkaRest(env.httpsUrl);

  const res = await call('produce', (cb) => kafka.topic(topic).produce([{ key: keys[0], value: values[0] }], cb));
  assert.equal(res.offsets[0].error_code, null);
  const read = await call('read by offset', (cb) =>
    kafka.topicPartition(topic, 0).messages({ offset: res.offsets[0].offset, format: 'binary' }, cb));
  assert.equal(read[0].value, values[0].toString('base64'));

  const group = uniqueName('group');
  const instance = await call('join', (cb) =>
    kafka.consumer(group).join({ format: 'binary', 'auto.offset.reset': 'smallest' }, cb));
  t.after(() => deleteInstance(env.httpsUrl, group, instance.id));
  assert.equal(new URL(instance.uri).protocol, 'https:', 'base_uri keeps the scheme of the request');
  const [record] = await within('reading one record', new Promise((resolve, reject) => {
    instance.subscribe(topic, { requestDelay: 100 }).on('data', resolve).on('error', reject);
  }));
  assert.deepEqual(record.value, values[0]);
  await call('shutdown', (cb) => instance.shutdown(cb));

  const mh = messageHub(env.httpsUrl); // message-hub-rest uses https unless told otherwise
  const produced = await within('message-hub-rest produce', mh.produce(topic, [values[1]]));
  assert.equal(produced.offsets[0].error_code, null);
});

const noKey = 'set PORTICO_API_KEY to a key that Portico at PORTICO_AUTH_URL (default PORTICO_HTTPS_URL, else PORTICO_URL) accepts';

test('kafka-rest sends an API key as Authorization: Bearer through its headers option', async (t) => {
  if (!env.apiKey) return t.skip(noKey);
  const topic = uniqueName('topic');

  const kafka = kafkaRest(env.authUrl, env.apiKey);
  const res = await call('produce with the key', (cb) => kafka.topic(topic).produce([values[2]], cb));
  assert.equal(res.offsets[0].error_code, null);
  const read = await call('read with the key', (cb) =>
    kafka.topicPartition(topic, 0).messages({ offset: res.offsets[0].offset, format: 'binary' }, cb));
  assert.equal(read[0].value, values[2].toString('base64'));

  const anonymous = kafkaRest(env.authUrl, null);
  await assert.rejects(call('produce without a key', (cb) => anonymous.topic(topic).produce([values[2]], cb)), (err) => {
    assert.equal(err.status, 401);
    assert.match(String(err.data.error_code), /^401/);
    return true;
  });
});

test('message-hub-rest 1.2.0 sends an API key as X-Auth-Token', async (t) => {
  if (!env.apiKey) return t.skip(noKey);
  const topic = uniqueName('topic');

  const mh = messageHub(env.authUrl, env.apiKey);
  const res = await within('produce with the key', mh.produce(topic, [values[0]]));
  assert.equal(res.offsets[0].error_code, null);

  const group = uniqueName('group');
  const name = uniqueName('instance');
  const [instance] = await within('consume', mh.consume(group, name, { 'auto.offset.reset': 'smallest' }));
  t.after(() => deleteInstance(env.authUrl, group, name));
  const [record] = await until('reading one record', () => instance.get(topic, false).then((r) => r.length && r));
  assert.equal(record.value, values[0].toString('base64'));
  await within('remove', instance.remove());

  const wrong = messageHub(env.authUrl, `wrong-${env.apiKey}`);
  await assert.rejects(within('produce with a wrong key', wrong.produce(topic, [values[0]])), (err) => {
    assert.equal(err.statusCode, 401);
    return true;
  });
});

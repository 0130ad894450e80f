// The round trip of node-clients.md §6: binary records produced by kafka-rest and by
// message-hub-rest 1.2.0, read back by offset and through consumer instances of both clients,
// checking every byte, key and offset. The tests run in order and share one fresh topic.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  env, values, keys, uniqueName, kafkaRest, messageHub, MessageList,
  call, within, until, statusesOf, deleteInstance,
} from '../helpers.js';

const topic = uniqueName('topic');
const kafka = kafkaRest();
const mh = messageHub();

// What the topic should hold once both clients have produced: filled in by the produce tests.
const expected = []; // [{ key: Buffer | null, value: Buffer, offset }]

test('kafka-rest produces binary records with keys', async () => {
  const records = values.map((value, i) => ({ key: keys[i], value }));
  const res = await call('kafka-rest produce', (cb) => kafka.topic(topic).produce(records, cb));

  assertOffsets(res.offsets, 3);
  assert.equal(res.offsets[0].offset, 0, 'a new topic starts at offset 0');
  res.offsets.forEach((o, i) => expected.push({ key: keys[i], value: values[i], offset: o.offset }));
});

test('kafka-rest sees the topic, its one partition and the broker', async () => {
  const names = await call('topics.list', (cb) => kafka.topics.list(cb));
  assert.ok(names.some((t) => t.name === topic), `${topic} is listed`);

  const t = await call('topics.get', (cb) => kafka.topics.get(topic, cb));
  assert.equal(t.raw.name, topic);
  assert.deepEqual(t.raw.partitions.map((p) => p.partition), [0]);

  const partitions = await call('partitions.list', (cb) => kafka.topic(topic).partitions.list(cb));
  assert.deepEqual(partitions.map((p) => p.raw.partition), partitions.map((p) => p.id), 'sorted by id');

  const brokers = await call('brokers.list', (cb) => kafka.brokers.list(cb));
  assert.ok(brokers.length >= 1, 'at least one broker');
});

test("kafka-rest reads them back by offset with format 'binary'", async () => {
  needRecords(3);
  const read = await readByOffset(0, 3, 'binary');
  assertRaw(read, expected.slice(0, 3));
});

test('kafka-rest reads them back by offset without a format (binary by default)', async () => {
  needRecords(3);
  const read = await readByOffset(0, 3, undefined);
  assertRaw(read, expected.slice(0, 3));
});

test('message-hub-rest 1.2.0 produces binary records', async () => {
  const list = new MessageList();
  values.forEach((value) => list.push(value));
  const res = await within('message-hub-rest produce', mh.produce(topic, list.messages));

  assertOffsets(res.offsets, 3);
  assert.equal(res.offsets[0].offset, 3, 'follows the three kafka-rest records');
  res.offsets.forEach((o, i) => expected.push({ key: null, value: values[i], offset: o.offset }));
});

test('kafka-rest reads the message-hub-rest records back by offset', async () => {
  needRecords(6);
  const read = await readByOffset(3, 3, 'binary');
  assertRaw(read, expected.slice(3));
});

test('a kafka-rest consumer instance reads all six records, commits and shuts down', async (t) => {
  needRecords(6);
  const group = uniqueName('group');
  const consumer = kafka.consumer(group);
  const instance = await call('join', (cb) =>
    consumer.join({ format: 'binary', 'auto.offset.reset': 'smallest', 'auto.commit.enable': 'false' }, cb));
  const path = new URL(instance.uri).pathname;
  assert.equal(path, `/consumers/${group}/instances/${instance.id}`, 'base_uri');
  t.after(() => deleteInstance(env.url, group, instance.id));

  const stream = instance.subscribe(topic, { requestDelay: 100 });
  const got = [];
  await within('reading six records', new Promise((resolve, reject) => {
    stream.on('error', reject);
    stream.on('data', (msgs) => {
      got.push(...msgs);
      if (got.length >= expected.length) resolve();
    });
  }));
  assertDecoded(got, expected);

  const committed = await call('commit', (cb) => instance.commit(cb));
  const last = expected.at(-1).offset;
  assert.deepEqual(committed, [{ topic, partition: 0, consumed: last, committed: last }]);

  await call('shutdown', (cb) => instance.shutdown(cb));
  assert.deepEqual(statusesOf('DELETE', path), [204]);
});

test('a message-hub-rest 1.2.0 consumer instance reads all six records and is removed', async (t) => {
  needRecords(6);
  const group = uniqueName('group');
  const name = uniqueName('instance');
  const [instance, body] = await within('consume', mh.consume(group, name, { 'auto.offset.reset': 'smallest' }));
  assert.equal(body.instance_id, name, 'the deprecated "id" names the instance');
  assert.equal(new URL(body.base_uri).pathname, `/consumers/${group}/instances/${name}`);
  t.after(() => deleteInstance(env.url, group, name));

  const got = [];
  await until('reading six records', async () => {
    got.push(...(await instance.get(topic, false)));
    return got.length >= expected.length;
  });
  assertRaw(got, expected);

  await within('remove', instance.remove());
  assert.deepEqual(statusesOf('DELETE', `/consumers/${group}/instances/${name}`), [204]);
});

/** Fails at once, rather than after a timeout, when the produce tests above did not succeed. */
function needRecords(count) {
  assert.ok(expected.length >= count, `needs the ${count} records that the produce tests above write`);
}

function readByOffset(offset, count, format) {
  return call('read by offset', (cb) => kafka.topicPartition(topic, 0).messages({ offset, count, format }, cb));
}

/** Produce succeeded for every record, all on partition 0, at consecutive offsets. */
function assertOffsets(offsets, count) {
  assert.equal(offsets.length, count);
  offsets.forEach((o, i) => {
    assert.equal(o.error_code, null, `record ${i}: ${o.error}`);
    assert.equal(o.partition, 0);
    assert.equal(o.offset, offsets[0].offset + i, 'consecutive offsets');
  });
}

/** Records as the server sent them: key and value base64 (standard alphabet, padded) or null. */
function assertRaw(actual, wanted) {
  assert.equal(actual.length, wanted.length, 'number of records');
  actual.forEach((r, i) => {
    assert.equal(r.key, wanted[i].key === null ? null : wanted[i].key.toString('base64'), `key of record ${i}`);
    assert.equal(r.value, wanted[i].value.toString('base64'), `value of record ${i}`);
    assert.equal(r.partition, 0);
    assert.equal(r.offset, wanted[i].offset, `offset of record ${i}`);
  });
}

/** Records as kafka-rest's consumer stream hands them over: key and value decoded to Buffers. */
function assertDecoded(actual, wanted) {
  assert.equal(actual.length, wanted.length, 'number of records');
  actual.forEach((r, i) => {
    assert.deepEqual(r.key, wanted[i].key, `key of record ${i}`);
    assert.deepEqual(r.value, wanted[i].value, `value of record ${i}`);
    assert.equal(r.partition, 0);
    assert.equal(r.offset, wanted[i].offset, `offset of record ${i}`);
  });
}

// IBM's /admin/topics through message-hub-rest 2.0.0, the only thing that version still does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { env, values, uniqueName, kafkaRest, messageHubAdmin, call, within, until, statusesOf } from '../helpers.js';

test('message-hub-rest 2.0.0 creates, lists and deletes a topic', async (t) => {
  if (!env.adminTopics) return t.skip('set PORTICO_ADMIN_TOPICS=1 when Portico serves /admin/topics');
  const topic = uniqueName('admin');
  const admin = messageHubAdmin();

  await within('create', admin.topics.create(topic, 1, 24));
  await within('create again', admin.topics.create(topic)); // "already exists" (42201) counts as success
  assert.deepEqual(statusesOf('POST', '/admin/topics'), [202, 422]);

  const listed = await within('list', admin.topics.get());
  assert.ok(listed.some((x) => x.name === topic), `${topic} is listed`);

  const kafka = kafkaRest();
  const res = await call('produce', (cb) => kafka.topic(topic).produce([values[0]], cb));
  assert.deepEqual(res.offsets[0], { partition: 0, offset: 0, error_code: null, error: null });

  await within('delete', admin.topics.delete(topic));
  await until('topic no longer listed', async () => !(await admin.topics.get()).some((x) => x.name === topic), 500);
});

// Errors as the clients see them: a missing topic, a consumer instance created twice, and a
// consumer instance read after it was deleted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  env, values, uniqueName, kafkaRest, messageHub, call, within, statusesOf, deleteInstance,
} from '../helpers.js';

test('producing to a missing topic without auto-creation is a 404/40401 error', async (t) => {
  if (!env.noAutoCreateUrl) return t.skip('set PORTICO_URL_NO_AUTOCREATE to a Portico whose broker does not auto-create topics');
  const topic = uniqueName('missing');

  const kafka = kafkaRest(env.noAutoCreateUrl);
  await assert.rejects(call('kafka-rest produce', (cb) => kafka.topic(topic).produce([values[0]], cb)), (err) => {
    assert.equal(err.name, 'APIError');
    assert.equal(err.status, 404);
    assert.equal(err.data.error_code, 40401);
    return true;
  });

  const mh = messageHub(env.noAutoCreateUrl);
  await assert.rejects(within('message-hub-rest produce', mh.produce(topic, [values[0]])), (err) => {
    assert.equal(err.statusCode, 404);
    assert.equal(err.errorCode, 40401);
    return true;
  });
});

test('message-hub-rest creating the same consumer instance twice succeeds (409 is accepted)', async (t) => {
  const group = uniqueName('group');
  const name = uniqueName('instance');
  const mh = messageHub();
  t.after(() => deleteInstance(env.url, group, name));

  const [first] = await within('first consume', mh.consume(group, name, { 'auto.offset.reset': 'smallest' }));
  const [, body] = await within('second consume', mh.consume(group, name, { 'auto.offset.reset': 'smallest' }));
  assert.deepEqual(statusesOf('POST', `/consumers/${group}`), [200, 409]);
  assert.equal(body.error_code, 40902);

  await within('remove', first.remove());
});

test('reading a deleted consumer instance is a 404/40403 error', async () => {
  const topic = uniqueName('topic');
  const kafka = kafkaRest();
  await call('produce', (cb) => kafka.topic(topic).produce([values[0]], cb));

  // kafka-rest: the stream reports the error.
  const instance = await call('join', (cb) => kafka.consumer(uniqueName('group')).join({ format: 'binary' }, cb));
  await call('shutdown', (cb) => instance.shutdown(cb));
  const err = await within('read after shutdown', new Promise((resolve) => {
    instance.subscribe(topic).on('error', resolve).on('data', () => resolve(new Error('got records')));
  }));
  assert.equal(err.status, 404, err.message);
  assert.equal(err.data.error_code, 40403);

  // message-hub-rest: the promise is rejected.
  const mh = messageHub();
  const [ci] = await within('consume', mh.consume(uniqueName('group'), uniqueName('instance')));
  await within('remove', ci.remove());
  const reading = ci.get(topic, false);
  // message-hub-rest 1.2.0 also keeps a copy of this promise that it never handles; its Q library
  // reports that copy's rejection as unhandled, which node:test would count as a failure here.
  ci._topicGetMap[topic].catch(() => {});
  await assert.rejects(within('get after remove', reading), (e) => {
    assert.equal(e.statusCode, 404);
    assert.equal(e.errorCode, 40403);
    return true;
  });
});

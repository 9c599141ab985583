import { test } from 'vitest'
import assert from 'node:assert/strict'
import { ConfigError, loadConfig } from '../config/index.ts'

test('defaults follow the contract', () => {
  const c = loadConfig({})
  assert.equal(c.mqttPort, 1883)
  assert.equal(c.httpPort, 8080)
  assert.equal(c.dataDir, './data')
  assert.equal(c.databaseUrl, undefined)
  assert.equal(c.mqttUrl, undefined)
  assert.ok(Object.isFrozen(c))
})

test('port 0 means pick a free one', () => {
  const c = loadConfig({ MQTT_PORT: '0', HTTP_PORT: '0' })
  assert.equal(c.mqttPort, 0)
  assert.equal(c.httpPort, 0)
})

test('bad configuration names every variable and what is wrong', () => {
  assert.throws(() => loadConfig({ MQTT_PORT: 'abc', HTTP_PORT: '70000', DATABASE_URL: 'mysql://x', MQTT_URL: 'not a url' }), (err: unknown) => {
    assert.ok(err instanceof ConfigError)
    const text = err.problems.join('\n')
    assert.match(text, /MQTT_PORT must be a port number.*"abc"/)
    assert.match(text, /HTTP_PORT must be a port number.*"70000"/)
    assert.match(text, /DATABASE_URL must use postgres or postgresql/)
    assert.match(text, /MQTT_URL must be a URL/)
    assert.equal(err.problems.length, 4)
    return true
  })
})

test('a short ADMIN_TOKEN is refused', () => {
  assert.throws(() => loadConfig({ ADMIN_TOKEN: 'short' }), /ADMIN_TOKEN must be at least 16 characters/)
})

test('scale-out checkpoints: every 15 s unless RABBITMQ_CHECKPOINT_S says otherwise; nonsense is refused', () => {
  assert.equal(loadConfig({}).rabbitmqCheckpointS, 15)
  assert.equal(loadConfig({ RABBITMQ_CHECKPOINT_S: '900' }).rabbitmqCheckpointS, 900)
  assert.throws(() => loadConfig({ RABBITMQ_CHECKPOINT_S: '0' }), /RABBITMQ_CHECKPOINT_S must be seconds 1-86400, got "0"/)
})

test('the embedded store on its own thread: on unless EMBEDDED_STORE_THREAD=0; nonsense is refused', () => {
  assert.equal(loadConfig({}).embeddedStoreThread, true)
  assert.equal(loadConfig({ EMBEDDED_STORE_THREAD: '0' }).embeddedStoreThread, false)
  assert.equal(loadConfig({ EMBEDDED_STORE_THREAD: '1' }).embeddedStoreThread, true)
  assert.throws(() => loadConfig({ EMBEDDED_STORE_THREAD: 'yes' }), /EMBEDDED_STORE_THREAD must be 0 or 1, got "yes"/)
})

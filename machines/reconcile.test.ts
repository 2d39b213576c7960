import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { Tag } from '../lib/providers/provider.js'
import { fakeWorld, runMachine, volumeSpec } from '../lib/testing/world.js'

const test = suite('reconcile machine (fakes)')

test('a fresh host walks every step: create, attach, mkfs, mount', async () => {
  const w = await fakeWorld()
  const ctx = await runMachine(w, volumeSpec())
  assert.is(ctx.error, undefined)
  assert.equal(Object.keys(ctx.timings), ['discover', 'claim', 'attach', 'format', 'resize', 'mount'])
  assert.equal(
    ctx.changes.filter((c) => c.action !== 'none').map((c) => c.step),
    ['claim', 'attach', 'format', 'mount'],
  )
  assert.equal(
    w.host.actions.map((a) => a.split(' ')[0]),
    ['mkfs', 'mkdir', 'mount'],
  )
  const vol = w.provider.volumes.get(ctx.volumeId as string)
  assert.ok(vol?.tags[Tag.fsUuid])
  w.cleanup()
})

test('a rerun on a converged host performs no mutating action', async () => {
  const w = await fakeWorld()
  await runMachine(w, volumeSpec())
  w.host.actions.length = 0
  w.provider.calls.length = 0
  const ctx = await runMachine(w, volumeSpec())
  assert.is(ctx.error, undefined)
  assert.ok(ctx.changes.every((c) => c.action === 'none'))
  assert.equal(w.host.actions, [])
  assert.equal(w.provider.calls, ['findAttached'])
  w.cleanup()
})

test('plan mode on a fresh host predicts every step and changes nothing', async () => {
  const w = await fakeWorld()
  const ctx = await runMachine(w, volumeSpec(), 'plan')
  assert.is(ctx.error, undefined)
  assert.equal(
    ctx.changes.map((c) => `${c.step}:${c.action}:${c.done}`),
    ['claim:create:false', 'attach:create:false', 'format:create:false', 'mount:create:false'],
  )
  assert.equal(w.provider.calls, ['findAttached', 'listAvailable'])
  assert.equal(w.host.actions, [])
  assert.is(w.checkpoint.facts('data').volumeId, undefined)
  w.cleanup()
})

test('plan mode after a size increase shows the grow only', async () => {
  const w = await fakeWorld()
  await runMachine(w, volumeSpec())
  w.provider.calls.length = 0
  const ctx = await runMachine(w, volumeSpec({ sizeGiB: 5 }), 'plan')
  assert.equal(
    ctx.changes.filter((c) => c.action !== 'none').map((c) => c.what),
    [`grow volume ${ctx.volumeId} from 1 to 5 GiB`, 'grow ext4 filesystem to fill the volume'],
  )
  assert.equal(w.provider.calls, ['findAttached'])
  w.cleanup()
})

test('a failing step ends in failed with the error in the context, serialisable', async () => {
  const w = await fakeWorld()
  const vol = w.provider.addVolume({
    tags: { app: 'test', [Tag.formatToken]: 't' },
    attachedTo: 'i-self',
    state: 'in-use',
  })
  w.host.addDevice(w.provider.devicePath(vol.id), {
    backingFile: `/images/${vol.id}`,
    sizeBytes: 1024 ** 3,
    signatures: [{ type: 'xfs', uuid: 'x' }],
  })
  const ctx = await runMachine(w, volumeSpec())
  assert.is(ctx.error?.name, 'RefusalError')
  assert.is(ctx.error?.exitCode, 3)
  assert.equal(Object.keys(ctx.timings), ['discover', 'claim', 'attach'])
  assert.equal(JSON.parse(JSON.stringify(ctx)).error, ctx.error)
  w.cleanup()
})

test.run()

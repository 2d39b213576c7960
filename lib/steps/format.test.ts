import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { RefusalError } from '../errors.js'
import { Tag } from '../providers/provider.js'
import { fakeWorld, runStep, startContext, volumeSpec, type World } from '../testing/world.js'
import type { ReconcileContext } from './context.js'
import { format } from './format.js'

const GiB = 1024 ** 3
const test = suite('format step (fakes)')

/** A world with one attached volume and its device, and the context right before format. */
async function attached(
  tags: Record<string, string>,
  dev: Partial<Parameters<World['host']['addDevice']>[1]> = {},
  spec = volumeSpec(),
) {
  const w = await fakeWorld()
  const vol = w.provider.addVolume({ tags: { app: 'test', ...tags }, attachedTo: 'i-self', state: 'in-use' })
  const device = w.provider.devicePath(vol.id)
  w.host.addDevice(device, { backingFile: `/images/${vol.id}`, sizeBytes: GiB, ...dev })
  const ctx: ReconcileContext = { ...startContext(spec), volumeId: vol.id, device }
  return { w, vol, device, ctx }
}

/** The step fails (any error) with a message matching re. */
async function fails(p: Promise<unknown>, re: RegExp): Promise<void> {
  try {
    await p
  } catch (err) {
    assert.match((err as Error).message, re)
    return
  }
  assert.unreachable('expected a failure')
}

async function refused(p: Promise<unknown>, re: RegExp): Promise<RefusalError> {
  try {
    await p
  } catch (err) {
    assert.instance(err, RefusalError)
    assert.match((err as Error).message, re)
    return err as RefusalError
  }
  assert.unreachable('expected a refusal')
  throw new Error('unreachable')
}

test('blank device with a format token: mkfs, then fs-uuid tag replaces the token', async () => {
  const { w, vol, ctx } = await attached({ [Tag.formatToken]: 'tok' })
  const out = await runStep(format, ctx, w.deps)
  assert.equal(w.host.actions.length, 1)
  assert.match(w.host.actions[0] as string, /^mkfs ext4 \/dev\/fake-vol-\S+ uuid=\S+ label=data$/)
  const tags = w.provider.volumes.get(vol.id)?.tags ?? {}
  assert.is(tags[Tag.fsUuid], out.fsUuid)
  assert.is(tags[Tag.formatToken], undefined)
  assert.equal(w.checkpoint.facts('data').fsUuid, out.fsUuid)
  assert.is(w.checkpoint.facts('data').mkfsStarted, undefined)
  // The token was set to started:<uuid> before mkfs ran.
  assert.ok(
    w.provider.calls.indexOf(`setTags ${vol.id} ${Tag.formatToken}`) <
      w.provider.calls.indexOf(`setTags ${vol.id} ${Tag.fsUuid}`),
  )
  w.cleanup()
})

test('a cps-created volume that holds a filesystem is refused, never formatted', async () => {
  const { w, ctx } = await attached(
    { [Tag.formatToken]: 'tok' },
    { signatures: [{ type: 'xfs', uuid: 'u-1', usage: 'filesystem' }] },
  )
  await refused(runStep(format, ctx, w.deps), /should be blank, but holds xfs/)
  assert.equal(w.host.actions, [])
  w.cleanup()
})

test('a volume tagged with a fs uuid whose device looks blank is an error, not a format', async () => {
  const { w, ctx } = await attached({ [Tag.fsUuid]: 'u-1' })
  await refused(runStep(format, ctx, w.deps), /device looks blank; it is never reformatted/)
  assert.equal(w.host.actions, [])
  w.cleanup()
})

test('a fs uuid that differs from the tag is refused', async () => {
  const { w, ctx } = await attached(
    { [Tag.fsUuid]: 'u-1' },
    { signatures: [{ type: 'ext4', uuid: 'u-2', usage: 'filesystem' }] },
  )
  await refused(runStep(format, ctx, w.deps), /tagged cps:fs-uuid=u-1 but the device shows ext4, UUID u-2/)
  w.cleanup()
})

test('the filesystem cps made is verified and left alone', async () => {
  const { w, ctx } = await attached(
    { [Tag.fsUuid]: 'u-1' },
    { signatures: [{ type: 'ext4', uuid: 'u-1', usage: 'filesystem' }] },
  )
  const out = await runStep(format, ctx, w.deps)
  assert.is(out.fsUuid, 'u-1')
  assert.equal(
    out.changes.map((c) => c.action),
    ['none'],
  )
  assert.equal(w.host.actions, [])
  w.cleanup()
})

test('a token left by a run that died right after tagging the UUID is removed, nothing else', async () => {
  const { w, vol, ctx } = await attached(
    { [Tag.fsUuid]: 'u-1', [Tag.formatToken]: 'started:u-1' },
    { signatures: [{ type: 'ext4', uuid: 'u-1', usage: 'filesystem' }] },
  )
  const out = await runStep(format, ctx, w.deps)
  assert.equal(
    out.changes.map((c) => c.action),
    ['none', 'update'],
  )
  assert.is(w.provider.volumes.get(vol.id)?.tags[Tag.formatToken], undefined)
  assert.equal(w.host.actions, [])
  w.cleanup()
})

test('a probe failure fails the run and is never a reason to mkfs', async () => {
  const { w, ctx } = await attached({ [Tag.formatToken]: 'tok' }, { probeFails: true })
  await fails(runStep(format, ctx, w.deps), /probe failed/)
  assert.equal(w.host.actions, [])
  w.cleanup()
})

test('an unreadable device is never formatted', async () => {
  const { w, ctx } = await attached({ [Tag.formatToken]: 'tok' }, { unreadable: true })
  await fails(runStep(format, ctx, w.deps), /cannot read the first and last MiB/)
  assert.equal(w.host.actions, [])
  w.cleanup()
})

test('a backup GPT in the last sector is refused even when blkid sees nothing', async () => {
  const { w, ctx } = await attached(
    { [Tag.formatToken]: 'tok' },
    { edges: { firstZero: true, lastZero: false, backupGpt: true } },
  )
  await refused(runStep(format, ctx, w.deps), /backup GPT header/)
  assert.equal(w.host.actions, [])
  w.cleanup()
})

test('a partition table is refused', async () => {
  const { w, ctx } = await attached(
    { [Tag.formatToken]: 'tok' },
    { signatures: [{ type: 'gpt', uuid: 'p-1', usage: 'partition_table' }] },
  )
  await refused(runStep(format, ctx, w.deps), /gpt partition table/)
  w.cleanup()
})

test('several signatures (blkid ambivalent) are refused', async () => {
  const { w, ctx } = await attached(
    {},
    {
      ambivalent: true,
      signatures: [
        { type: 'ext4', uuid: 'a' },
        { type: 'xfs', uuid: 'b' },
      ],
    },
  )
  await refused(runStep(format, ctx, w.deps), /several signatures/)
  w.cleanup()
})

test('blank volume without a token and format if-created is refused with a hint', async () => {
  const { w, ctx } = await attached({})
  const err = await refused(runStep(format, ctx, w.deps), /carries no cps:format-token/)
  assert.match(err.hint ?? '', /format: if-blank/)
  assert.equal(w.host.actions, [])
  w.cleanup()
})

test('if-blank formats a tokenless volume only when both edge MiBs are zeros', async () => {
  const spec = volumeSpec({ filesystem: { type: 'xfs', format: 'if-blank', mkfsOptions: [] } })
  const a = await attached({}, {}, spec)
  await runStep(format, a.ctx, a.w.deps)
  assert.match(a.w.host.actions[0] as string, /^mkfs xfs /)
  a.w.cleanup()
  const b = await attached({}, { edges: { firstZero: true, lastZero: false, backupGpt: false } }, spec)
  await refused(runStep(format, b.ctx, b.w.deps), /last MiB is not zeros/)
  assert.equal(b.w.host.actions, [])
  b.w.cleanup()
})

test('an interrupted mkfs (token started:<uuid>) is redone with the same uuid, forced', async () => {
  const { w, vol, ctx } = await attached(
    { [Tag.formatToken]: 'started:u-9' },
    { signatures: [{ type: 'ext4', uuid: 'u-9' }] },
  )
  const out = await runStep(format, ctx, w.deps)
  assert.is(out.fsUuid, 'u-9')
  assert.equal(w.host.actions, [`mkfs ext4 ${ctx.device} uuid=u-9 label=data force`])
  assert.is(w.provider.volumes.get(vol.id)?.tags[Tag.fsUuid], 'u-9')
  w.cleanup()
})

test('an interrupted mkfs over which another filesystem appeared is refused', async () => {
  const { w, ctx } = await attached(
    { [Tag.formatToken]: 'started:u-9' },
    { signatures: [{ type: 'xfs', uuid: 'other' }] },
  )
  await refused(runStep(format, ctx, w.deps), /interrupted, but the device now shows xfs, UUID other/)
  assert.equal(w.host.actions, [])
  w.cleanup()
})

test('a pool volume made elsewhere with the right filesystem is adopted, not formatted', async () => {
  const { w, vol, ctx } = await attached(
    {},
    { signatures: [{ type: 'ext4', uuid: 'u-5', usage: 'filesystem' }] },
  )
  const out = await runStep(format, ctx, w.deps)
  assert.is(out.fsUuid, 'u-5')
  assert.is(w.provider.volumes.get(vol.id)?.tags[Tag.fsUuid], 'u-5')
  assert.equal(w.host.actions, [])
  w.cleanup()
})

test('a pool volume made elsewhere with another filesystem type is refused', async () => {
  const { w, ctx } = await attached({}, { signatures: [{ type: 'btrfs', uuid: 'u-5', usage: 'filesystem' }] })
  await refused(runStep(format, ctx, w.deps), /holds btrfs, UUID u-5 but the spec says ext4/)
  w.cleanup()
})

test('a stale device (backed by another volume) is refused before any probe', async () => {
  const { w, ctx } = await attached({ [Tag.formatToken]: 'tok' }, { backingFile: '/images/vol-other' })
  await refused(runStep(format, ctx, w.deps), /backed by \/images\/vol-other, not by volume/)
  assert.equal(w.host.actions, [])
  w.cleanup()
})

test('plan mode records the mkfs and does nothing', async () => {
  const { w, vol, ctx } = await attached({ [Tag.formatToken]: 'tok' })
  const out = await runStep(format, { ...ctx, mode: 'plan' }, w.deps)
  assert.equal(
    out.changes.map((c) => [c.action, c.done]),
    [['create', false]],
  )
  assert.equal(w.host.actions, [])
  assert.is(w.provider.volumes.get(vol.id)?.tags[Tag.formatToken], 'tok')
  w.cleanup()
})

test.run()

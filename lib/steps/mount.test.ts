import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { HostError, RefusalError } from '../errors.js'
import { Tag } from '../providers/provider.js'
import { fakeWorld, runStep, startContext, volumeSpec } from '../testing/world.js'
import { attach } from './attach.js'
import { mount } from './mount.js'
import { resize } from './resize.js'

const GiB = 1024 ** 3
const test = suite('attach, resize and mount steps (fakes)')

async function formatted(
  spec = volumeSpec({ mount: { path: '/mnt/data', options: ['noatime'], owner: '1000:1000', mode: '0750' } }),
  sizeGiB = 1,
) {
  const w = await fakeWorld()
  const vol = w.provider.addVolume({
    sizeGiB,
    tags: { app: 'test', [Tag.fsUuid]: 'u-1' },
    attachedTo: 'i-self',
    state: 'in-use',
  })
  const device = w.provider.devicePath(vol.id)
  w.host.addDevice(device, {
    backingFile: `/images/${vol.id}`,
    sizeBytes: sizeGiB * GiB,
    fsBytes: sizeGiB * GiB,
    signatures: [{ type: spec.filesystem.type, uuid: 'u-1', usage: 'filesystem' }],
  })
  return { w, vol, device, ctx: { ...startContext(spec), volumeId: vol.id, device, fsUuid: 'u-1' } }
}

test('attach makes the device appear, then verifies it', async () => {
  const w = await fakeWorld()
  const vol = w.provider.addVolume({ tags: { app: 'test' }, attachedTo: 'i-self', state: 'in-use' })
  const ctx = await runStep(attach, { ...startContext(volumeSpec()), volumeId: vol.id }, w.deps)
  assert.is(ctx.device, w.provider.devicePath(vol.id))
  assert.equal(
    ctx.changes.map((c) => c.action),
    ['create'],
  )
  const again = await runStep(attach, { ...startContext(volumeSpec()), volumeId: vol.id }, w.deps)
  assert.equal(
    again.changes.map((c) => c.action),
    ['none'],
  )
  w.cleanup()
})

test('attach refuses a device link that points at another volume', async () => {
  const w = await fakeWorld()
  const vol = w.provider.addVolume({ tags: { app: 'test' }, attachedTo: 'i-self', state: 'in-use' })
  w.host.addDevice('/dev/loop9', { backingFile: '/images/vol-other', sizeBytes: GiB })
  w.host.links.set(w.provider.devicePath(vol.id), '/dev/loop9')
  try {
    await runStep(attach, { ...startContext(volumeSpec()), volumeId: vol.id }, w.deps)
    assert.unreachable()
  } catch (err) {
    assert.instance(err, RefusalError)
    assert.match((err as Error).message, /is backed by \/images\/vol-other/)
  }
  w.cleanup()
})

test('mount: mkdir, mount with options, then owner and mode', async () => {
  const { w, device, ctx } = await formatted()
  const out = await runStep(mount, ctx, w.deps)
  assert.equal(w.host.actions, [
    `mkdir /mnt/data`,
    `mount ${device} /mnt/data ext4 noatime`,
    'chown /mnt/data 1000:1000',
    'chmod /mnt/data 750',
  ])
  assert.equal(
    out.changes.map((c) => c.action),
    ['create', 'update', 'update'],
  )
  w.cleanup()
})

test('mount on a converged host does nothing', async () => {
  const { w, ctx } = await formatted()
  await runStep(mount, ctx, w.deps)
  w.host.actions.length = 0
  const out = await runStep(mount, ctx, w.deps)
  assert.equal(w.host.actions, [])
  assert.ok(out.changes.every((c) => c.action === 'none'))
  w.cleanup()
})

test('missing mount options are applied with a remount', async () => {
  const { w, ctx } = await formatted()
  await runStep(mount, ctx, w.deps)
  w.host.actions.length = 0
  const spec = { ...ctx.spec, mount: { ...ctx.spec.mount, options: ['noatime', 'nodev'] } }
  await runStep(mount, { ...ctx, spec }, w.deps)
  assert.equal(w.host.actions, ['remount /mnt/data noatime,nodev'])
  w.cleanup()
})

test('a remount the kernel silently ignores is an error, read back from findmnt', async () => {
  const { w, ctx } = await formatted()
  await runStep(mount, ctx, w.deps)
  w.host.ignoredOnRemount.add('nodev')
  const spec = { ...ctx.spec, mount: { ...ctx.spec.mount, options: ['noatime', 'nodev'] } }
  try {
    await runStep(mount, { ...ctx, spec }, w.deps)
    assert.unreachable()
  } catch (err) {
    assert.instance(err, HostError)
    assert.match((err as Error).message, /did not apply nodev/)
  }
  w.cleanup()
})

test('another device mounted at the path is refused (fail closed)', async () => {
  const { w, ctx } = await formatted()
  w.host.addDevice('/dev/sdz', { sizeBytes: GiB })
  w.host.mounts.set('/mnt/data', { target: '/mnt/data', source: '/dev/sdz', fstype: 'ext4', options: ['rw'] })
  try {
    await runStep(mount, ctx, w.deps)
    assert.unreachable()
  } catch (err) {
    assert.instance(err, RefusalError)
    assert.match((err as Error).message, /already has \/dev\/sdz \(ext4\) mounted/)
  }
  w.cleanup()
})

test('a filesystem uuid that does not match the volume tag is not mounted', async () => {
  const { w, device, ctx } = await formatted()
  const dev = w.host.devices.get(device)
  if (dev) dev.signatures = [{ type: 'ext4', uuid: 'u-other', usage: 'filesystem' }]
  try {
    await runStep(mount, ctx, w.deps)
    assert.unreachable()
  } catch (err) {
    assert.instance(err, RefusalError)
  }
  assert.equal(w.host.actions, [])
  w.cleanup()
})

test('resize grows the volume, then ext4 offline before mount', async () => {
  const { w, vol, device, ctx } = await formatted(volumeSpec({ sizeGiB: 3 }))
  const out = await runStep(resize, ctx, w.deps)
  assert.ok(w.provider.calls.includes(`growVolume ${vol.id} 3`))
  assert.equal(w.host.actions, [`grow-offline ext4 ${device}`])
  assert.equal(
    out.changes.map((c) => c.action),
    ['update', 'update'],
  )
  w.cleanup()
})

test('resize never shrinks: a smaller spec is a warning and no action', async () => {
  const { w, ctx } = await formatted(volumeSpec({ sizeGiB: 1 }), 4)
  const out = await runStep(resize, ctx, w.deps)
  assert.match(out.warnings[0] as string, /smaller than volume .* cps never shrinks/)
  assert.not.ok(w.provider.calls.some((c) => c.startsWith('growVolume')))
  assert.equal(w.host.actions, [])
  w.cleanup()
})

test('xfs grows online after mount; a failed online grow is a warning, the mount stays', async () => {
  const spec = volumeSpec({ sizeGiB: 2, filesystem: { type: 'xfs', format: 'if-created', mkfsOptions: [] } })
  const { w, device, ctx } = await formatted(spec)
  const afterResize = await runStep(resize, ctx, w.deps)
  assert.ok(afterResize.growAfterMount)
  assert.equal(w.host.actions, [])
  await runStep(mount, afterResize, w.deps)
  assert.equal(w.host.actions.slice(-1), ['grow-online xfs /mnt/data'])
  const dev = w.host.devices.get(device)
  if (dev) dev.fsBytes = GiB
  w.host.failGrowOnline = true
  const again = await runStep(mount, afterResize, w.deps)
  assert.match(again.warnings[0] as string, /could not grow xfs at \/mnt\/data online/)
  w.cleanup()
})

test.run()

import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { ProviderError } from '../errors.js'
import { Tag } from '../providers/provider.js'
import { fakeWorld, runStep, startContext, volumeSpec } from '../testing/world.js'
import { claim, clientToken, shuffle } from './claim.js'
import { CREATED_FOR_GRACE_MS, discover, isCandidate } from './discover.js'

const test = suite('discover and claim steps (fakes)')

test('discover finds the pool volume attached to this instance and checkpoints it', async () => {
  const w = await fakeWorld()
  w.provider.addVolume({ tags: { app: 'test' } })
  const mine = w.provider.addVolume({ tags: { app: 'test' }, attachedTo: 'i-self', state: 'in-use' })
  w.provider.addVolume({ tags: { app: 'other' }, attachedTo: 'i-self', state: 'in-use' })
  const ctx = await runStep(discover, startContext(volumeSpec()), w.deps)
  assert.is(ctx.volumeId, mine.id)
  assert.is(w.checkpoint.facts('data').volumeId, mine.id)
  assert.equal(
    ctx.changes.map((c) => c.action),
    ['none'],
  )
  w.cleanup()
})

test('discover warns when the checkpoint names a volume now attached elsewhere', async () => {
  const w = await fakeWorld()
  const v = w.provider.addVolume({ tags: { app: 'test' }, attachedTo: 'i-other', state: 'in-use' })
  await w.checkpoint.update('data', { volumeId: v.id })
  const ctx = await runStep(discover, startContext(volumeSpec()), w.deps)
  assert.is(ctx.volumeId, undefined)
  assert.match(
    ctx.warnings[0] as string,
    new RegExp(`checkpoint names ${v.id} but it is attached to i-other`),
  )
  w.cleanup()
})

test('candidates skip volumes held by other spec volumes and young volumes created for others', () => {
  const base = { sizeGiB: 1, state: 'available' as const, createdAt: new Date(1000).toISOString() }
  assert.ok(isCandidate({ ...base, id: 'a', tags: {} }, 'me', new Set()))
  assert.not.ok(isCandidate({ ...base, id: 'a', tags: {} }, 'me', new Set(['a'])))
  const young = { ...base, id: 'b', tags: { [Tag.createdFor]: 'them' } }
  assert.not.ok(isCandidate(young, 'me', new Set(), 1000 + 1000))
  assert.ok(isCandidate(young, 'me', new Set(), 1000 + CREATED_FOR_GRACE_MS + 1))
  assert.ok(isCandidate({ ...young, tags: { [Tag.createdFor]: 'me' } }, 'me', new Set(), 2000))
  assert.not.ok(
    isCandidate({ ...base, id: 'c', tags: {}, state: 'in-use', attachedTo: 'x' }, 'me', new Set()),
  )
})

test('claim attaches an available volume; losing a race moves on to the next', async () => {
  const w = await fakeWorld()
  const a = w.provider.addVolume({ tags: { app: 'test' } })
  const b = w.provider.addVolume({ tags: { app: 'test' } })
  const ctx0 = await runStep(discover, startContext(volumeSpec()), w.deps)
  // Someone else takes one of them between discover and claim.
  const taken = w.provider.volumes.get(a.id)
  if (taken) Object.assign(taken, { attachedTo: 'i-other', state: 'in-use' })
  const ctx = await runStep(claim, ctx0, w.deps)
  assert.is(ctx.volumeId, b.id)
  assert.is(w.checkpoint.facts('data').volumeId, b.id)
  assert.not.ok(w.provider.calls.some((c) => c.startsWith('createVolume')))
  w.cleanup()
})

test('claim creates a volume with pool tags, a format token and its claim from birth', async () => {
  const w = await fakeWorld()
  const ctx = await runStep(
    claim,
    await runStep(discover, startContext(volumeSpec({ sizeGiB: 7 })), w.deps),
    w.deps,
  )
  const vol = w.provider.volumes.get(ctx.volumeId as string)
  assert.ok(vol)
  assert.is(vol?.sizeGiB, 7)
  assert.is(vol?.tags.app, 'test')
  assert.ok(vol?.tags[Tag.formatToken])
  assert.is(vol?.tags[Tag.createdFor], 'i-self')
  assert.is(vol?.attachedTo, 'i-self')
  assert.is(w.checkpoint.facts('data').claimId, undefined)
  w.cleanup()
})

test('a claim retried after a crash reuses its client token: never two volumes', async () => {
  const w = await fakeWorld()
  await w.checkpoint.update('data', { claimId: 'claim-1' })
  // The first run created the volume, then died before attaching and checkpointing it.
  // (Tagged out of the pool here, so only the client token can lead the retry back to it.)
  const first = await w.provider.createVolume({
    sizeGiB: 1,
    tags: { app: 'elsewhere' },
    clientToken: clientToken('i-self', 'data', 'claim-1'),
  })
  const ctx = await runStep(claim, startContext(volumeSpec()), w.deps)
  assert.is(ctx.volumeId, first.id)
  assert.is(w.provider.volumes.size, 1)
  w.cleanup()
})

test('claim without create.sizeGiB and an empty pool fails with a hint', async () => {
  const w = await fakeWorld()
  try {
    await runStep(claim, startContext(volumeSpec({ sizeGiB: undefined })), w.deps)
    assert.unreachable()
  } catch (err) {
    assert.instance(err, ProviderError)
    assert.match((err as ProviderError).hint ?? '', /create.sizeGiB/)
  }
  w.cleanup()
})

test('plan mode lists what it would do and calls nothing that mutates', async () => {
  const w = await fakeWorld()
  const a = w.provider.addVolume({ tags: { app: 'test' } })
  const ctx = await runStep(
    claim,
    await runStep(discover, startContext(volumeSpec(), 'plan'), w.deps),
    w.deps,
  )
  assert.ok(ctx.pending)
  assert.match(ctx.changes[0]?.what as string, new RegExp(`candidates: ${a.id}`))
  assert.equal(w.provider.calls, ['findAttached', 'listAvailable'])
  w.cleanup()
})

test('shuffle is a permutation', () => {
  const items = [1, 2, 3, 4, 5, 6]
  assert.equal([...shuffle(items)].sort(), items)
})

test.run()

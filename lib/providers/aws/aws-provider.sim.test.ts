// The AWS provider and the whole reconcile, against the in-process EC2 simulator through real
// EC2Client objects (aws-sdk-client-mock routes each client's commands to the simulator).
// Real AWS is not reachable from here; this is the faithful stand-in.

import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { createCli } from '../../cli.js'
import { volumeSpec } from '../../testing/world.js'
import { Tag } from '../provider.js'
import { type SimMachine, simMachine } from './sim/connect.js'
import { Ec2Simulator } from './sim/ec2-sim.js'
import { boot, cleanupBoots, MUTATING } from './sim/harness.js'

const test = suite('aws provider against the EC2 simulator')
const GiB = 1024 ** 3
const pool = { app: 'kafka' }
const spec = (over: Parameters<typeof volumeSpec>[0] = {}) =>
  volumeSpec({ poolTags: pool, sizeGiB: 10, ...over })

function seeded(seed = 7) {
  let s = seed
  return () => {
    s = (s * 16807) % 2147483647
    return s / 2147483647
  }
}

const world = (opts: ConstructorParameters<typeof Ec2Simulator>[0] = {}) =>
  new Ec2Simulator({ random: seeded(), ...opts })
const machine = (sim: Ec2Simulator, id = 'i-aaaa', zone = 'us-east-1a', xen = false): SimMachine =>
  simMachine(sim, { instanceId: id, zone, xen })
const commands = (sim: Ec2Simulator, from = 0) => sim.calls.slice(from).map((c) => c.command)

test.after(() => cleanupBoots())

test('empty pool: creates a tagged gp3 volume, attaches it, formats and mounts it', async () => {
  const sim = world()
  const m = machine(sim)
  const ctx = await boot(m, spec())
  assert.is(ctx.error, undefined, JSON.stringify(ctx.error))
  const vol = sim.volume(ctx.volumeId as string)
  assert.is(vol?.State, 'in-use')
  assert.is(vol?.VolumeType, 'gp3')
  assert.is(vol?.Size, 10)
  assert.is(vol?.Attachments?.[0]?.InstanceId, 'i-aaaa')
  const tags = Object.fromEntries((vol?.Tags ?? []).map((t) => [t.Key, t.Value]))
  assert.is(tags.app, 'kafka')
  assert.is(tags[Tag.createdFor], 'i-aaaa')
  assert.ok(tags[Tag.fsUuid])
  assert.is(tags[Tag.formatToken], undefined)
  const create = sim.calls.find((c) => c.command === 'CreateVolume')?.input as {
    ClientToken?: string
    TagSpecifications?: { Tags?: { Key?: string }[] }[]
  }
  assert.ok(create.ClientToken && create.ClientToken.length <= 64)
  assert.ok(
    create.TagSpecifications?.[0]?.Tags?.some((t) => t.Key === Tag.formatToken),
    'format token set at birth',
  )
  assert.ok(m.host.mounts.has('/mnt/data'))
  assert.equal(
    ctx.device,
    `/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_${(ctx.volumeId as string).replace('-', '')}`,
  )
})

test('a pool with available volumes: one is claimed, none is created', async () => {
  const sim = world()
  const ids = [1, 2, 3].map(() => sim.addVolume({ az: 'us-east-1a', size: 10, tags: pool }))
  const m = machine(sim)
  const ctx = await boot(m, spec({ filesystem: { type: 'xfs', format: 'if-blank', mkfsOptions: [] } }))
  assert.is(ctx.error, undefined, JSON.stringify(ctx.error))
  assert.ok(ids.includes(ctx.volumeId as string))
  assert.not.ok(commands(sim).includes('CreateVolume'))
})

test('a volume already attached: the rerun makes no mutating call', async () => {
  const sim = world()
  const m = machine(sim)
  await boot(m, spec())
  const from = sim.calls.length
  const ctx = await boot(m, spec())
  assert.is(ctx.error, undefined)
  assert.equal(
    commands(sim, from).filter((c) => MUTATING.has(c)),
    [],
  )
  assert.ok(ctx.changes.every((c) => c.action === 'none'))
})

test('plan makes zero mutating calls, fresh and converged', async () => {
  const sim = world()
  sim.addVolume({ az: 'us-east-1a', size: 10, tags: pool })
  const m = machine(sim)
  const planned = await boot(m, spec(), 'plan')
  assert.match(
    planned.changes[0]?.what ?? '',
    /attach an available volume of pool app=kafka \(candidates: vol-/,
  )
  assert.equal(
    commands(sim).filter((c) => MUTATING.has(c)),
    [],
  )
  const empty = world()
  const m2 = machine(empty)
  const p2 = await boot(
    m2,
    spec({ createOptions: { type: 'io2', iops: 8000, encrypted: true, kmsKeyId: 'alias/ebs' } }),
    'plan',
  )
  assert.match(
    p2.changes[0]?.what ?? '',
    /create volume 10 GiB io2, 8000 IOPS, encrypted with alias\/ebs in pool app=kafka/,
  )
  assert.equal(
    commands(empty).filter((c) => MUTATING.has(c)),
    [],
  )
})

test('create passes type, iops, throughput, encryption and snapshot (by id and by tags: newest completed)', async () => {
  const sim = world()
  const old = sim.addSnapshot({
    size: 5,
    tags: { src: 'kafka' },
    startTime: Date.parse('2025-12-01T00:00:00Z'),
  })
  const newest = sim.addSnapshot({
    size: 5,
    tags: { src: 'kafka' },
    startTime: Date.parse('2025-12-20T00:00:00Z'),
  })
  sim.addSnapshot({
    size: 5,
    tags: { src: 'kafka' },
    completed: false,
    startTime: Date.parse('2025-12-30T00:00:00Z'),
  })
  const m = machine(sim)
  const ctx = await boot(
    m,
    spec({
      createOptions: {
        type: 'gp3',
        iops: 6000,
        throughputMiBps: 250,
        encrypted: true,
        snapshot: { tags: { src: 'kafka' } },
      },
    }),
  )
  assert.is(ctx.error, undefined, JSON.stringify(ctx.error))
  const v = sim.volume(ctx.volumeId as string)
  assert.equal([v?.Iops, v?.Throughput, v?.Encrypted, v?.SnapshotId], [6000, 250, true, newest])
  assert.is.not(v?.SnapshotId, old)
  const sim2 = world()
  const snap = sim2.addSnapshot({ size: 5 })
  const ctx2 = await boot(machine(sim2), spec({ createOptions: { snapshot: { id: snap } } }))
  assert.is(sim2.volume(ctx2.volumeId as string)?.SnapshotId, snap)
})

test('grow: ModifyVolume, wait for optimizing and the device, then the filesystem', async () => {
  const sim = world()
  const m = machine(sim)
  const first = await boot(m, spec())
  const from = sim.calls.length
  const t0 = sim.clock.now()
  const ctx = await boot(m, spec({ sizeGiB: 20 }))
  assert.is(ctx.error, undefined, JSON.stringify(ctx.error))
  assert.ok(commands(sim, from).includes('ModifyVolume'))
  assert.is(sim.volume(first.volumeId as string)?.Size, 20)
  const dev = await m.host.identity(ctx.device as string)
  assert.is(dev?.sizeBytes, 20 * GiB)
  assert.ok(
    m.host.actions.some((a) => a.startsWith('grow-')),
    m.host.actions.join('\n'),
  )
  assert.ok(sim.clock.now() - t0 >= 3000, 'waited (virtually) for optimizing')
})

test('the modification rate limit is a warning naming when to retry; the mount still happens', async () => {
  const sim = world({ modificationsPerDay: 1 })
  const m = machine(sim)
  await boot(m, spec())
  await boot(m, spec({ sizeGiB: 20 }))
  // The first modification completes after 60 s; the limit allows one a day.
  await sim.clock.sleep(120_000)
  m.host.mounts.clear()
  const ctx = await boot(m, spec({ sizeGiB: 30 }))
  assert.is(ctx.error, undefined, JSON.stringify(ctx.error))
  assert.match(
    ctx.warnings.join('\n'),
    /cannot be grown to 30 GiB now: .*VolumeModificationRateExceeded.* again after 2026-01-0\dT/,
  )
  assert.ok(m.host.mounts.has('/mnt/data'))
})

test('two, then twenty instances booting at once against one pool: distinct volumes, none attached twice', async () => {
  for (const n of [2, 20]) {
    const sim = world()
    for (let i = 0; i < n / 2; i++) sim.addVolume({ az: 'us-east-1a', size: 10, tags: pool })
    const machines = Array.from({ length: n }, (_, i) => machine(sim, `i-${n}-${i}`))
    const results = await Promise.all(
      machines.map((m) =>
        boot(m, spec({ filesystem: { type: 'ext4', format: 'if-blank', mkfsOptions: [] } })),
      ),
    )
    for (const r of results) assert.is(r.error, undefined, JSON.stringify(r.error))
    const ids = results.map((r) => r.volumeId)
    assert.is(new Set(ids).size, n, `${n}: ${ids.join(',')}`)
    const attachedTo = new Map<string, string>()
    for (const v of sim.allVolumes())
      for (const a of v.Attachments ?? []) {
        assert.not.ok(attachedTo.has(v.VolumeId as string))
        attachedTo.set(v.VolumeId as string, a.InstanceId as string)
      }
    assert.is(attachedTo.size, n)
    assert.is(commands(sim).filter((c) => c === 'CreateVolume').length, n / 2)
  }
})

test('an instance in another zone never takes a volume from this zone', async () => {
  const sim = world()
  const here = sim.addVolume({ az: 'us-east-1a', size: 10, tags: pool })
  sim.addInstance('i-placeholder', 'us-east-1a')
  const m = machine(sim, 'i-bbbb', 'us-east-1b')
  const ctx = await boot(m, spec())
  assert.is(ctx.error, undefined, JSON.stringify(ctx.error))
  assert.is.not(ctx.volumeId, here)
  assert.is(sim.volume(ctx.volumeId as string)?.AvailabilityZone, 'us-east-1b')
  assert.is(sim.volume(here)?.State, 'available')
})

test('multi-attach volumes are never candidates', async () => {
  const sim = world()
  sim.addVolume({ az: 'us-east-1a', size: 10, tags: pool, type: 'io2', multiAttach: true })
  const ctx = await boot(machine(sim), spec())
  assert.ok(commands(sim).includes('CreateVolume'))
  assert.is(sim.volume(ctx.volumeId as string)?.MultiAttachEnabled, false)
})

test('discover follows NextToken to the end of a large pool', async () => {
  const sim = world({ maxPage: 500 })
  for (let i = 0; i < 1200; i++) sim.addVolume({ az: 'us-east-1a', size: 10, tags: { app: 'other' } })
  const target = sim.addVolume({ az: 'us-east-1a', size: 10, tags: pool, id: 'vol-fffffffffffffffff' })
  for (let i = 0; i < 1100; i++) sim.addVolume({ az: 'us-east-1a', size: 10, tags: { ...pool } })
  const m = machine(sim)
  const seen: string[] = []
  let cursor: string | undefined
  do {
    const page = await m.provider.listAvailable(pool, cursor)
    seen.push(...page.volumes.map((v) => v.id))
    cursor = page.cursor
  } while (cursor)
  assert.is(seen.length, 1101)
  assert.ok(seen.includes(target))
  // 500 per page (EC2's largest): claiming reads only the pages it needs; here every page was asked for.
  assert.is(commands(sim).filter((c) => c === 'DescribeVolumes').length, 3)
})

test('Xen instances: the device appears as /dev/xvdX and is accepted by its name', async () => {
  const sim = world()
  const m = machine(sim, 'i-xen', 'us-east-1a', true)
  const ctx = await boot(m, spec())
  assert.is(ctx.error, undefined, JSON.stringify(ctx.error))
  assert.is(ctx.device, '/dev/xvdf')
})

test('throttling: an empty bucket answers RequestLimitExceeded, and refills with virtual time', async () => {
  const sim = world({ throttle: { DescribeVolumes: { capacity: 2, perSecond: 1 } } })
  const m = machine(sim)
  const noRetry = simMachine(sim, {
    instanceId: 'i-throttled',
    zone: 'us-east-1a',
    throttleRetries: 0,
    throttleBudgetMs: 0,
  }).provider
  await noRetry.listAvailable(pool)
  await noRetry.listAvailable(pool)
  try {
    await noRetry.listAvailable(pool)
    assert.unreachable()
  } catch (err) {
    assert.is((err as { code?: string }).code, 'RequestLimitExceeded')
    assert.match((err as { hint?: string }).hint ?? '', /AWS_MAX_ATTEMPTS/)
  }
  assert.is(sim.throttled.get('DescribeVolumes'), 1)
  await sim.clock.sleep(1000)
  await noRetry.listAvailable(pool)
  // With retries (the default), cps waits the bucket out itself.
  await m.provider.listAvailable(pool)
  await m.provider.listAvailable(pool)
  await m.provider.listAvailable(pool)
  assert.ok(m.provider.throttleWaits >= 1)
})

test('a call throttled for 20 minutes is waited out (40 rounds of back-off would have given up)', async () => {
  // One DescribeVolumes token every 20 minutes, and the one there is spent at once.
  const sim = world({ throttle: { DescribeVolumes: { capacity: 1, perSecond: 1 / 1200 } } })
  const m = machine(sim)
  await m.provider.listAvailable(pool)
  const t0 = sim.clock.now()
  await m.provider.listAvailable(pool)
  const waited = (sim.clock.now() - t0) / 1000
  assert.ok(waited >= 1199 && waited < 1230, `waited ${waited} s`)
  assert.ok(m.provider.throttleWaits > 40, `${m.provider.throttleWaits} waits`)
})

test('through the CLI: --provider aws plan, apply, then plan with no changes', async () => {
  const sim = world()
  const m = machine(sim)
  const dir = mkdtempSync(join(tmpdir(), 'cps-cli-aws-'))
  let out = ''
  const { run } = createCli(
    (t) => {
      out += t
    },
    { createProvider: () => m.provider, createHost: () => m.host },
  )
  const args = [
    '--provider',
    'aws',
    '--name',
    'data',
    '--tag',
    'app=kafka',
    '--size',
    '50',
    '--type',
    'gp3',
    '--iops',
    '4000',
    '--mount',
    '/data',
    '--state',
    join(dir, 'state.json'),
    '--quiet',
  ]
  try {
    assert.is(await run(['node', 'cps', 'plan', ...args, '--detailed-exitcode']), 2)
    assert.match(out, /\+ create volume 50 GiB gp3, 4000 IOPS in pool app=kafka, with a format token/)
    assert.is(await run(['node', 'cps', 'apply', ...args]), 0)
    assert.match(out, /Apply complete! 4 added, 0 changed, 0 destroyed\./)
    out = ''
    assert.is(await run(['node', 'cps', 'plan', ...args, '--detailed-exitcode']), 0)
    assert.match(out, /No changes\. 1 volume up to date\./)
    assert.equal(sim.calls.map((c) => c.command).filter((c) => c === 'CreateVolume').length, 1)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test.run()

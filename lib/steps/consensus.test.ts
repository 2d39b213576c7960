// claim: consensus against the EC2 simulator (real AwsProvider and EC2Client, virtual clock).

import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { simMachine } from '../providers/aws/sim/connect.js'
import { Ec2Simulator } from '../providers/aws/sim/ec2-sim.js'
import { boot, cleanupBoots } from '../providers/aws/sim/harness.js'
import { Tag, type Volume } from '../providers/provider.js'
import { volumeSpec } from '../testing/world.js'
import { claimedByOther } from './consensus.js'

const test = suite('claim: consensus (EC2 simulator)')
const pool = { app: 'zk' }
const spec = (over: Parameters<typeof volumeSpec>[0] = {}) =>
  volumeSpec({
    poolTags: pool,
    claim: 'consensus',
    consensus: { waitSeconds: 30, lockTimeoutSeconds: 180 },
    filesystem: { type: 'ext4', format: 'if-blank', mkfsOptions: [] },
    ...over,
  })
const attaches = (sim: Ec2Simulator) => sim.calls.filter((c) => c.command === 'AttachVolume').length

test.after(() => cleanupBoots())

test('two machines, one volume: the token that survives wins; the other never attaches it', async () => {
  const sim = new Ec2Simulator()
  const only = sim.addVolume({ az: 'us-east-1a', size: 10, tags: pool })
  const a = simMachine(sim, { instanceId: 'i-a', zone: 'us-east-1a' })
  const b = simMachine(sim, { instanceId: 'i-b', zone: 'us-east-1a' })
  const t0 = sim.clock.now()
  const [ra, rb] = await Promise.all([
    boot(a, spec({ sizeGiB: undefined })),
    boot(b, spec({ sizeGiB: undefined })),
  ])
  const winners = [ra, rb].filter((r) => r.volumeId === only)
  const losers = [ra, rb].filter((r) => r.error)
  assert.is(winners.length, 1)
  assert.is(losers.length, 1)
  assert.match(losers[0]?.error?.message ?? '', /pool app=zk has no available volume/)
  assert.is(attaches(sim), 1, "no attach attempt on the other machine's volume")
  assert.ok(sim.clock.now() - t0 >= 30_000, 'it waited before re-reading')
})

test('a fresh claim by another machine is skipped: this one creates instead', async () => {
  const sim = new Ec2Simulator()
  const m = simMachine(sim, { instanceId: 'i-a', zone: 'us-east-1a' })
  const claimed = sim.addVolume({
    az: 'us-east-1a',
    size: 10,
    tags: { ...pool, [Tag.claimToken]: 'theirs', [Tag.claimTime]: new Date(sim.clock.now()).toISOString() },
  })
  const r = await boot(m, spec({ filesystem: { type: 'ext4', format: 'if-created', mkfsOptions: [] } }))
  assert.is(r.error, undefined, JSON.stringify(r.error))
  assert.is.not(r.volumeId, claimed)
  assert.ok(sim.calls.some((c) => c.command === 'CreateVolume'))
  assert.is(sim.volume(claimed)?.State, 'available')
})

test('a claim older than the lock timeout on a still-available volume is ignored', async () => {
  const sim = new Ec2Simulator()
  const m = simMachine(sim, { instanceId: 'i-a', zone: 'us-east-1a' })
  const old = new Date(sim.clock.now() - 181_000).toISOString()
  const stale = sim.addVolume({
    az: 'us-east-1a',
    size: 10,
    tags: { ...pool, [Tag.claimToken]: 'dead-machine', [Tag.claimTime]: old },
  })
  const r = await boot(m, spec())
  assert.is(r.error, undefined, JSON.stringify(r.error))
  assert.is(r.volumeId, stale)
  assert.not.ok(sim.calls.some((c) => c.command === 'CreateVolume'))
})

test('claimedByOther: own token, no token, fresh and stale foreign tokens', () => {
  const vol = (tags: Record<string, string>): Volume => ({
    id: 'v',
    sizeGiB: 1,
    state: 'available',
    tags,
    createdAt: '',
  })
  const now = Date.parse('2026-01-01T00:10:00Z')
  const at = (s: number) => new Date(now - s * 1000).toISOString()
  assert.not.ok(claimedByOther(vol({}), undefined, now, 180_000))
  assert.not.ok(claimedByOther(vol({ [Tag.claimToken]: 'me', [Tag.claimTime]: at(5) }), 'me', now, 180_000))
  assert.ok(claimedByOther(vol({ [Tag.claimToken]: 'them', [Tag.claimTime]: at(5) }), 'me', now, 180_000))
  assert.not.ok(
    claimedByOther(vol({ [Tag.claimToken]: 'them', [Tag.claimTime]: at(200) }), 'me', now, 180_000),
  )
})

test.run()

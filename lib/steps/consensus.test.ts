// claim: consensus against the EC2 simulator (real AwsProvider and EC2Client, virtual clock),
// and one race against a scripted fake cloud.

import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { ProviderError } from '../errors.js'
import { FakeHost } from '../hosts/fake/fake-host.js'
import { simMachine } from '../providers/aws/sim/connect.js'
import { Ec2Simulator } from '../providers/aws/sim/ec2-sim.js'
import { boot, cleanupBoots } from '../providers/aws/sim/harness.js'
import { FakeProvider } from '../providers/fake/fake-provider.js'
import { Tag, type Volume } from '../providers/provider.js'
import { fakeClock, timedDeps } from '../testing/fake-clock.js'
import { volumeSpec } from '../testing/world.js'
import { claimConsensus, claimedByOther } from './consensus.js'

const test = suite('claim: consensus (EC2 simulator, one fake)')
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

test('a claim write throttled past half the wait re-reads first: it never overwrites a claim made meanwhile', async () => {
  // A fake cloud where CreateTags is throttled for 40 s; while our write waits, a neighbour
  // claims the volume (and, having re-read it, goes on to attach). A provider asked to wait
  // throttling out (not `once`) writes after the 40 s, over the neighbour's claim.
  const clock = fakeClock()
  const provider = new (class extends FakeProvider {
    override async setTags(id: string, tags: Record<string, string>, opts?: { once?: boolean }) {
      if (Tag.claimToken in tags && clock.now() < start + 40_000) {
        const vol = this.volumes.get(id) as Volume
        vol.tags[Tag.claimToken] ??= 'neighbour'
        vol.tags[Tag.claimTime] ??= new Date(clock.now()).toISOString()
        if (opts?.once) throw new ProviderError('Request limit exceeded.', { code: 'RequestLimitExceeded' })
        await clock.sleep(start + 40_000 - clock.now())
      }
      return super.setTags(id, tags)
    }
  })(new FakeHost())
  const start = clock.now()
  const vol = provider.addVolume({ tags: pool })
  const deps = timedDeps(provider, clock)
  const won = await claimConsensus(pool, 'i-self', deps, { waitSeconds: 30, lockTimeoutSeconds: 180 })
  assert.is(won, undefined, 'the volume the neighbour claimed is left to it')
  assert.is(provider.volumes.get(vol.id)?.tags[Tag.claimToken], 'neighbour')
  assert.not.ok(provider.calls.some((c) => c.startsWith('attachVolume')))
})

test('a claim is renewed only while live; one that cannot be is given up and made anew', async () => {
  // Attaches are throttled for 400 s; claim writes are throttled from 50 s to 300 s, so the
  // first claim (180 s lock timeout) cannot be renewed in time.
  const clock = fakeClock()
  const start = clock.now()
  const writes: { at: number; token: string }[] = []
  const attempts: number[] = []
  const throttled = () => new ProviderError('Request limit exceeded.', { code: 'RequestLimitExceeded' })
  const provider = new (class extends FakeProvider {
    override async setTags(id: string, tags: Record<string, string>, opts?: { once?: boolean }) {
      const t = clock.now() - start
      if (Tag.claimToken in tags && t > 50_000 && t < 300_000) {
        if (opts?.once) throw throttled()
        await clock.sleep(300_000 - t)
      }
      if (Tag.claimToken in tags) writes.push({ at: clock.now(), token: tags[Tag.claimToken] as string })
      return super.setTags(id, tags)
    }
    override async attachVolume(vol: Volume) {
      attempts.push(clock.now())
      if (clock.now() - start < 400_000) throw throttled()
      return super.attachVolume(vol)
    }
  })(new FakeHost())
  provider.addVolume({ tags: pool })
  const deps = timedDeps(provider, clock)
  const won = await claimConsensus(pool, 'i-self', deps, { waitSeconds: 30, lockTimeoutSeconds: 180 })
  assert.is(won?.attachedTo, 'i-self')
  // A claim is renewed only while it is live; a renewal that came later could land on a
  // neighbour's claim made after ours expired.
  const live = 180_000 - 15_000
  writes.forEach((w, k) => {
    const before = writes[k - 1]
    if (before?.token === w.token)
      assert.ok(w.at - before.at < live, `renewed ${(w.at - before.at) / 1000} s after`)
  })
  for (const t of attempts) {
    const last = Math.max(...writes.filter((w) => w.at <= t).map((w) => w.at))
    assert.ok(
      t - last < live,
      `attach at ${(t - start) / 1000} s on a claim written at ${(last - start) / 1000} s`,
    )
  }
  assert.is(new Set(writes.map((w) => w.token)).size, 2, 'the first claim was given up and a new one made')
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
  assert.not.ok(claimedByOther(vol({}), new Set(), now, 180_000))
  assert.not.ok(
    claimedByOther(vol({ [Tag.claimToken]: 'me', [Tag.claimTime]: at(5) }), new Set(['me']), now, 180_000),
  )
  assert.ok(
    claimedByOther(vol({ [Tag.claimToken]: 'them', [Tag.claimTime]: at(5) }), new Set(['me']), now, 180_000),
  )
  assert.not.ok(
    claimedByOther(
      vol({ [Tag.claimToken]: 'them', [Tag.claimTime]: at(200) }),
      new Set(['me']),
      now,
      180_000,
    ),
  )
})

test.run()

import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { ProviderError } from '../errors.js'
import { FakeHost } from '../hosts/fake/fake-host.js'
import { THROTTLE_BUDGET_MS } from '../providers/error-codes.js'
import { FakeProvider } from '../providers/fake/fake-provider.js'
import type { Volume } from '../providers/provider.js'
import { fakeClock, timedDeps } from '../testing/fake-clock.js'
import { claimOptimistic, pacing } from './claim.js'

const test = suite('optimistic claim: pacing under throttling (fake provider, fake clock)')

/** A provider that throttles attaches like EC2 (5 a second), `throttle` times before it accepts. */
class ThrottledProvider extends FakeProvider {
  readonly attachRate = 5
  constructor(public throttle: number) {
    super(new FakeHost())
  }
  override async attachVolume(target: Volume): Promise<Volume> {
    if (this.throttle-- > 0) {
      this.calls.push(`attachVolume ${target.id} (throttled)`)
      throw new ProviderError('Request limit exceeded.', { code: 'RequestLimitExceeded' })
    }
    return super.attachVolume(target)
  }
}

function setup(volumes: number, throttle: number) {
  const provider = new ThrottledProvider(throttle)
  for (let i = 0; i < volumes; i++) provider.addVolume({ tags: { app: 'test' } })
  const clock = fakeClock()
  const deps = timedDeps(provider, clock)
  return { provider, clock, deps }
}

test('pacing: a list drains at the attach rate; trusted for a tenth of that; window within 5–80 s', () => {
  assert.equal(pacing(100, true, 5), { trustMs: 2000, windowMs: 20_000 })
  assert.equal(pacing(1000, true, 5), { trustMs: 20_000, windowMs: 80_000 })
  assert.equal(pacing(3, true, 5), { trustMs: 60, windowMs: 5000 })
  // More pool than one page: the fleet's size is unknown.
  assert.equal(pacing(500, false, 5), { trustMs: 10_000, windowMs: 30_000 })
  // A provider that never throttles attaches: the list holds until it is used up.
  assert.is(pacing(10, true, undefined).trustMs, Number.POSITIVE_INFINITY)
})

test('a throttled attach retries the same volume while the list is fresh, and re-reads it once stale', async () => {
  // 100 candidates drain in 20 s: the list is trusted for 2 s. Waits: 1 s (fresh), then 2 s (stale).
  const { provider, clock, deps } = setup(100, 2)
  const won = await claimOptimistic({ app: 'test' }, 'i-self', deps)
  const calls = provider.calls.filter((c) => c !== 'findAttached')
  const first = calls[1]?.split(' ')[1]
  assert.equal(calls.slice(0, 4), [
    'listAvailable',
    `attachVolume ${first} (throttled)`,
    `attachVolume ${first} (throttled)`,
    'listAvailable',
  ])
  assert.equal(clock.sleeps, [1000, 2000])
  assert.is(won?.attachedTo, 'i-self')
  assert.is(calls.length, 5)
})

test('throttled waits grow up to the pool drain time, capped at 80 s', async () => {
  const { clock, deps } = setup(1000, 9)
  await claimOptimistic({ app: 'test' }, 'i-self', deps)
  // Half of min(80 s, 2^k s): the SDK-like exponential growth, then the pool's pace.
  assert.equal(clock.sleeps, [1000, 2000, 4000, 8000, 16_000, 32_000, 40_000, 40_000, 40_000])
})

test('a small whole pool keeps waits short: a handful of volumes drain in seconds', async () => {
  const { clock, deps } = setup(4, 6)
  await claimOptimistic({ app: 'test' }, 'i-self', deps)
  assert.ok(Math.max(...clock.sleeps) <= 2500, `${clock.sleeps}`)
})

test('claiming gives up after 30 minutes of throttling, with the throttling error', async () => {
  const { clock, deps } = setup(1000, Number.POSITIVE_INFINITY)
  try {
    await claimOptimistic({ app: 'test' }, 'i-self', deps)
    assert.unreachable('claimed through endless throttling')
  } catch (err) {
    assert.instance(err, ProviderError)
    assert.is((err as ProviderError).code, 'RequestLimitExceeded')
  }
  const waited = clock.sleeps.reduce((a, b) => a + b, 0)
  assert.ok(waited > THROTTLE_BUDGET_MS && waited < THROTTLE_BUDGET_MS + 80_000, `${waited}`)
})

test.run()

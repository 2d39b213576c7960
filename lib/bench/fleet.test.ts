// Fleet invariants in CI: 50 simulated machines boot at once against one pool in the EC2
// simulator (EC2's token buckets, virtual clock), for every pool fill and claim mode, with and
// without injected faults and crashes; and the 1000-machine targets, in virtual time.
// Invariants and call counts, not wall-clock times.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { packageRoot } from '../paths.js'
import { type FleetResult, runFleet } from './fleet.js'

const test = suite('fleets against the EC2 simulator')

function invariants(r: FleetResult): void {
  const what = `${r.machines} ${r.pool} ${r.claim} faults=${r.faultRate} crashes=${r.crashRate}`
  assert.is(r.failures, 0, `${what}: failures: ${r.errors.join('; ')}`)
  assert.is(r.doubleClaims, 0, `${what}: double claims`)
  assert.is(r.extraAttachments, 0, `${what}: a machine holds two pool volumes`)
  assert.is(r.createdTwice, 0, `${what}: more than one volume created for one claim`)
}

for (const pool of ['spare', 'full', 'half', 'empty'] as const) {
  test(`optimistic, ${pool} pool: distinct volumes, no failures, bounded calls`, async () => {
    const r = await runFleet({ machines: 50, pool, claim: 'optimistic', seed: 11 })
    invariants(r)
    assert.ok(
      (r.callsPerMachine.AttachVolume ?? 0) <= 2,
      `AttachVolume/machine ${r.callsPerMachine.AttachVolume}`,
    )
    assert.ok(
      (r.callsPerMachine.DescribeVolumes ?? 0) <= 6,
      `DescribeVolumes/machine ${r.callsPerMachine.DescribeVolumes}`,
    )
    assert.is(r.callsPerMachine.DescribeInstances, 1)
    const creates = (r.callsPerMachine.CreateVolume ?? 0) * 50
    assert.is(Math.round(creates), pool === 'spare' || pool === 'full' ? 0 : pool === 'half' ? 25 : 50)
  })

  test(`consensus, ${pool} pool: exactly one attach per machine (never a neighbour's volume)`, async () => {
    const r = await runFleet({ machines: 50, pool, claim: 'consensus', seed: 11 })
    invariants(r)
    assert.is(r.callsPerMachine.AttachVolume, 1)
  })
}

for (const claim of ['optimistic', 'consensus'] as const) {
  for (const pool of ['full', 'half', 'empty'] as const) {
    test(`faults (10% of calls) and crashes (half the machines), ${claim}, ${pool} pool: still converges`, async () => {
      for (const seed of [3, 4]) {
        const r = await runFleet({ machines: 50, pool, claim, seed, faultRate: 0.1, crashRate: 0.5 })
        invariants(r)
        assert.ok(r.crashes > 10, `only ${r.crashes} crashes`)
        assert.ok(Object.values(r.injected).reduce((a, b) => a + b, 0) > 10, 'faults were injected')
      }
    })
  }
}

test('1000 machines, full pool, optimistic: the targets of issue 5 (virtual time, so deterministic)', async () => {
  const r = await runFleet({ machines: 1000, pool: 'full', claim: 'optimistic', seed: 1 })
  invariants(r)
  assert.ok((r.ratio ?? 99) <= 1.15, `all mounted at ${r.ratio?.toFixed(3)}× the floor`)
  assert.ok(
    (r.callsPerMachine.AttachVolume ?? 0) <= 1.2,
    `AttachVolume/machine ${r.callsPerMachine.AttachVolume}`,
  )
  assert.ok(
    (r.callsPerMachine.DescribeVolumes ?? 0) <= 3,
    `DescribeVolumes/machine ${r.callsPerMachine.DescribeVolumes}`,
  )
})

test('the bench command runs (small N) and writes its table and JSON', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cps-bench-'))
  try {
    const out = execFileSync(
      process.execPath,
      [
        '--no-warnings',
        join(packageRoot, 'dist', 'bin', 'bench.js'),
        '--machines',
        '10',
        '--pools',
        'full,empty',
        '--claims',
        'optimistic',
        '--json',
        join(dir, 'r.json'),
      ],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
    )
    assert.match(out, /\| machines \| pool \| claim \| all mounted \(s\) \|/)
    assert.match(out, /\| 10 \| full \| optimistic \|/)
    const json = JSON.parse(readFileSync(join(dir, 'r.json'), 'utf8')) as FleetResult[]
    assert.equal(
      json.map((r) => [r.machines, r.pool, r.failures]),
      [
        [10, 'full', 0],
        [10, 'empty', 0],
      ],
    )
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test.run()

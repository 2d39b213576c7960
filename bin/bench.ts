#!/usr/bin/env node
// The fleet benchmark: N simulated machines boot at once against one pool in the EC2
// simulator (EC2's published token buckets, virtual clock). Prints a table, writes JSON.
//   npm run bench -- --machines 10,100,1000 --pools spare,full,half,empty --claims optimistic,consensus
//   npm run bench -- --machines 1000 --pools full --claims optimistic --timeline
//   npm run bench -- --machines 200 --faults 0.05 --crashes 0.3
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import { parseArgs } from 'node:util'
import { type ClaimMode, type FleetResult, POOL_FILLS, type PoolFill, runFleet } from '../lib/bench/fleet.js'
import { renderTable } from '../lib/bench/table.js'

const { values } = parseArgs({
  options: {
    machines: { type: 'string', default: '10,100,1000' },
    pools: { type: 'string', default: 'spare,full,half,empty' },
    claims: { type: 'string', default: 'optimistic,consensus' },
    faults: { type: 'string', default: '0' },
    crashes: { type: 'string', default: '0' },
    seed: { type: 'string', default: '1' },
    json: { type: 'string', default: 'bench-results/fleet.json' },
    timeline: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
})
if (values.help) {
  console.log(`npm run bench -- [--machines 10,100,1000] [--pools spare,full,half,empty] [--claims optimistic,consensus]
                   [--faults RATE] [--crashes FRACTION] [--seed N] [--json FILE] [--timeline]
  --pools    spare: 2N available volumes; full: N; half: N/2; empty: none (machines create)
  --claims   the claim modes to run (spec field claim)
  --faults   probability that any EC2 call fails (server fault, spurious throttle, lost response)
  --crashes  fraction of machines that crash once at a random provider call, then rerun
  --json     where to write every result (default bench-results/fleet.json)
  --timeline also print, per run, the accepted and throttled calls of each 10 s`)
  process.exit(0)
}

const list = (s: string) =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean)
const CLAIMS: ClaimMode[] = ['optimistic', 'consensus']
const unknown = [
  ...list(values.pools)
    .filter((p) => !(POOL_FILLS as readonly string[]).includes(p))
    .map((p) => `pool "${p}" (one of ${POOL_FILLS.join(', ')})`),
  ...list(values.claims)
    .filter((c) => !CLAIMS.includes(c as ClaimMode))
    .map((c) => `claim "${c}" (one of ${CLAIMS.join(', ')})`),
  ...list(values.machines)
    .filter((m) => !/^[1-9]\d*$/.test(m))
    .map((m) => `machines "${m}" (a positive integer)`),
]
if (unknown.length) {
  process.stderr.write(`npm run bench: unknown ${unknown.join('; ')}\n`)
  process.exit(2)
}
const results: FleetResult[] = []
for (const machines of list(values.machines).map(Number)) {
  for (const pool of list(values.pools) as PoolFill[]) {
    for (const claim of list(values.claims) as ClaimMode[]) {
      const r = await runFleet({
        machines,
        pool,
        claim,
        seed: Number(values.seed),
        faultRate: Number(values.faults),
        crashRate: Number(values.crashes),
        timeline: values.timeline,
      })
      results.push(r)
      process.stderr.write(`done: ${machines} machines, ${pool} pool, ${claim}: ${r.seconds.toFixed(1)} s\n`)
    }
  }
}
process.stdout.write(renderTable(results))
for (const r of results.filter((x) => x.timeline))
  process.stdout.write(`\n${r.machines} machines, ${r.pool} pool, ${r.claim}:\n\n${r.timeline}`)
mkdirSync(dirname(values.json), { recursive: true })
writeFileSync(values.json, `${JSON.stringify(results, null, 2)}\n`)
process.stdout.write(`\nwrote ${values.json}\n`)
const bad = results.filter((r) => r.doubleClaims || r.failures || r.extraAttachments || r.createdTwice)
if (bad.length) {
  process.stdout.write(
    `\n${bad.length} run(s) broke an invariant (double claims, failures, extra attachments, volumes created twice)\n`,
  )
  process.exitCode = 1
}

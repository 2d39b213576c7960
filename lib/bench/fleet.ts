import { reconcileVolume } from '../../machines/reconcile.js'
import { FakeHost } from '../hosts/fake/fake-host.js'
import type { MkfsRequest, Signature } from '../hosts/host.js'
import { createLogger } from '../log.js'
import { nitroByIdPath, nvmeSerial } from '../providers/aws/devices.js'
import { simProvider } from '../providers/aws/sim/connect.js'
import { Ec2Simulator, ec2Buckets } from '../providers/aws/sim/ec2-sim.js'
import { type Provider, Tag } from '../providers/provider.js'
import type { ResolvedVolume } from '../spec/types.js'
import { CheckpointStore } from '../state/checkpoint.js'
import type { ReconcileContext } from '../steps/context.js'
import { renderTimeline } from './timeline.js'

const GiB = 1024 ** 3
const ZONE = 'us-east-1a'
const POOL = { app: 'fleet' }

/** How many volumes the pool holds for N machines: spare 2N, full N, half N/2, empty none. */
export const POOL_FILLS = ['spare', 'full', 'half', 'empty'] as const
export type PoolFill = (typeof POOL_FILLS)[number]
const poolSize = (fill: PoolFill, n: number) =>
  ({ spare: 2 * n, full: n, half: Math.floor(n / 2), empty: 0 })[fill]
export type ClaimMode = ResolvedVolume['claim']

export interface FleetOptions {
  machines: number
  pool: PoolFill
  claim?: ClaimMode
  seed?: number
  /** Probability that any EC2 call fails (server fault, spurious throttle, or lost response). */
  faultRate?: number
  /** Fraction of machines that crash once, at a random provider call, and rerun from their checkpoint. */
  crashRate?: number
  /** Also render where the calls went over time (FleetResult.timeline). */
  timeline?: boolean
}

export interface FleetResult {
  machines: number
  pool: PoolFill
  claim: ClaimMode
  faultRate: number
  crashRate: number
  /** Virtual seconds from the first boot until every machine is mounted. */
  seconds: number
  /** The AttachVolume (and, when creating, CreateVolume) token buckets' floor: (N − burst) / rate. */
  floorSeconds: number
  ratio: number | null
  /** Accepted calls per machine, by EC2 operation (throttled calls not included). */
  callsPerMachine: Record<string, number>
  /** Calls EC2 refused with RequestLimitExceeded, by operation. */
  throttled: Record<string, number>
  /** Waits cps did after throttling or faults (provider retries). */
  retries: number
  injected: Record<string, number>
  crashes: number
  /** Volumes two machines both believe are theirs, or attached twice: must be 0. */
  doubleClaims: number
  /** Machines holding more than one pool volume: must be 0. */
  extraAttachments: number
  /** Claims for which more than one volume was created: must be 0. */
  createdTwice: number
  failures: number
  errors: string[]
  /** Accepted and throttled calls per 10 s (when asked for). */
  timeline?: string
}

/**
 * Deterministic randomness (mulberry32). Neighbouring seeds give unrelated streams, which
 * matters: machines seeded 1, 2, 3… must not all pick the same candidates.
 */
export function seeded(seed: number): () => number {
  let a = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Disk contents that follow a volume from instance to instance (its filesystem signature). */
class Disks {
  readonly signatures = new Map<string, Signature[]>()
}

/** A FakeHost whose mkfs writes to the shared disk, so the filesystem stays with the volume. */
class FleetHost extends FakeHost {
  readonly volumeOf = new Map<string, string>()
  constructor(private readonly disks: Disks) {
    super()
  }
  override async mkfs(device: string, req: MkfsRequest): Promise<void> {
    await super.mkfs(device, req)
    const real = this.links.get(device) ?? device
    const vol = this.volumeOf.get(real)
    if (vol) this.disks.signatures.set(vol, this.devices.get(real)?.signatures ?? [])
  }
}

class Crash extends Error {
  constructor() {
    super('simulated crash: the run is abandoned here')
  }
}

/** A provider that crashes its machine at the k-th call, before or after the call happens. */
function crashing(inner: Provider, at: number, after: boolean, crashed: () => void): Provider {
  let calls = 0
  return new Proxy(inner, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver)
      if (typeof value !== 'function' || prop === 'expectedIdentity') return value
      return async (...args: unknown[]) => {
        calls++
        if (calls === at && !after) {
          crashed()
          throw new Crash()
        }
        const out = await value.apply(target, args)
        if (calls === at && after) {
          crashed()
          throw new Crash()
        }
        return out
      }
    },
  })
}

function spec(claim: ClaimMode): ResolvedVolume {
  return {
    name: 'data',
    poolTags: POOL,
    sizeGiB: 100,
    createOptions: {},
    filesystem: { type: 'xfs', format: 'if-created', mkfsOptions: [] },
    mount: { path: '/data', options: ['noatime'] },
    resize: 'grow',
    claim,
    consensus: { waitSeconds: 30, lockTimeoutSeconds: 180 },
  }
}

/**
 * Boot `machines` simulated instances at once against one pool in a simulated EC2 with its
 * published throttling, on a virtual clock, and measure them.
 */
export async function runFleet(opts: FleetOptions): Promise<FleetResult> {
  const random = seeded(opts.seed ?? 1)
  const sim = new Ec2Simulator({
    throttle: ec2Buckets,
    random,
    faults: opts.faultRate ? { rate: opts.faultRate } : undefined,
  })
  const disks = new Disks()
  const n = opts.machines
  const existing = poolSize(opts.pool, n)
  for (let i = 0; i < existing; i++) {
    const uuid = `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`
    const id = sim.addVolume({ az: ZONE, size: 100, tags: { ...POOL, [Tag.fsUuid]: uuid } })
    disks.signatures.set(id, [{ type: 'xfs', uuid, usage: 'filesystem' }])
  }
  // Another zone's machine is there too: it must never be given a volume of this zone.
  sim.addInstance('i-other-zone', 'us-east-1b')

  const start = sim.clock.now()
  const log = createLogger('pretty', -999)
  let crashes = 0
  let retries = 0
  const errors: string[] = []
  const doneAt: number[] = []
  const results: ReconcileContext[] = []

  await Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const instanceId = `i-${String(i).padStart(17, '0')}`
      const host = new FleetHost(disks)
      const roots = { dev: '/dev', sys: '/sys' }
      let nvme = 1
      // A new provider (and EC2 client) per boot: a crashed process remembers nothing.
      const newProvider = () =>
        simProvider(sim, {
          instanceId,
          zone: ZONE,
          host,
          roots,
          random: seeded((opts.seed ?? 1) * 7919 + i),
          hooks: {
            attached(volumeId, _device, sizeGiB) {
              const node = `/dev/nvme${nvme++}n1`
              host.addDevice(node, {
                serial: nvmeSerial(volumeId),
                sizeBytes: sizeGiB * GiB,
                signatures: [...(disks.signatures.get(volumeId) ?? [])],
              })
              host.volumeOf.set(node, volumeId)
              host.links.set(nitroByIdPath(roots, volumeId), node)
            },
          },
        })
      let provider = newProvider()
      const checkpoint = CheckpointStore.inMemory()
      const machineRandom = seeded((opts.seed ?? 1) * 104729 + i)
      const willCrash = machineRandom() < (opts.crashRate ?? 0)
      const boot = (p: Provider) =>
        reconcileVolume(
          {
            provider: p,
            host,
            checkpoint,
            log,
            heldByOthers: new Set(),
            random: machineRandom,
            clock: sim.clock,
          },
          spec(opts.claim ?? 'optimistic'),
        )
      let ctx = await boot(
        willCrash
          ? crashing(provider, 1 + Math.floor(machineRandom() * 8), machineRandom() < 0.5, () => crashes++)
          : provider,
      )
      retries += provider.throttleWaits
      if (ctx.error?.message.includes('simulated crash')) {
        provider = newProvider()
        ctx = await boot(provider)
        retries += provider.throttleWaits
      }
      if (ctx.error) errors.push(`${instanceId}: ${ctx.error.message}`)
      results.push(ctx)
      doneAt.push(sim.clock.now())
    }),
  )

  const seconds = (Math.max(...doneAt) - start) / 1000
  const calls: Record<string, number> = {}
  for (const c of sim.calls) calls[c.command] = (calls[c.command] ?? 0) + 1
  const throttled = Object.fromEntries(sim.throttled)
  const callsPerMachine = Object.fromEntries(
    Object.entries(calls)
      .map(([op, count]) => [op, (count - (throttled[op] ?? 0)) / n])
      .sort(([a], [b]) => String(a).localeCompare(String(b))),
  )
  const creates = n - existing
  const floorSeconds = Math.max(0, (n - 50) / 5, (creates - 100) / 5)
  // Invariants: each volume attached to at most one instance, each machine believes in a
  // different volume, no machine holds two, one volume per claim.
  const owners = new Map<string, number>()
  for (const r of results) if (r.volumeId) owners.set(r.volumeId, (owners.get(r.volumeId) ?? 0) + 1)
  let doubleClaims = [...owners.values()].filter((c) => c > 1).length
  const perInstance = new Map<string, number>()
  for (const v of sim.allVolumes()) {
    if ((v.Attachments ?? []).length > 1) doubleClaims++
    for (const a of v.Attachments ?? [])
      perInstance.set(a.InstanceId as string, (perInstance.get(a.InstanceId as string) ?? 0) + 1)
  }
  const byCreator = new Map<string, number>()
  for (const v of sim.allVolumes()) {
    const who = v.Tags?.find((t) => t.Key === Tag.createdFor)?.Value
    if (who) byCreator.set(who, (byCreator.get(who) ?? 0) + 1)
  }
  return {
    machines: n,
    pool: opts.pool,
    claim: opts.claim ?? 'optimistic',
    faultRate: opts.faultRate ?? 0,
    crashRate: opts.crashRate ?? 0,
    seconds,
    floorSeconds,
    ratio: floorSeconds > 0 ? seconds / floorSeconds : null,
    callsPerMachine,
    throttled,
    retries,
    injected: Object.fromEntries(sim.injected),
    crashes,
    doubleClaims,
    extraAttachments: [...perInstance.values()].filter((c) => c > 1).length,
    createdTwice: [...byCreator.values()].filter((c) => c > 1).length,
    failures: errors.length,
    errors: errors.slice(0, 10),
    ...(opts.timeline && { timeline: renderTimeline(sim, start) }),
  }
}

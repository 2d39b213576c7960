import type { ConsolaInstance } from 'consola'
import type { Clock } from '../clock.js'
import type { Host } from '../hosts/host.js'
import type { Change, SerializedError, StepName } from '../plan/change.js'
import type { Provider, Volume } from '../providers/provider.js'
import type { ResolvedVolume } from '../spec/types.js'
import type { CheckpointStore } from '../state/checkpoint.js'

/** The machine's context: JSON only, so a snapshot always serialises. */
export interface ReconcileContext {
  mode: 'apply' | 'plan'
  spec: ResolvedVolume
  instanceId?: string
  /** The volume this host has or has claimed. */
  volumeId?: string
  /** Plan mode: the volume would be created or claimed, so later steps can only predict. */
  pending?: boolean
  /** The volume as the provider last reported it, kept current with this run's own changes. */
  volume?: Volume
  device?: string
  /** The filesystem UUID on the device, once known. */
  fsUuid?: string
  /** xfs/btrfs grow once mounted. */
  growAfterMount?: boolean
  changes: Change[]
  warnings: string[]
  timings: Partial<Record<StepName, number>>
  error?: SerializedError
}

/** Live objects the steps use; they come in through the machine factory, not the context. */
export interface StepDeps {
  provider: Provider
  host: Host
  checkpoint: CheckpointStore
  log: ConsolaInstance
  /** Volume ids other spec volumes of this host hold, which this one must not take. */
  heldByOthers: Set<string>
  /** The claim order's randomness and backoff jitter, injectable so runs are reproducible. */
  random?: () => number
  /** Time for backoff; the EC2 simulator's virtual clock in simulations. */
  clock?: Clock
}

/** What a step returns: context fields to merge, and a one-line summary for the log. */
export type StepOutput = Partial<ReconcileContext> & { summary: string }

export type Step = (ctx: ReconcileContext, deps: StepDeps, signal?: AbortSignal) => Promise<StepOutput>

/**
 * Record an action: in apply mode run it and record it as done; in plan mode only record it.
 * Returns the action's result, or undefined in plan mode.
 */
export async function act<T>(
  ctx: ReconcileContext,
  out: Change[],
  step: StepName,
  action: 'create' | 'update',
  what: string,
  fn: () => Promise<T>,
): Promise<T | undefined> {
  if (ctx.mode === 'plan') {
    out.push({ volume: ctx.spec.name, step, action, what, done: false })
    return undefined
  }
  const result = await fn()
  out.push({ volume: ctx.spec.name, step, action, what, done: true })
  return result
}

/** Record a fact that is already so. */
export function same(ctx: ReconcileContext, out: Change[], step: StepName, what: string): void {
  out.push({ volume: ctx.spec.name, step, action: 'none', what, done: ctx.mode === 'apply' })
}

import { reconcileVolume } from '../machines/reconcile.js'
import { ExitCode } from './errors.js'
import type { Host } from './hosts/host.js'
import { LinuxHost } from './hosts/linux/linux-host.js'
import { log } from './log.js'
import { countChanges, type VolumeResult } from './plan/change.js'
import { LocalProvider } from './providers/local/local-provider.js'
import type { Provider } from './providers/provider.js'
import type { ProviderConfig, ResolvedSpec } from './spec/types.js'
import { CheckpointStore } from './state/checkpoint.js'
import { acquireLock } from './state/lock.js'

export interface RunOptions {
  mode: 'apply' | 'plan'
  /** apply: how long to wait for another run's host lock; default 120 s. */
  lockTimeoutMs?: number
  /** Deterministic claim order for tests. */
  random?: () => number
}

/** Factories of the live boundaries; tests inject fakes that record calls. */
export interface RunDeps {
  createProvider?: (cfg: ProviderConfig) => Provider | Promise<Provider>
  createHost?: () => Host
}

export interface RunResult {
  mode: 'apply' | 'plan'
  source: string
  instanceId?: string
  volumes: VolumeResult[]
  exitCode: number
}

/** The provider a spec names. The AWS SDK is loaded only when the spec uses it. */
export async function defaultProvider(cfg: ProviderConfig): Promise<Provider> {
  if (cfg.kind === 'local') return new LocalProvider({ dir: cfg.dir })
  const { createAwsProvider } = await import('./providers/aws/aws-provider.js')
  return createAwsProvider(cfg)
}

/**
 * Reconcile every volume of a spec, each on its own machine: one failing does not stop the
 * others. apply holds the host lock and writes the checkpoint; plan changes nothing.
 */
export async function reconcile(
  spec: ResolvedSpec,
  opts: RunOptions,
  deps: RunDeps = {},
): Promise<RunResult> {
  const provider = await (deps.createProvider ?? defaultProvider)(spec.provider)
  const host = (deps.createHost ?? (() => new LinuxHost()))()
  const lock =
    opts.mode === 'apply'
      ? await acquireLock(`${spec.state}.lock`, {
          timeoutMs: opts.lockTimeoutMs,
          what: 'cps apply',
          onWait: (holder) => log.info(`waiting for the host lock ${spec.state}.lock, held by ${holder}`),
        })
      : undefined
  try {
    const checkpoint = await CheckpointStore.open(spec.state, { readOnly: opts.mode === 'plan' })
    const volumes: VolumeResult[] = []
    let instanceId: string | undefined
    for (const vol of spec.volumes) {
      const facts = checkpoint.all()
      const heldByOthers = new Set(
        Object.entries(facts)
          .filter(([name, f]) => name !== vol.name && f.volumeId)
          .map(([, f]) => f.volumeId as string),
      )
      const vlog = log.withTag(vol.name)
      const ctx = await reconcileVolume(
        { provider, host, checkpoint, log: vlog, heldByOthers, random: opts.random },
        vol,
        opts.mode,
      )
      instanceId ??= ctx.instanceId
      if (ctx.error)
        vlog.error({
          message: `${ctx.error.message}${ctx.error.hint ? `\n  hint: ${ctx.error.hint}` : ''}`,
          hint: ctx.error.hint,
          exitCode: ctx.error.exitCode,
        })
      volumes.push({
        name: vol.name,
        volumeId: ctx.volumeId,
        device: ctx.device,
        changes: ctx.changes,
        warnings: ctx.warnings,
        timings: ctx.timings,
        error: ctx.error,
      })
    }
    return { mode: opts.mode, source: spec.source, instanceId, volumes, exitCode: exitCodeOf(volumes) }
  } finally {
    await lock?.release()
  }
}

/** The first failed volume's code; otherwise 0. (plan --detailed-exitcode adds 2 in the CLI.) */
function exitCodeOf(volumes: VolumeResult[]): number {
  return volumes.find((v) => v.error)?.error?.exitCode ?? ExitCode.ok
}

/** True when a plan found something to do. */
export function hasChanges(result: RunResult): boolean {
  return result.volumes.some((v) => {
    const c = countChanges(v.changes)
    return c.add + c.change > 0
  })
}

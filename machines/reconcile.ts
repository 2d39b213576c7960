import { assign, createActor, fromPromise, setup, toPromise } from 'xstate'
import { CpsError } from '../lib/errors.js'
import { failpoint } from '../lib/failpoint.js'
import type { SerializedError, StepName } from '../lib/plan/change.js'
import type { ResolvedVolume } from '../lib/spec/types.js'
import { attach } from '../lib/steps/attach.js'
import { claim } from '../lib/steps/claim.js'
import type { ReconcileContext, Step, StepDeps, StepOutput } from '../lib/steps/context.js'
import { discover } from '../lib/steps/discover.js'
import { format } from '../lib/steps/format.js'
import { mount } from '../lib/steps/mount.js'
import { resize } from '../lib/steps/resize.js'

/** The steps by name; tests replace some with machine.provide(). */
export const stepFunctions: Record<StepName, Step> = { discover, claim, attach, format, resize, mount }

/** Serialise any error into the context (JSON only). */
export function serializeError(err: unknown): SerializedError {
  if (err instanceof CpsError)
    return {
      name: err.name,
      message: err.message,
      exitCode: err.exitCode,
      hint: err.hint,
      device: err.device,
    }
  return {
    name: 'Error',
    message: err instanceof Error ? (err.stack ?? err.message) : String(err),
    exitCode: 1,
  }
}

/** Wrap a step as a promise actor that times it, logs one line, and hits its failpoint after. */
function stepActor(name: StepName, fn: Step, deps: StepDeps) {
  return fromPromise<StepOutput & { ms: number }, ReconcileContext>(async ({ input, signal }) => {
    const started = performance.now()
    failpoint(`before-${name}`)
    const output = await fn(input, deps, signal)
    const ms = Math.round(performance.now() - started)
    deps.log.info({ message: `${name.padEnd(8)} ${output.summary} (${ms} ms)`, step: name, ms })
    failpoint(`after-${name}`)
    return { ...output, ms }
  })
}

/** Merge a step's output into the context: changes and warnings accumulate. */
export function merge(
  ctx: ReconcileContext,
  step: StepName,
  out: StepOutput & { ms: number },
): ReconcileContext {
  const { summary: _s, ms, changes, warnings, ...rest } = out
  // A step leaves a field alone by returning it undefined.
  const set = Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined))
  return {
    ...ctx,
    ...set,
    changes: [...ctx.changes, ...(changes ?? [])],
    warnings: [...ctx.warnings, ...(warnings ?? [])],
    timings: { ...ctx.timings, [step]: ms },
  }
}

/**
 * The reconcile machine of one spec volume: discover → claim → attach → format → resize →
 * mount, each state invoking one step that observes, then acts only on the difference. Any
 * step error ends in `failed` with the error in the context.
 */
export function createReconcileMachine(deps: StepDeps) {
  const actors = Object.fromEntries(
    (Object.keys(stepFunctions) as StepName[]).map((n) => [n, stepActor(n, stepFunctions[n], deps)]),
  ) as Record<StepName, ReturnType<typeof stepActor>>

  return setup({
    types: {
      context: {} as ReconcileContext,
      input: {} as ReconcileContext,
      output: {} as ReconcileContext,
    },
    actors,
  }).createMachine({
    id: 'reconcile',
    context: ({ input }) => input,
    initial: 'discover',
    states: {
      discover: {
        description: 'Find a pool volume already attached to this instance; list claim candidates.',
        invoke: {
          src: 'discover',
          input: ({ context }) => context,
          onDone: {
            target: 'claim',
            actions: assign(({ context, event }) => merge(context, 'discover', event.output)),
          },
          onError: {
            target: 'failed',
            actions: assign({ error: ({ event }) => serializeError(event.error) }),
          },
        },
      },
      claim: {
        description: 'Attach an available pool volume, or create one carrying its claim and format token.',
        invoke: {
          src: 'claim',
          input: ({ context }) => context,
          onDone: {
            target: 'attach',
            actions: assign(({ context, event }) => merge(context, 'claim', event.output)),
          },
          onError: {
            target: 'failed',
            actions: assign({ error: ({ event }) => serializeError(event.error) }),
          },
        },
      },
      attach: {
        description: 'Make the block device present and verify its identity.',
        invoke: {
          src: 'attach',
          input: ({ context }) => context,
          onDone: {
            target: 'format',
            actions: assign(({ context, event }) => merge(context, 'attach', event.output)),
          },
          onError: {
            target: 'failed',
            actions: assign({ error: ({ event }) => serializeError(event.error) }),
          },
        },
      },
      format: {
        description: 'mkfs only on a provably blank device with permission; else verify the filesystem.',
        invoke: {
          src: 'format',
          input: ({ context }) => context,
          onDone: {
            target: 'resize',
            actions: assign(({ context, event }) => merge(context, 'format', event.output)),
          },
          onError: {
            target: 'failed',
            actions: assign({ error: ({ event }) => serializeError(event.error) }),
          },
        },
      },
      resize: {
        description: 'Grow the volume to the spec size; grow an unmounted ext4 offline.',
        invoke: {
          src: 'resize',
          input: ({ context }) => context,
          onDone: {
            target: 'mount',
            actions: assign(({ context, event }) => merge(context, 'resize', event.output)),
          },
          onError: {
            target: 'failed',
            actions: assign({ error: ({ event }) => serializeError(event.error) }),
          },
        },
      },
      mount: {
        description: 'Mount with options, owner and mode; remount on drift; grow xfs/btrfs online.',
        invoke: {
          src: 'mount',
          input: ({ context }) => context,
          onDone: {
            target: 'done',
            actions: assign(({ context, event }) => merge(context, 'mount', event.output)),
          },
          onError: {
            target: 'failed',
            actions: assign({ error: ({ event }) => serializeError(event.error) }),
          },
        },
      },
      done: { type: 'final', description: 'Converged.' },
      failed: { type: 'final', description: 'A step failed; the error is in the context.' },
    },
    output: ({ context }) => context,
  })
}

/** The context a volume's run starts from. */
export function startContext(spec: ResolvedVolume, mode: 'apply' | 'plan' = 'apply'): ReconcileContext {
  return { mode, spec, changes: [], warnings: [], timings: {} }
}

/** Reconcile one spec volume to the end; an unexpected throw becomes the context's error. */
export async function reconcileVolume(
  deps: StepDeps,
  spec: ResolvedVolume,
  mode: 'apply' | 'plan' = 'apply',
): Promise<ReconcileContext> {
  const input = startContext(spec, mode)
  try {
    return await toPromise(createActor(createReconcileMachine(deps), { input }).start())
  } catch (err) {
    return { ...input, error: serializeError(err) }
  }
}

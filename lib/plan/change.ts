/** The reconcile steps, in order. */
export const steps = ['discover', 'claim', 'attach', 'format', 'resize', 'mount'] as const
export type StepName = (typeof steps)[number]

/** + makes something new, ~ changes something that exists, = is already so. */
export type Action = 'create' | 'update' | 'none'

/** One observed fact or one action, planned or done. */
export interface Change {
  volume: string
  step: StepName
  action: Action
  /** What it is, in words: "create volume (10 GiB, pool app=kafka)". */
  what: string
  /** True once applied; false in a plan. */
  done: boolean
}

/** The outcome of reconciling one spec volume. */
export interface VolumeResult {
  name: string
  volumeId?: string
  device?: string
  changes: Change[]
  warnings: string[]
  /** Milliseconds per step. */
  timings: Partial<Record<StepName, number>>
  error?: SerializedError
}

export interface SerializedError {
  name: string
  message: string
  exitCode: number
  hint?: string
  device?: string
}

/** Count the changes that do something (not the = lines). */
export function countChanges(changes: Change[]): { add: number; change: number } {
  return {
    add: changes.filter((c) => c.action === 'create').length,
    change: changes.filter((c) => c.action === 'update').length,
  }
}

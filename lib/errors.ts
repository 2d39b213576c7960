/** Exit codes of the cps command; documented in the README. */
export const ExitCode = {
  ok: 0,
  error: 1,
  changes: 2,
  refused: 3,
  locked: 4,
  provider: 5,
  host: 6,
} as const

export interface ErrorContext {
  /** What the user should do next. */
  hint?: string
  /** The spec volume (by name) or cloud volume id the error concerns. */
  volume?: string
  /** The block device the error concerns. */
  device?: string
  cause?: unknown
}

/** An expected failure: printed as its message and hint, without a stack. */
export class CpsError extends Error {
  readonly exitCode: number = ExitCode.error
  readonly hint?: string
  readonly volume?: string
  readonly device?: string

  constructor(message: string, ctx: ErrorContext = {}) {
    super(message, ctx.cause === undefined ? undefined : { cause: ctx.cause })
    this.name = new.target.name
    this.hint = ctx.hint
    this.volume = ctx.volume
    this.device = ctx.device
  }

  /** A JSON-safe view for --json output and JSON logs. */
  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      message: this.message,
      exitCode: this.exitCode,
      ...(this.hint && { hint: this.hint }),
      ...(this.volume && { volume: this.volume }),
      ...(this.device && { device: this.device }),
    }
  }
}

/** The spec or a flag is invalid; nothing was touched. */
export class ConfigError extends CpsError {}

/** A safety rule stopped cps: it will not act on this volume or device until a human looks. */
export class RefusalError extends CpsError {
  override readonly exitCode: number = ExitCode.refused
}

/** Another cps run holds the host lock. */
export class LockError extends CpsError {
  override readonly exitCode: number = ExitCode.locked
}

/** The provider (cloud or local catalog) failed or said no. */
export class ProviderError extends CpsError {
  override readonly exitCode: number = ExitCode.provider
  /** The provider's own error code, e.g. VolumeInUse. */
  readonly code?: string
  constructor(message: string, ctx: ErrorContext & { code?: string } = {}) {
    super(message, ctx)
    this.code = ctx.code
  }
}

/** A host command failed (mkfs, mount, losetup...); stderr is in the message. */
export class HostError extends CpsError {
  override readonly exitCode: number = ExitCode.host
}

/** The exit code an error maps to; unexpected errors are 1. */
export function exitCodeOf(err: unknown): number {
  return err instanceof CpsError ? err.exitCode : ExitCode.error
}

/**
 * Run a host or provider action; if it fails with a CpsError that has no hint, rethrow it with
 * the volume, device and hint of the step that called it.
 */
export async function withHint<T>(
  fn: () => Promise<T>,
  ctx: { volume?: string; device?: string; hint: string },
): Promise<T> {
  try {
    return await fn()
  } catch (err) {
    if (!(err instanceof CpsError) || err.hint) throw err
    const Kind = err.constructor as new (message: string, ctx: ErrorContext) => CpsError
    const prefix = [ctx.volume && `volume ${ctx.volume}`, ctx.device && `(${ctx.device})`]
      .filter(Boolean)
      .join(' ')
    throw new Kind(`${prefix ? `${prefix}: ` : ''}${err.message}`, { ...ctx, cause: err })
  }
}

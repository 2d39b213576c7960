import { readFile, rename } from 'node:fs/promises'
import { HostError } from '../errors.js'
import { log } from '../log.js'
import { writeJsonAtomic } from './atomic.js'

/** Facts cps learned about one spec volume. Hints only: each is re-verified before use. */
export interface VolumeFacts {
  /** The volume this host claimed or created. */
  volumeId?: string
  /** A claim in progress: its id derives the create ClientToken, so a retry never makes two. */
  claimId?: string
  /** The filesystem UUID cps gave the volume at mkfs. */
  fsUuid?: string
  /** mkfs was started at this time with this UUID; cleared when it finished and was tagged. */
  mkfsStarted?: { uuid: string; at: string }
  /** Where the device was last seen. */
  device?: string
  updatedAt?: string
}

/** The checkpoint file's content. */
export interface Checkpoint {
  version: 1
  volumes: Record<string, VolumeFacts>
}

const empty = (): Checkpoint => ({ version: 1, volumes: {} })

function isCheckpoint(x: unknown): x is Checkpoint {
  if (!x || typeof x !== 'object') return false
  const c = x as Record<string, unknown>
  return c.version === 1 && !!c.volumes && typeof c.volumes === 'object' && !Array.isArray(c.volumes)
}

/**
 * Read the checkpoint. A missing file is empty; a corrupt or foreign one is moved aside with a
 * warning (unless readOnly) and the run rediscovers from the cloud and the devices.
 */
export async function readCheckpoint(path: string, opts: { readOnly?: boolean } = {}): Promise<Checkpoint> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return empty()
    throw err
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    parsed = undefined
  }
  if (isCheckpoint(parsed)) return parsed
  if (opts.readOnly) {
    log.warn(`checkpoint ${path} is corrupt or not a cps v1 checkpoint; ignoring it`)
    return empty()
  }
  const aside = `${path}.corrupt-${new Date().toISOString().replace(/[:.]/g, '')}`
  await rename(path, aside)
  log.warn(
    `checkpoint ${path} was corrupt or not a cps v1 checkpoint; moved it to ${aside} and rediscovering`,
  )
  return empty()
}

/** Write the checkpoint atomically (see writeJsonAtomic). */
export async function writeCheckpoint(path: string, cp: Checkpoint): Promise<void> {
  await writeJsonAtomic(path, cp)
}

/** The checkpoint of one run: read once, updated fact by fact, each update written at once. */
export class CheckpointStore {
  private constructor(
    /** The file, or undefined for a store kept in memory (simulated fleets). */
    readonly path: string | undefined,
    private data: Checkpoint,
    private readonly readOnly: boolean,
  ) {}

  static async open(path: string, opts: { readOnly?: boolean } = {}): Promise<CheckpointStore> {
    return new CheckpointStore(path, await readCheckpoint(path, opts), !!opts.readOnly)
  }

  /** A store that lives in memory: simulated machines whose "disk" survives their crashes. */
  static inMemory(): CheckpointStore {
    return new CheckpointStore(undefined, { version: 1, volumes: {} }, false)
  }

  facts(name: string): VolumeFacts {
    return { ...this.data.volumes[name] }
  }

  /** Every volume's facts, for status and for excluding volumes other spec volumes hold. */
  all(): Record<string, VolumeFacts> {
    return structuredClone(this.data.volumes)
  }

  /** Merge facts for a volume (undefined removes a fact) and write the file before returning. */
  async update(name: string, patch: Partial<VolumeFacts>): Promise<void> {
    if (this.readOnly) return
    const next: VolumeFacts = { ...this.data.volumes[name], ...patch, updatedAt: new Date().toISOString() }
    for (const [k, v] of Object.entries(next)) if (v === undefined) delete next[k as keyof VolumeFacts]
    this.data = { ...this.data, volumes: { ...this.data.volumes, [name]: next } }
    if (!this.path) return
    try {
      await writeCheckpoint(this.path, this.data)
    } catch (err) {
      throw new HostError(
        `cannot write the checkpoint ${this.path}: ${(err as NodeJS.ErrnoException).code ?? err}`,
        {
          cause: err,
          hint: 'the checkpoint must be writable (and on a filesystem that survives reboots): check --state and the disk',
        },
      )
    }
  }
}

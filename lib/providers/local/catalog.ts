import { randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { ProviderError } from '../../errors.js'
import { writeJsonAtomic } from '../../state/atomic.js'
import { acquireLock } from '../../state/lock.js'
import type { Volume } from '../provider.js'

/** The local provider's catalog.json: the "cloud" state of every local volume. */
export interface Catalog {
  version: 1
  volumes: Record<string, Volume>
  /** CreateVolume idempotency: client token → volume id. */
  clientTokens: Record<string, string>
}

export const catalogPath = (dir: string): string => join(dir, 'catalog.json')
export const imagePath = (dir: string, id: string): string => join(dir, 'images', `${id}.img`)

/** A new volume id shaped like EBS's: vol- and 17 hex digits. */
export function newVolumeId(): string {
  return `vol-${randomBytes(9).toString('hex').slice(0, 17)}`
}

/** Read the catalog; a missing one is empty. A corrupt one is an error: it is the only record. */
export async function readCatalog(dir: string): Promise<Catalog> {
  const path = catalogPath(dir)
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, volumes: {}, clientTokens: {} }
    throw new ProviderError(`cannot read local catalog ${path}: ${(err as Error).message}`, { cause: err })
  }
  try {
    const c = JSON.parse(text) as Catalog
    if (c.version !== 1 || typeof c.volumes !== 'object') throw new Error('not a cps v1 catalog')
    c.clientTokens ??= {}
    return c
  } catch (cause) {
    throw new ProviderError(`local catalog ${path} is corrupt: ${(cause as Error).message}`, {
      cause,
      hint: 'it is the only record of which image belongs to which pool; restore it from a backup or fix it by hand',
    })
  }
}

/** Read-modify-write the catalog under its own lock, so machines sharing a directory never race. */
export async function updateCatalog<T>(dir: string, fn: (c: Catalog) => T | Promise<T>): Promise<T> {
  const lock = await acquireLock(join(dir, 'catalog.lock'), {
    timeoutMs: 30_000,
    what: 'local catalog update',
  })
  try {
    const catalog = await readCatalog(dir)
    const result = await fn(catalog)
    await writeJsonAtomic(catalogPath(dir), catalog)
    return result
  } finally {
    await lock.release()
  }
}

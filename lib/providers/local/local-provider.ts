import { readFileSync } from 'node:fs'
import { mkdir, open, stat, truncate } from 'node:fs/promises'
import { hostname } from 'node:os'
import { dirname } from 'node:path'
import { ProviderError } from '../../errors.js'
import { type Exec, systemExec } from '../../exec.js'
import { devPath, type Roots, rootsFromEnv } from '../../hosts/roots.js'
import type { CreateVolumeRequest, ExpectedIdentity, Provider, Volume } from '../provider.js'
import { inPool } from '../provider.js'
import { imagePath, newVolumeId, readCatalog, updateCatalog } from './catalog.js'

const GiB = 1024 ** 3

export interface LocalProviderOptions {
  dir: string
  exec?: Exec
  roots?: Roots
  /** This machine's id; default CPS_INSTANCE_ID, /etc/machine-id, then the hostname. */
  instanceId?: string
}

function defaultInstanceId(): string {
  if (process.env.CPS_INSTANCE_ID) return process.env.CPS_INSTANCE_ID
  try {
    const id = readFileSync('/etc/machine-id', 'utf8').trim()
    if (id) return `local-${id.slice(0, 12)}`
  } catch {}
  return `local-${hostname()}`
}

interface LoopEntry {
  name: string
  'back-file': string | null
}

/**
 * The embedded provider: each volume is a sparse image file in `dir/images`, its tags and
 * attachment live in `dir/catalog.json`, and attaching makes a loop device.
 */
export class LocalProvider implements Provider {
  readonly kind = 'local'
  private readonly exec: Exec
  private readonly roots: Roots
  private readonly id: string

  constructor(private readonly opts: LocalProviderOptions) {
    this.exec = opts.exec ?? systemExec
    this.roots = opts.roots ?? rootsFromEnv()
    this.id = opts.instanceId ?? defaultInstanceId()
  }

  get dir(): string {
    return this.opts.dir
  }

  async instanceId(): Promise<string> {
    return this.id
  }

  private async pool(tags: Record<string, string>): Promise<Volume[]> {
    const c = await readCatalog(this.dir)
    return Object.values(c.volumes)
      .filter((v) => inPool(v, tags))
      .sort((a, b) => a.id.localeCompare(b.id))
  }

  async findAttached(tags: Record<string, string>): Promise<Volume[]> {
    return (await this.pool(tags)).filter((v) => v.attachedTo === this.id)
  }

  /** The catalog is small and local: one page holds every available volume. */
  async listAvailable(tags: Record<string, string>): Promise<{ volumes: Volume[] }> {
    return { volumes: (await this.pool(tags)).filter((v) => v.state === 'available' && !v.attachedTo) }
  }

  async getVolume(id: string): Promise<Volume | undefined> {
    return (await readCatalog(this.dir)).volumes[id]
  }

  async createVolume(req: CreateVolumeRequest): Promise<Volume> {
    return updateCatalog(this.dir, async (c) => {
      const known = c.clientTokens[req.clientToken]
      if (known && c.volumes[known]) return c.volumes[known]
      const id = newVolumeId()
      const file = imagePath(this.dir, id)
      await mkdir(dirname(file), { recursive: true, mode: 0o700 })
      const fh = await open(file, 'wx', 0o600)
      await fh.truncate(req.sizeGiB * GiB)
      await fh.sync()
      await fh.close()
      const vol: Volume = {
        id,
        sizeGiB: req.sizeGiB,
        state: 'available',
        tags: { ...req.tags },
        createdAt: new Date().toISOString(),
      }
      c.volumes[id] = vol
      c.clientTokens[req.clientToken] = id
      return vol
    })
  }

  async attachVolume(target: Volume): Promise<Volume> {
    const id = target.id
    return updateCatalog(this.dir, (c) => {
      const vol = c.volumes[id]
      if (!vol)
        throw new ProviderError(`volume ${id} does not exist in the local catalog`, {
          code: 'InvalidVolume.NotFound',
          volume: id,
        })
      if (vol.attachedTo && vol.attachedTo !== this.id)
        throw new ProviderError(`volume ${id} is attached to ${vol.attachedTo}`, {
          code: 'VolumeInUse',
          volume: id,
        })
      vol.state = 'in-use'
      vol.attachedTo = this.id
      return { ...vol }
    })
  }

  private async loops(): Promise<LoopEntry[]> {
    const { stdout } = await this.exec('losetup', ['--json', '--list', '--output', 'NAME,BACK-FILE'])
    if (!stdout.trim()) return []
    return (JSON.parse(stdout) as { loopdevices: LoopEntry[] }).loopdevices
  }

  /** The kernel loop device backed by this volume's image, if one is set up. */
  private async loopOf(vol: Volume): Promise<string | undefined> {
    const file = imagePath(this.dir, vol.id)
    const hit = (await this.loops()).find((l) => l['back-file'] === file)
    return hit?.name
  }

  async findDevice(vol: Volume): Promise<string | undefined> {
    const loop = await this.loopOf(vol)
    return loop && devPath(this.roots, loop)
  }

  async ensureDevice(vol: Volume): Promise<string> {
    const existing = await this.findDevice(vol)
    if (existing) return existing
    const file = imagePath(this.dir, vol.id)
    await stat(file).catch((cause) => {
      throw new ProviderError(`image file ${file} of volume ${vol.id} is missing`, {
        cause,
        volume: vol.id,
        hint: 'the local catalog lists a volume whose image is gone; restore the image or remove the entry',
      })
    })
    const { stdout } = await this.exec('losetup', ['--find', '--show', file])
    return devPath(this.roots, stdout.trim())
  }

  expectedIdentity(vol: Volume): ExpectedIdentity {
    return { backingFile: imagePath(this.dir, vol.id) }
  }

  async growVolume(vol: Volume, sizeGiB: number): Promise<void> {
    if (sizeGiB <= vol.sizeGiB) return
    await updateCatalog(this.dir, async (c) => {
      const current = c.volumes[vol.id]
      if (!current)
        throw new ProviderError(`volume ${vol.id} vanished from the local catalog`, { volume: vol.id })
      if (sizeGiB <= current.sizeGiB) return
      await truncate(imagePath(this.dir, vol.id), sizeGiB * GiB)
      current.sizeGiB = sizeGiB
    })
    const loop = await this.loopOf(vol)
    if (loop) await this.exec('losetup', ['--set-capacity', loop])
  }

  async setTags(id: string, tags: Record<string, string>): Promise<void> {
    await updateCatalog(this.dir, (c) => {
      const vol = c.volumes[id]
      if (!vol)
        throw new ProviderError(`volume ${id} does not exist in the local catalog`, {
          code: 'InvalidVolume.NotFound',
          volume: id,
        })
      Object.assign(vol.tags, tags)
    })
  }

  async deleteTags(id: string, keys: string[]): Promise<void> {
    await updateCatalog(this.dir, (c) => {
      const vol = c.volumes[id]
      if (!vol) return
      for (const k of keys) delete vol.tags[k]
    })
  }
}

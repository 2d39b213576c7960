import { ProviderError } from '../../errors.js'
import type { FakeHost } from '../../hosts/fake/fake-host.js'
import type { CreateVolumeRequest, ExpectedIdentity, Provider, Volume } from '../provider.js'
import { inPool } from '../provider.js'

const GiB = 1024 ** 3

/**
 * An in-memory Provider for unit tests, wired to a FakeHost: attaching makes a fake device
 * appear there. Every call is appended to `calls`.
 */
export class FakeProvider implements Provider {
  readonly kind = 'fake'
  readonly volumes = new Map<string, Volume>()
  readonly tokens = new Map<string, string>()
  readonly calls: string[] = []
  private next = 1

  constructor(
    readonly host: FakeHost,
    readonly me = 'i-self',
  ) {}

  /** Put a volume in the "cloud" (test setup; not recorded as a call). */
  addVolume(v: Partial<Volume> & { tags: Record<string, string> }): Volume {
    const id = v.id ?? `vol-${String(this.next++).padStart(17, '0')}`
    // The tags are copied: setTags must not write into the caller's object (often the pool tags).
    const vol: Volume = {
      id,
      sizeGiB: 1,
      state: 'available',
      createdAt: new Date(0).toISOString(),
      ...v,
      tags: { ...v.tags },
    }
    this.volumes.set(id, vol)
    return vol
  }

  devicePath(id: string): string {
    return `/dev/fake-${id}`
  }

  async instanceId(): Promise<string> {
    return this.me
  }

  async findAttached(tags: Record<string, string>): Promise<Volume[]> {
    this.calls.push('findAttached')
    return [...this.volumes.values()]
      .filter((v) => inPool(v, tags) && v.attachedTo === this.me)
      .map((v) => structuredClone(v))
  }

  async listAvailable(tags: Record<string, string>): Promise<{ volumes: Volume[] }> {
    this.calls.push('listAvailable')
    const volumes = [...this.volumes.values()].filter(
      (v) => inPool(v, tags) && v.state === 'available' && !v.attachedTo,
    )
    return { volumes: volumes.map((v) => structuredClone(v)) }
  }

  async getVolume(id: string): Promise<Volume | undefined> {
    const v = this.volumes.get(id)
    return v && structuredClone(v)
  }

  async createVolume(req: CreateVolumeRequest): Promise<Volume> {
    this.calls.push(`createVolume ${req.sizeGiB}`)
    const known = this.tokens.get(req.clientToken)
    if (known) return structuredClone(this.volumes.get(known) as Volume)
    const vol = this.addVolume({
      sizeGiB: req.sizeGiB,
      tags: { ...req.tags },
      createdAt: new Date().toISOString(),
    })
    this.tokens.set(req.clientToken, vol.id)
    return structuredClone(vol)
  }

  async attachVolume(target: Volume): Promise<Volume> {
    const id = target.id
    this.calls.push(`attachVolume ${id}`)
    const v = this.volumes.get(id)
    if (!v) throw new ProviderError(`no volume ${id}`, { code: 'InvalidVolume.NotFound' })
    if (v.attachedTo && v.attachedTo !== this.me)
      throw new ProviderError(`${id} in use`, { code: 'VolumeInUse' })
    v.attachedTo = this.me
    v.state = 'in-use'
    return structuredClone(v)
  }

  async findDevice(vol: Volume): Promise<string | undefined> {
    const path = this.devicePath(vol.id)
    return (await this.host.identity(path)) ? path : undefined
  }

  async ensureDevice(vol: Volume): Promise<string> {
    this.calls.push(`ensureDevice ${vol.id}`)
    const path = this.devicePath(vol.id)
    if (!(await this.host.identity(path)))
      this.host.addDevice(path, { backingFile: `/images/${vol.id}`, sizeBytes: vol.sizeGiB * GiB })
    return path
  }

  expectedIdentity(vol: Volume): ExpectedIdentity {
    return { backingFile: `/images/${vol.id}` }
  }

  async growVolume(vol: Volume, sizeGiB: number): Promise<void> {
    this.calls.push(`growVolume ${vol.id} ${sizeGiB}`)
    const v = this.volumes.get(vol.id) as Volume
    v.sizeGiB = Math.max(v.sizeGiB, sizeGiB)
    const dev = this.host.devices.get(this.devicePath(vol.id))
    if (dev) dev.sizeBytes = v.sizeGiB * GiB
  }

  async setTags(id: string, tags: Record<string, string>): Promise<void> {
    this.calls.push(`setTags ${id} ${Object.keys(tags).join(',')}`)
    Object.assign((this.volumes.get(id) as Volume).tags, tags)
  }

  async deleteTags(id: string, keys: string[]): Promise<void> {
    this.calls.push(`deleteTags ${id} ${keys.join(',')}`)
    const v = this.volumes.get(id) as Volume
    for (const k of keys) delete v.tags[k]
  }
}

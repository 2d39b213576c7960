import { HostError } from '../../errors.js'
import type { FsType } from '../../spec/types.js'
import type { DeviceIdentity, Edges, Host, MkfsRequest, MountInfo, Probe, Signature } from '../host.js'

/** A block device in the fake host. */
export interface FakeDevice {
  realPath: string
  backingFile?: string
  serial?: string
  sizeBytes: number
  signatures: Signature[]
  ambivalent?: boolean
  edges: Edges
  /** Bytes the filesystem spans. */
  fsBytes?: number
  /** Make probe or readEdges fail, as a broken disk would. */
  probeFails?: boolean
  unreadable?: boolean
}

/**
 * An in-memory Host for unit tests. Every mutating call is appended to `actions`, which tests
 * assert on (like kubernetes' fake mounter).
 */
export class FakeHost implements Host {
  readonly devices = new Map<string, FakeDevice>()
  /** Symlinks: path → target path. */
  readonly links = new Map<string, string>()
  readonly mounts = new Map<string, MountInfo>()
  readonly dirs = new Map<string, { uid: number; gid: number; mode: number }>()
  readonly actions: string[] = []
  /** Mount options the "kernel" silently drops on remount. */
  ignoredOnRemount = new Set<string>()
  failGrowOnline = false

  addDevice(path: string, dev: Partial<FakeDevice> & { sizeBytes: number }): FakeDevice {
    const full: FakeDevice = {
      realPath: path,
      signatures: [],
      edges: { firstZero: true, lastZero: true, backupGpt: false },
      ...dev,
    }
    this.devices.set(full.realPath, full)
    return full
  }

  private resolve(path: string): FakeDevice | undefined {
    return this.devices.get(this.links.get(path) ?? path)
  }

  private must(path: string): FakeDevice {
    const d = this.resolve(path)
    if (!d) throw new HostError(`no such device ${path}`, { device: path })
    return d
  }

  async identity(path: string): Promise<DeviceIdentity | undefined> {
    const d = this.resolve(path)
    if (!d) return undefined
    return {
      path,
      realPath: d.realPath,
      backingFile: d.backingFile,
      serial: d.serial,
      sizeBytes: d.sizeBytes,
    }
  }

  async probe(device: string): Promise<Probe> {
    const d = this.must(device)
    if (d.probeFails) throw new HostError(`blkid -p -o export ${device} exited 4: probe failed`, { device })
    return { signatures: d.signatures.map((s) => ({ ...s })), ambivalent: !!d.ambivalent }
  }

  async readEdges(device: string): Promise<Edges> {
    const d = this.must(device)
    if (d.unreadable) throw new HostError(`cannot read the first and last MiB of ${device}: EIO`, { device })
    return { ...d.edges }
  }

  async mkfs(device: string, req: MkfsRequest): Promise<void> {
    const d = this.must(device)
    this.actions.push(
      `mkfs ${req.type} ${device} uuid=${req.uuid}${req.label ? ` label=${req.label}` : ''}${req.force ? ' force' : ''}`,
    )
    d.signatures = [{ type: req.type, uuid: req.uuid, label: req.label, usage: 'filesystem' }]
    d.edges = { firstZero: false, lastZero: d.edges.lastZero, backupGpt: false }
    d.fsBytes = d.sizeBytes
  }

  async filesystemSize(device: string, _type: FsType): Promise<number> {
    return this.must(device).fsBytes ?? 0
  }

  async growOffline(device: string, type: FsType): Promise<void> {
    const d = this.must(device)
    this.actions.push(`grow-offline ${type} ${device}`)
    d.fsBytes = d.sizeBytes
  }

  async growOnline(device: string, type: FsType, mountpoint: string): Promise<void> {
    if (this.failGrowOnline)
      throw new HostError(`resize2fs ${device} exited 1: Permission denied to resize filesystem`)
    const d = this.must(device)
    this.actions.push(`grow-online ${type} ${mountpoint}`)
    d.fsBytes = d.sizeBytes
  }

  async findMount(path: string): Promise<MountInfo | undefined> {
    const m = this.mounts.get(path)
    return m && { ...m, options: [...m.options] }
  }

  async mountsOf(device: string): Promise<MountInfo[]> {
    const real = this.resolve(device)?.realPath ?? device
    return [...this.mounts.values()].filter((m) => (this.resolve(m.source)?.realPath ?? m.source) === real)
  }

  async mount(device: string, path: string, type: FsType, options: string[]): Promise<void> {
    const d = this.must(device)
    this.actions.push(`mount ${device} ${path} ${type} ${options.join(',')}`)
    this.mounts.set(path, {
      target: path,
      source: d.realPath,
      fstype: type,
      options: ['rw', 'relatime', ...options],
      uuid: d.signatures[0]?.uuid,
    })
    this.dirs.set(path, { uid: 0, gid: 0, mode: 0o755 })
  }

  async remount(path: string, options: string[]): Promise<void> {
    const m = this.mounts.get(path)
    if (!m) throw new HostError(`mount: ${path}: not mounted`)
    this.actions.push(`remount ${path} ${options.join(',')}`)
    for (const o of options) if (!m.options.includes(o) && !this.ignoredOnRemount.has(o)) m.options.push(o)
  }

  async ensureDir(path: string): Promise<void> {
    if (!this.dirs.has(path)) {
      this.actions.push(`mkdir ${path}`)
      this.dirs.set(path, { uid: 0, gid: 0, mode: 0o755 })
    }
  }

  async statDir(path: string): Promise<{ uid: number; gid: number; mode: number }> {
    const d = this.dirs.get(path)
    if (!d) throw new HostError(`no such directory ${path}`)
    return { ...d }
  }

  async chown(path: string, uid: number, gid: number): Promise<void> {
    this.actions.push(`chown ${path} ${uid}:${gid}`)
    Object.assign(this.dirs.get(path) ?? {}, { uid, gid })
  }

  async chmod(path: string, mode: number): Promise<void> {
    this.actions.push(`chmod ${path} ${mode.toString(8)}`)
    Object.assign(this.dirs.get(path) ?? {}, { mode })
  }
}

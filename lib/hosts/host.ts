import type { FsType } from '../spec/types.js'

/** What a block device says about itself. */
export interface DeviceIdentity {
  /** The path asked about. */
  path: string
  /** The kernel device after following symlinks, e.g. /dev/loop3. */
  realPath: string
  /** Loop devices: the file behind it. */
  backingFile?: string
  /** NVMe and other disks: the serial number, trimmed. */
  serial?: string
  sizeBytes: number
}

/** A filesystem or partition-table signature found on a device. */
export interface Signature {
  type: string
  uuid?: string
  label?: string
  /** 'filesystem', 'partition_table', 'raid', ... */
  usage?: string
}

/** The result of probing a device: nothing found, or every signature found. */
export interface Probe {
  signatures: Signature[]
  /** blkid found several conflicting signatures (exit 8). */
  ambivalent: boolean
}

/** The first and last MiB of a device, as read. */
export interface Edges {
  firstZero: boolean
  lastZero: boolean
  /** A backup GPT header ("EFI PART") in the last sector: a partitioned disk whose front was wiped. */
  backupGpt: boolean
}

/** A mounted filesystem, from findmnt. */
export interface MountInfo {
  target: string
  source: string
  fstype: string
  options: string[]
  uuid?: string
}

export interface MkfsRequest {
  type: FsType
  uuid: string
  label?: string
  options: string[]
  /** Overwrite a partial signature (only when redoing an interrupted mkfs). */
  force: boolean
}

/** The OS boundary: devices, filesystems, mounts. Implemented by LinuxHost and FakeHost. */
export interface Host {
  /** Identity of the device at path; undefined when there is no block device there. */
  identity(path: string): Promise<DeviceIdentity | undefined>
  /** blkid and wipefs; throws HostError when the probe itself fails. */
  probe(device: string): Promise<Probe>
  /** Read the first and last MiB; throws HostError when they cannot be read. */
  readEdges(device: string): Promise<Edges>
  mkfs(device: string, req: MkfsRequest): Promise<void>
  /** Bytes the filesystem spans (mountpoint given for fs types that need one). */
  filesystemSize(device: string, type: FsType, mountpoint?: string): Promise<number>
  /** Check the unmounted fs (e2fsck -f) and grow it to fill the device. ext4 only. */
  growOffline(device: string, type: FsType): Promise<void>
  /** Grow a mounted filesystem to fill its device. */
  growOnline(device: string, type: FsType, mountpoint: string): Promise<void>
  findMount(path: string): Promise<MountInfo | undefined>
  /** Every place the device is mounted. */
  mountsOf(device: string): Promise<MountInfo[]>
  mount(device: string, path: string, type: FsType, options: string[]): Promise<void>
  remount(path: string, options: string[]): Promise<void>
  /** Create the mount point (mode 0755) if missing. */
  ensureDir(path: string): Promise<void>
  statDir(path: string): Promise<{ uid: number; gid: number; mode: number }>
  chown(path: string, uid: number, gid: number): Promise<void>
  chmod(path: string, mode: number): Promise<void>
}

/** The part of mount options that says what is asked; rw/defaults are implied. */
export function missingOptions(want: string[], have: string[]): string[] {
  const present = new Set(have)
  return want.filter((o) => o !== 'defaults' && !present.has(o) && !(o === 'rw' && !present.has('ro')))
}

import type { CreateOptions } from '../spec/types.js'

/** A volume as the provider reports it. */
export interface Volume {
  id: string
  sizeGiB: number
  /** 'other': deleting, deleted, error: never a candidate. */
  state: 'creating' | 'available' | 'in-use' | 'other'
  tags: Record<string, string>
  /** Instance the volume is attached to, if any. */
  attachedTo?: string
  /** The device name of that attachment in the cloud API (aws: /dev/sdf). */
  device?: string
  createdAt: string
}

/**
 * What a block device must show to be this volume (rule 2: identity before touching): a loop
 * device's backing file, an NVMe serial, or (Xen, which has no serial) one of the kernel names
 * of the attachment's device.
 */
export type ExpectedIdentity = { backingFile: string } | { serial: string } | { kernelNames: string[] }

export interface CreateVolumeRequest {
  sizeGiB: number
  tags: Record<string, string>
  /** Cloud options (aws: type, iops, throughput, encryption, snapshot). */
  options?: CreateOptions
  /** Idempotency token: the same token returns the same volume, never a second one. */
  clientToken: string
}

/** The cloud boundary: volumes, attachments, tags. Implemented by LocalProvider and FakeProvider. */
export interface Provider {
  readonly kind: string
  /**
   * Volumes per second the cloud lets one account attach, when it throttles attaches (aws: 5,
   * EC2's AttachVolume refill). Claiming paces its retries by it; absent, it never has to.
   */
  readonly attachRate?: number
  /** This machine's id in the provider (the instance id). */
  instanceId(): Promise<string>
  /** The pool's volumes attached to this instance (a converged boot needs only this call). */
  findAttached(tags: Record<string, string>): Promise<Volume[]>
  /**
   * One page of the pool's available volumes; pass the returned cursor for the next. Claiming
   * reads only as many pages as it needs.
   */
  listAvailable(
    tags: Record<string, string>,
    cursor?: string,
  ): Promise<{ volumes: Volume[]; cursor?: string }>
  getVolume(id: string): Promise<Volume | undefined>
  createVolume(req: CreateVolumeRequest): Promise<Volume>
  /**
   * Attach the volume to this instance: the atomic claim. Throws ProviderError with code
   * VolumeInUse when another instance has it. Attaching a volume already ours is a no-op.
   */
  attachVolume(vol: Volume): Promise<Volume>
  /** Path of the volume's block device on this host, if it is there (observe only). */
  findDevice(vol: Volume): Promise<string | undefined>
  /** Make the volume's block device appear on this host (or wait for it) and return its path. */
  ensureDevice(vol: Volume): Promise<string>
  /** What the device found at `device` must show to be this volume. */
  expectedIdentity(vol: Volume, device: string): ExpectedIdentity
  /** Grow the volume to sizeGiB (never shrinks) so the device shows the new size. */
  growVolume(vol: Volume, sizeGiB: number): Promise<void>
  /**
   * Set (overwrite) tags. `once`: a throttled write is thrown at once instead of waited out, for
   * a caller whose write must follow its read closely (a consensus claim re-reads first).
   */
  setTags(id: string, tags: Record<string, string>, opts?: { once?: boolean }): Promise<void>
  deleteTags(id: string, keys: string[]): Promise<void>
}

/** Tags cps puts on volumes; users' pool tags may not start with `cps:`. */
export const Tag = {
  /** Present from birth on volumes cps created: permission to mkfs a blank device. */
  formatToken: 'cps:format-token',
  /** The filesystem UUID cps made; the device must show it before any mount. */
  fsUuid: 'cps:fs-uuid',
  /** The instance a volume was created for; neighbours skip it while it is young. */
  createdFor: 'cps:created-for',
  /** The spec volume name it was created for. */
  name: 'cps:name',
  /** claim: consensus — the claimer's random token, and when it claimed (ISO time). */
  claimToken: 'cps:claim-token',
  claimTime: 'cps:claim-time',
} as const

/** Does the volume carry every pool tag? */
export function inPool(vol: Volume, tags: Record<string, string>): boolean {
  return Object.entries(tags).every(([k, v]) => vol.tags[k] === v)
}

/** Render pool tags for messages: app=kafka,env=prod. */
export function describeTags(tags: Record<string, string>): string {
  return Object.entries(tags)
    .map(([k, v]) => `${k}=${v}`)
    .join(',')
}

import { createHash } from 'node:crypto'
import {
  type AttachVolumeCommandInput,
  type CreateSnapshotCommandInput,
  type CreateTagsCommandInput,
  type CreateVolumeCommandInput,
  type DeleteTagsCommandInput,
  type DescribeInstancesCommandInput,
  type DescribeSnapshotsCommandInput,
  type DescribeVolumesCommandInput,
  type DescribeVolumesModificationsCommandInput,
  EC2ServiceException,
  type Filter,
  type ModifyVolumeCommandInput,
  type Snapshot,
  type Volume,
  type VolumeModification,
} from '@aws-sdk/client-ec2'
import { VirtualClock } from './virtual-clock.js'

/**
 * Latencies of the simulated EC2, in virtual ms. Defaults follow what AWS documents and what
 * operators report: CreateVolume to available ~1.5 s (tail to 4 s), attach 1–4 s, a size
 * modification reaches optimizing in seconds.
 */
export interface SimLatency {
  createMs: () => number
  attachMs: () => number
  modifyOptimizingMs: number
  modifyCompletedMs: number
  snapshotMs: number
}

/** A token bucket: `capacity` calls at once, refilled at `perSecond`. */
export interface Bucket {
  capacity: number
  perSecond: number
}

/**
 * EC2's published per-account, per-Region, per-action buckets (docs: "Request throttling for
 * the Amazon EC2 API", ec2-api-throttling.html; see ../shared/FACTS.md §2). DescribeVolumes
 * with a filter or pagination is 100/20; unfiltered 50/10.
 */
export const ec2Buckets: Record<string, Bucket> = {
  DescribeVolumes: { capacity: 100, perSecond: 20 },
  DescribeVolumesModifications: { capacity: 100, perSecond: 20 },
  DescribeInstances: { capacity: 100, perSecond: 20 },
  DescribeSnapshots: { capacity: 100, perSecond: 20 },
  CreateVolume: { capacity: 100, perSecond: 5 },
  CreateSnapshot: { capacity: 100, perSecond: 5 },
  AttachVolume: { capacity: 50, perSecond: 5 },
  DetachVolume: { capacity: 50, perSecond: 5 },
  ModifyVolume: { capacity: 50, perSecond: 5 },
  CreateTags: { capacity: 100, perSecond: 10 },
  DeleteTags: { capacity: 100, perSecond: 10 },
}

/**
 * Injected faults: each call fails with this probability — as a server fault or throttling
 * before EC2 acts, or as a timeout after it acted (the response is lost).
 */
export interface SimFaults {
  rate: number
}

export interface SimOptions {
  clock?: VirtualClock
  faults?: SimFaults
  /** Throttle calls with these buckets (e.g. ec2Buckets); off by default. */
  throttle?: Record<string, Bucket>
  latency?: Partial<SimLatency>
  /** Largest page DescribeVolumes returns (EC2: 500). */
  maxPage?: number
  /** Modifications allowed per volume per rolling 24 h (the rule since 2026-01; before: one per 6 h). */
  modificationsPerDay?: number
  /** Deterministic randomness for latencies and ids. */
  random?: () => number
}

/** What happens on an instance's side when EC2 changes a volume: a device appears or grows. */
export interface InstanceHooks {
  attached?(volumeId: string, device: string, sizeGiB: number): void | Promise<void>
  resized?(volumeId: string, sizeGiB: number): void | Promise<void>
}

interface SimVolume {
  id: string
  az: string
  size: number
  type: string
  iops?: number
  throughput?: number
  encrypted: boolean
  kmsKeyId?: string
  snapshotId?: string
  multiAttach: boolean
  tags: Map<string, string>
  createTime: number
  state: 'creating' | 'available' | 'in-use' | 'error'
  attachment?: { instanceId: string; device: string; state: 'attaching' | 'attached'; time: number }
  modifications: VolumeModification[]
}

interface SimInstance {
  id: string
  az: string
  rootDevice: string
  /** device name → volume id */
  devices: Map<string, string>
  hooks: InstanceHooks
}

interface SimSnapshot {
  id: string
  volumeId?: string
  size: number
  state: 'pending' | 'completed'
  startTime: number
  tags: Map<string, string>
}

/** An EC2 error as the SDK raises it: name and Code are the EC2 error code. */
export function simError(code: string, message: string): EC2ServiceException {
  const e = new EC2ServiceException({
    name: code,
    $fault: code === 'RequestLimitExceeded' ? 'server' : 'client',
    message,
    $metadata: { httpStatusCode: 400 },
  })
  Object.assign(e, { Code: code })
  return e
}

const hex = (n: number, random: () => number) =>
  Array.from({ length: n }, () => Math.floor(random() * 16).toString(16)).join('')

/**
 * An in-process, stateful model of the EC2 volume API: volumes (creating → available → in-use,
 * attachments attaching → attached), instances in zones, tags and filters, snapshots (pending →
 * completed), modifications (modifying → optimizing → completed), MaxResults/NextToken paging
 * and EC2's error codes. Time is a VirtualClock. Every call is recorded in `calls`.
 */
export class Ec2Simulator {
  readonly clock: VirtualClock
  readonly calls: { command: string; input: unknown; at: number; throttled: boolean }[] = []
  private readonly volumes = new Map<string, SimVolume>()
  private readonly instances = new Map<string, SimInstance>()
  private readonly snapshots = new Map<string, SimSnapshot>()
  private readonly tokens = new Map<string, { volumeId: string; hash: string }>()
  private readonly latency: SimLatency
  private readonly random: () => number
  private readonly maxPage: number
  private readonly modsPerDay: number
  private readonly buckets = new Map<string, { bucket: Bucket; tokens: number; at: number }>()
  /** Calls refused with RequestLimitExceeded, by command. */
  readonly throttled = new Map<string, number>()
  /** Faults injected, by kind. */
  readonly injected = new Map<string, number>()
  private readonly faults?: SimFaults
  private loseNext = false

  constructor(opts: SimOptions = {}) {
    this.clock = opts.clock ?? new VirtualClock()
    this.random = opts.random ?? Math.random
    const r = this.random
    this.latency = {
      createMs: () => 1000 + r() * r() * 3000,
      attachMs: () => 1000 + r() * 3000,
      modifyOptimizingMs: 3000,
      modifyCompletedMs: 60_000,
      snapshotMs: 30_000,
      ...opts.latency,
    }
    this.maxPage = opts.maxPage ?? 500
    this.modsPerDay = opts.modificationsPerDay ?? 4
    this.faults = opts.faults
    for (const [cmd, bucket] of Object.entries(opts.throttle ?? {}))
      this.buckets.set(cmd, { bucket, tokens: bucket.capacity, at: this.clock.now() })
  }

  // ---- test setup ---------------------------------------------------------------------------

  hasInstance(id: string): boolean {
    return this.instances.has(id)
  }

  addInstance(id: string, az: string, hooks: InstanceHooks = {}): void {
    this.instances.set(id, {
      id,
      az,
      rootDevice: '/dev/xvda',
      devices: new Map([['/dev/xvda', 'vol-root']]),
      hooks,
    })
  }

  /** A volume that exists already (made elsewhere, or by an earlier fleet). */
  addVolume(v: {
    az: string
    size: number
    tags?: Record<string, string>
    type?: string
    multiAttach?: boolean
    id?: string
  }): string {
    const id = v.id ?? `vol-${hex(17, this.random)}`
    this.volumes.set(id, {
      id,
      az: v.az,
      size: v.size,
      type: v.type ?? 'gp3',
      encrypted: false,
      multiAttach: !!v.multiAttach,
      tags: new Map(Object.entries(v.tags ?? {})),
      createTime: this.clock.now() - 86_400_000,
      state: 'available',
      modifications: [],
    })
    return id
  }

  addSnapshot(s: {
    size: number
    tags?: Record<string, string>
    completed?: boolean
    startTime?: number
  }): string {
    const id = `snap-${hex(17, this.random)}`
    this.snapshots.set(id, {
      id,
      size: s.size,
      state: s.completed === false ? 'pending' : 'completed',
      startTime: s.startTime ?? this.clock.now(),
      tags: new Map(Object.entries(s.tags ?? {})),
    })
    return id
  }

  /** A read-only view for assertions. */
  volume(id: string): Volume | undefined {
    const v = this.volumes.get(id)
    return v && this.view(v)
  }

  allVolumes(): Volume[] {
    return [...this.volumes.values()].map((v) => this.view(v))
  }

  /** Record a call (the wiring does this for every command), and throttle it like EC2 would. */
  record(command: string, input: unknown): void {
    const call = { command, input, at: this.clock.now(), throttled: false }
    this.calls.push(call)
    this.loseNext = false
    const b = this.buckets.get(command)
    if (!b) {
      this.maybeFault()
      return
    }
    const now = this.clock.now()
    b.tokens = Math.min(b.bucket.capacity, b.tokens + ((now - b.at) / 1000) * b.bucket.perSecond)
    b.at = now
    if (b.tokens < 1) {
      this.throttled.set(command, (this.throttled.get(command) ?? 0) + 1)
      call.throttled = true
      throw simError('RequestLimitExceeded', 'Request limit exceeded.')
    }
    b.tokens -= 1
    this.maybeFault()
  }

  private inject(kind: string): void {
    this.injected.set(kind, (this.injected.get(kind) ?? 0) + 1)
  }

  /** Before EC2 acts: a server fault or a spurious throttle; or mark the response to be lost. */
  private maybeFault(): void {
    if (!this.faults || this.random() >= this.faults.rate) return
    const r = this.random()
    if (r < 1 / 3) {
      this.inject('InternalError')
      throw simError('InternalError', 'An internal error has occurred.')
    }
    if (r < 2 / 3) {
      this.inject('RequestLimitExceeded')
      throw simError('RequestLimitExceeded', 'Request limit exceeded.')
    }
    this.loseNext = true
  }

  /** After EC2 acted: lose the response (a client timeout) if the call was marked. */
  afterCall(): void {
    if (!this.loseNext) return
    this.loseNext = false
    this.inject('TimeoutError')
    const e = new Error('Socket timed out without establishing a connection within 3000 ms')
    e.name = 'TimeoutError'
    throw e
  }

  // ---- the API ------------------------------------------------------------------------------

  describeVolumes(input: DescribeVolumesCommandInput): { Volumes: Volume[]; NextToken?: string } {
    if (input.VolumeIds?.length && input.MaxResults !== undefined)
      throw simError(
        'InvalidParameterCombination',
        'The parameter volumeSet cannot be used with the parameter maxResults',
      )
    if (input.MaxResults !== undefined && input.MaxResults < 5)
      throw simError(
        'InvalidParameterValue',
        `Value ( ${input.MaxResults} ) for parameter maxResults is invalid. Expecting a value greater than 5.`,
      )
    let list = [...this.volumes.values()].sort((a, b) => a.id.localeCompare(b.id))
    if (input.VolumeIds?.length) {
      const missing = input.VolumeIds.filter((id) => !this.volumes.has(id))
      if (missing.length)
        throw simError('InvalidVolume.NotFound', `The volume '${missing.join("', '")}' does not exist.`)
      list = list.filter((v) => input.VolumeIds?.includes(v.id))
    }
    list = list.filter((v) => (input.Filters ?? []).every((f) => this.matches(v, f)))
    if (input.MaxResults === undefined) return { Volumes: list.map((v) => this.view(v)) }
    const start = input.NextToken ? Number(Buffer.from(input.NextToken, 'base64').toString()) : 0
    const size = Math.min(input.MaxResults, this.maxPage)
    const page = list.slice(start, start + size)
    const next = start + size < list.length ? Buffer.from(String(start + size)).toString('base64') : undefined
    return { Volumes: page.map((v) => this.view(v)), ...(next && { NextToken: next }) }
  }

  createVolume(input: CreateVolumeCommandInput): Volume {
    const az = input.AvailabilityZone
    if (
      !az ||
      (![...this.instances.values()].some((i) => i.az === az) &&
        ![...this.volumes.values()].some((v) => v.az === az))
    )
      throw simError('InvalidParameterValue', `Invalid availability zone: [${az}]`)
    const hash = createHash('sha256')
      .update(JSON.stringify({ ...input, ClientToken: undefined }))
      .digest('hex')
    if (input.ClientToken) {
      const known = this.tokens.get(input.ClientToken)
      if (known && known.hash !== hash)
        throw simError(
          'IdempotentParameterMismatch',
          'The client token you have provided is associated with a resource that is already deleted or has different parameters.',
        )
      const v = known && this.volumes.get(known.volumeId)
      if (v) return this.view(v)
    }
    let size = input.Size
    if (input.SnapshotId) {
      const snap = this.snapshots.get(input.SnapshotId)
      if (!snap)
        throw simError('InvalidSnapshot.NotFound', `The snapshot '${input.SnapshotId}' does not exist.`)
      size ??= snap.size
      if (size < snap.size)
        throw simError(
          'InvalidParameterValue',
          `Volume of ${size}GiB is too small; minimum is ${snap.size}GiB.`,
        )
    }
    if (!size) throw simError('MissingParameter', 'The request must contain the parameter size/snapshot')
    const type = input.VolumeType ?? 'gp2'
    const max =
      { gp2: 16384, gp3: 65536, io1: 16384, io2: 65536, st1: 16384, sc1: 16384, standard: 1024 }[type] ??
      16384
    const min = { io1: 4, io2: 4, st1: 125, sc1: 125 }[type as 'io1'] ?? 1
    if (size < min || size > max)
      throw simError(
        'InvalidParameterValue',
        `Volume size ${size} GiB is out of range for ${type} (${min}-${max}).`,
      )
    if (input.Throughput !== undefined && type !== 'gp3')
      throw simError('InvalidParameterCombination', 'Throughput is only valid for gp3 volumes.')
    const id = `vol-${hex(17, this.random)}`
    const tags = new Map<string, string>()
    for (const spec of input.TagSpecifications ?? [])
      for (const t of spec.Tags ?? []) tags.set(t.Key as string, t.Value ?? '')
    const v: SimVolume = {
      id,
      az,
      size,
      type,
      iops: input.Iops ?? (type === 'gp3' ? 3000 : undefined),
      throughput: input.Throughput ?? (type === 'gp3' ? 125 : undefined),
      encrypted: !!input.Encrypted || !!input.KmsKeyId,
      kmsKeyId: input.KmsKeyId,
      snapshotId: input.SnapshotId,
      multiAttach: !!input.MultiAttachEnabled,
      tags,
      createTime: this.clock.now(),
      state: 'creating',
      modifications: [],
    }
    this.volumes.set(id, v)
    if (input.ClientToken) this.tokens.set(input.ClientToken, { volumeId: id, hash })
    this.clock.at(this.clock.now() + this.latency.createMs(), () => {
      if (v.state === 'creating') v.state = 'available'
    })
    return this.view(v)
  }

  attachVolume(input: AttachVolumeCommandInput): {
    VolumeId: string
    InstanceId: string
    Device: string
    State: 'attaching'
  } {
    const v = this.volumes.get(input.VolumeId as string)
    if (!v) throw simError('InvalidVolume.NotFound', `The volume '${input.VolumeId}' does not exist.`)
    const inst = this.instances.get(input.InstanceId as string)
    if (!inst)
      throw simError('InvalidInstanceID.NotFound', `The instance ID '${input.InstanceId}' does not exist`)
    if (inst.az !== v.az)
      throw simError(
        'InvalidVolume.ZoneMismatch',
        `The volume '${v.id}' is not in the same availability zone as instance '${inst.id}'`,
      )
    if (v.state === 'creating' || v.state === 'error')
      throw simError('IncorrectState', `The volume '${v.id}' is not 'available'.`)
    if (v.attachment) throw simError('VolumeInUse', `vol '${v.id}' is already attached to an instance`)
    const device = input.Device as string
    if (inst.devices.has(device))
      throw simError(
        'InvalidParameterValue',
        `Invalid value '${device}' for unixDevice. Attachment point ${device} is already in use`,
      )
    inst.devices.set(device, v.id)
    v.state = 'in-use'
    const att = { instanceId: inst.id, device, state: 'attaching' as const, time: this.clock.now() }
    v.attachment = att
    this.clock.at(this.clock.now() + this.latency.attachMs(), () => {
      if (v.attachment !== att) return
      v.attachment = { ...att, state: 'attached' }
      void inst.hooks.attached?.(v.id, device, v.size)
    })
    return { VolumeId: v.id, InstanceId: inst.id, Device: device, State: 'attaching' }
  }

  modifyVolume(input: ModifyVolumeCommandInput): { VolumeModification: VolumeModification } {
    const v = this.volumes.get(input.VolumeId as string)
    if (!v) throw simError('InvalidVolume.NotFound', `The volume '${input.VolumeId}' does not exist.`)
    const now = this.clock.now()
    const last = v.modifications[v.modifications.length - 1]
    if (last && last.ModificationState !== 'completed' && last.ModificationState !== 'failed')
      throw simError(
        'IncorrectModificationState',
        `Cannot modify volume ${v.id}: a modification is in progress (${last.ModificationState}).`,
      )
    const recent = v.modifications.filter((m) => now - (m.StartTime?.getTime() ?? 0) < 86_400_000)
    if (recent.length >= this.modsPerDay) {
      const retry = new Date((recent[0]?.StartTime?.getTime() ?? now) + 86_400_000).toISOString()
      throw simError(
        'VolumeModificationRateExceeded',
        `You've reached the maximum modification rate per volume limit (${this.modsPerDay} per 24 hours). You can modify volume ${v.id} again after ${retry}.`,
      )
    }
    const target = input.Size ?? v.size
    if (target < v.size)
      throw simError(
        'InvalidParameterValue',
        `New size ${target} GiB is smaller than the current size ${v.size} GiB: volumes cannot shrink.`,
      )
    const mod: VolumeModification = {
      VolumeId: v.id,
      ModificationState: 'modifying',
      OriginalSize: v.size,
      TargetSize: target,
      StartTime: new Date(now),
      Progress: 0,
    }
    v.modifications.push(mod)
    this.clock.at(now + this.latency.modifyOptimizingMs, () => {
      mod.ModificationState = 'optimizing'
      v.size = target
      const inst = v.attachment && this.instances.get(v.attachment.instanceId)
      void inst?.hooks.resized?.(v.id, target)
    })
    this.clock.at(now + this.latency.modifyCompletedMs, () => {
      mod.ModificationState = 'completed'
      mod.Progress = 100
      mod.EndTime = new Date(this.clock.now())
    })
    return { VolumeModification: { ...mod } }
  }

  describeVolumesModifications(input: DescribeVolumesModificationsCommandInput): {
    VolumesModifications: VolumeModification[]
  } {
    const ids = input.VolumeIds ?? [...this.volumes.keys()]
    const mods: VolumeModification[] = []
    for (const id of ids) {
      const v = this.volumes.get(id)
      if (!v) throw simError('InvalidVolume.NotFound', `The volume '${id}' does not exist.`)
      if (!v.modifications.length && input.VolumeIds)
        throw simError(
          'InvalidVolumeModification.NotFound',
          `Modification for volume '${id}' does not exist.`,
        )
      mods.push(...v.modifications.map((m) => ({ ...m })))
    }
    return { VolumesModifications: mods }
  }

  createTags(input: CreateTagsCommandInput): Record<string, never> {
    for (const id of input.Resources ?? []) {
      const target = this.volumes.get(id) ?? this.snapshots.get(id)
      if (!target)
        throw simError(
          id.startsWith('snap-') ? 'InvalidSnapshot.NotFound' : 'InvalidVolume.NotFound',
          `The ID '${id}' does not exist`,
        )
      for (const t of input.Tags ?? []) target.tags.set(t.Key as string, t.Value ?? '')
    }
    return {}
  }

  deleteTags(input: DeleteTagsCommandInput): Record<string, never> {
    for (const id of input.Resources ?? []) {
      const target = this.volumes.get(id) ?? this.snapshots.get(id)
      if (!target) throw simError('InvalidVolume.NotFound', `The ID '${id}' does not exist`)
      if (!input.Tags) target.tags.clear()
      // A key alone deletes any value; a key with a value only that value.
      for (const t of input.Tags ?? [])
        if (t.Value === undefined || target.tags.get(t.Key as string) === t.Value)
          target.tags.delete(t.Key as string)
    }
    return {}
  }

  describeInstances(input: DescribeInstancesCommandInput) {
    const ids = input.InstanceIds ?? [...this.instances.keys()]
    const instances = ids.map((id) => {
      const inst = this.instances.get(id)
      if (!inst) throw simError('InvalidInstanceID.NotFound', `The instance ID '${id}' does not exist`)
      return {
        InstanceId: inst.id,
        Placement: { AvailabilityZone: inst.az },
        RootDeviceName: inst.rootDevice,
        BlockDeviceMappings: [...inst.devices.entries()].map(([DeviceName, VolumeId]) => ({
          DeviceName,
          Ebs: {
            VolumeId,
            Status: (this.volumes.get(VolumeId)?.attachment?.state ?? 'attached') as 'attached',
          },
        })),
      }
    })
    return { Reservations: [{ Instances: instances }] }
  }

  describeSnapshots(input: DescribeSnapshotsCommandInput): { Snapshots: Snapshot[] } {
    let list = [...this.snapshots.values()]
    if (input.SnapshotIds?.length) list = list.filter((s) => input.SnapshotIds?.includes(s.id))
    for (const f of input.Filters ?? []) {
      const values = f.Values ?? []
      if (f.Name === 'status') list = list.filter((s) => values.includes(s.state))
      else if (f.Name?.startsWith('tag:'))
        list = list.filter((s) => values.includes(s.tags.get((f.Name as string).slice(4)) ?? '\0'))
    }
    return {
      Snapshots: list.map((s) => ({
        SnapshotId: s.id,
        VolumeId: s.volumeId,
        VolumeSize: s.size,
        State: s.state,
        StartTime: new Date(s.startTime),
        Tags: [...s.tags].map(([Key, Value]) => ({ Key, Value })),
      })),
    }
  }

  createSnapshot(input: CreateSnapshotCommandInput): Snapshot {
    const v = this.volumes.get(input.VolumeId as string)
    if (!v) throw simError('InvalidVolume.NotFound', `The volume '${input.VolumeId}' does not exist.`)
    const tags: Record<string, string> = {}
    for (const spec of input.TagSpecifications ?? [])
      for (const t of spec.Tags ?? []) tags[t.Key as string] = t.Value ?? ''
    const id = this.addSnapshot({ size: v.size, tags, completed: false })
    const snap = this.snapshots.get(id) as SimSnapshot
    snap.volumeId = v.id
    this.clock.at(this.clock.now() + this.latency.snapshotMs, () => {
      snap.state = 'completed'
    })
    return { SnapshotId: id, VolumeId: v.id, State: 'pending', VolumeSize: v.size }
  }

  // ---- internals ----------------------------------------------------------------------------

  private matches(v: SimVolume, f: Filter): boolean {
    const values = f.Values ?? []
    const name = f.Name ?? ''
    if (name.startsWith('tag:')) return values.includes(v.tags.get(name.slice(4)) ?? '\0')
    switch (name) {
      case 'tag-key':
        return values.some((k) => v.tags.has(k))
      case 'availability-zone':
        return values.includes(v.az)
      case 'status':
        return values.includes(v.state)
      case 'volume-id':
        return values.includes(v.id)
      case 'attachment.instance-id':
        return !!v.attachment && values.includes(v.attachment.instanceId)
      case 'attachment.status':
        return !!v.attachment && values.includes(v.attachment.state)
      default:
        throw simError('InvalidParameterValue', `The filter '${name}' is invalid`)
    }
  }

  private view(v: SimVolume): Volume {
    return {
      VolumeId: v.id,
      AvailabilityZone: v.az,
      Size: v.size,
      VolumeType: v.type as Volume['VolumeType'],
      Iops: v.iops,
      Throughput: v.throughput,
      Encrypted: v.encrypted,
      KmsKeyId: v.kmsKeyId,
      SnapshotId: v.snapshotId,
      MultiAttachEnabled: v.multiAttach,
      State: v.state,
      CreateTime: new Date(v.createTime),
      Tags: [...v.tags].map(([Key, Value]) => ({ Key, Value })),
      Attachments: v.attachment
        ? [
            {
              VolumeId: v.id,
              InstanceId: v.attachment.instanceId,
              Device: v.attachment.device,
              State: v.attachment.state,
              AttachTime: new Date(v.attachment.time),
            },
          ]
        : [],
    }
  }
}

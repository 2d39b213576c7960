import {
  AttachVolumeCommand,
  CreateTagsCommand,
  CreateVolumeCommand,
  DeleteTagsCommand,
  DescribeInstancesCommand,
  DescribeSnapshotsCommand,
  DescribeVolumesCommand,
  DescribeVolumesModificationsCommand,
  EC2Client,
  type Volume as Ec2Volume,
  type Filter,
  ModifyVolumeCommand,
} from '@aws-sdk/client-ec2'
import { backoff, type Clock, poll, realClock } from '../../clock.js'
import { ConfigError, ProviderError } from '../../errors.js'
import type { Host } from '../../hosts/host.js'
import { LinuxHost } from '../../hosts/linux/linux-host.js'
import { type Roots, rootsFromEnv } from '../../hosts/roots.js'
import type { AwsProviderConfig } from '../../spec/types.js'
import { THROTTLE_BUDGET_MS, THROTTLED, TRANSIENT } from '../error-codes.js'
import type { CreateVolumeRequest, ExpectedIdentity, Provider, Volume } from '../provider.js'
import { freeAttachName, nitroByIdPath, nvmeSerial, xenKernelNames } from './devices.js'
import { awsCode, toProviderError } from './errors.js'
import { type InstanceIdentity, readIdentity } from './imds.js'

const GiB = 1024 ** 3

/** How long cps waits for EC2 and for the device; all bounded, all overridable by tests. */
export interface AwsTimeouts {
  /** CreateVolume until available. */
  availableMs: number
  /** AttachVolume until the device shows up on this host. */
  deviceMs: number
  /** ModifyVolume until optimizing (and the device shows the new size). */
  modifyMs: number
}

export const defaultTimeouts: AwsTimeouts = { availableMs: 300_000, deviceMs: 120_000, modifyMs: 600_000 }

export interface AwsProviderOptions {
  client: EC2Client
  /** This instance, from IMDSv2 (read once, lazily). */
  identity: () => Promise<InstanceIdentity>
  /** Where devices appear: the provider watches the device tree, never the API, for attach. */
  host: Host
  roots?: Roots
  clock?: Clock
  timeouts?: Partial<AwsTimeouts>
  /** Available volumes read per page when claiming (5–500; default 500, EC2's largest). */
  pageSize?: number
  /** How many times cps retries a call after throttling, or a retry-safe call after a fault (default 40). */
  throttleRetries?: number
  /** Beyond those, how long one call keeps waiting out RequestLimitExceeded (default 30 min). */
  throttleBudgetMs?: number
  /** Jitter source, injectable for deterministic simulations. */
  random?: () => number
}

function toVolume(v: Ec2Volume): Volume {
  const att = v.Attachments?.find(
    (a) => a.State === 'attaching' || a.State === 'attached' || a.State === 'busy',
  )
  const state = v.State === 'available' || v.State === 'in-use' || v.State === 'creating' ? v.State : 'other'
  return {
    id: v.VolumeId as string,
    sizeGiB: v.Size ?? 0,
    state,
    tags: Object.fromEntries((v.Tags ?? []).map((t) => [t.Key as string, t.Value ?? ''])),
    attachedTo: att?.InstanceId,
    device: att?.Device,
    createdAt: (v.CreateTime ?? new Date(0)).toISOString(),
  }
}

const tagFilters = (tags: Record<string, string>): Filter[] =>
  Object.entries(tags).map(([k, v]) => ({ Name: `tag:${k}`, Values: [v] }))

/** Amazon EBS through the EC2 API; identity from IMDSv2; devices watched on this host. */
export class AwsProvider implements Provider {
  readonly kind = 'aws'
  /** EC2's AttachVolume bucket refills 5 tokens a second (burst 50), per account and region. */
  readonly attachRate = 5
  private readonly client: EC2Client
  private readonly host: Host
  private readonly roots: Roots
  private readonly clock: Clock
  private readonly timeouts: AwsTimeouts
  private identityPromise?: Promise<InstanceIdentity>
  private mapped?: { names: Set<string>; volumeIds: string[] }
  private readonly pageSize: number
  private readonly throttleRetries: number
  private readonly throttleBudgetMs: number
  private readonly random: () => number
  /** How often cps itself waited out RequestLimitExceeded (the bench reports it). */
  throttleWaits = 0

  constructor(private readonly opts: AwsProviderOptions) {
    this.client = opts.client
    this.host = opts.host
    this.roots = opts.roots ?? rootsFromEnv()
    this.clock = opts.clock ?? realClock
    this.timeouts = { ...defaultTimeouts, ...opts.timeouts }
    this.pageSize = opts.pageSize ?? 500
    this.throttleRetries = opts.throttleRetries ?? 40
    this.throttleBudgetMs = opts.throttleBudgetMs ?? THROTTLE_BUDGET_MS
    this.random = opts.random ?? Math.random
  }

  identity(): Promise<InstanceIdentity> {
    this.identityPromise ??= this.opts.identity()
    return this.identityPromise
  }

  async instanceId(): Promise<string> {
    return (await this.identity()).instanceId
  }

  /**
   * Send with cps's own backoff on top of the SDK's retries: full jitter, from 1 s, at most 20 s
   * apart (the SDK's throttling base and cap). Throttling is always waited out (the request was
   * refused); server faults and timeouts only for calls that are safe to repeat (reads, tag
   * writes, CreateVolume with its ClientToken), since the first attempt may have happened.
   * `once`: the caller handles throttling and faults itself (nothing is retried here).
   */
  private async send<T>(
    what: string,
    volume: string | undefined,
    fn: () => Promise<T>,
    opts: { idempotent?: boolean; once?: boolean } = {},
  ): Promise<T> {
    const started = this.clock.now()
    for (let attempt = 0; ; attempt++) {
      try {
        return await fn()
      } catch (err) {
        const e = toProviderError(err, what, volume)
        const throttled = e.code === THROTTLED
        const again = throttled || (opts.idempotent !== false && TRANSIENT.has(e.code ?? ''))
        const more =
          attempt < this.throttleRetries || (throttled && this.clock.now() - started < this.throttleBudgetMs)
        if (!again || opts.once || !more) throw e
        this.throttleWaits++
        await this.clock.sleep(backoff(attempt, this.random))
      }
    }
  }

  /** One DescribeVolumes page of pool volumes in this zone, with more filters. */
  private async describePool(tags: Record<string, string>, more: Filter[], token?: string, pageSize = 500) {
    const { zone } = await this.identity()
    return this.send('DescribeVolumes', undefined, () =>
      this.client.send(
        new DescribeVolumesCommand({
          Filters: [...tagFilters(tags), { Name: 'availability-zone', Values: [zone] }, ...more],
          MaxResults: pageSize,
          NextToken: token,
        }),
      ),
    )
  }

  /**
   * This instance's block device mappings (DescribeInstances), read once per run: they say which
   * volumes are attached here, and which device names are taken.
   */
  private async mappings(): Promise<{ names: Set<string>; volumeIds: string[] }> {
    if (!this.mapped) {
      const me = await this.instanceId()
      const r = await this.send('DescribeInstances', undefined, () =>
        this.client.send(new DescribeInstancesCommand({ InstanceIds: [me] })),
      )
      const inst = r.Reservations?.[0]?.Instances?.[0]
      const maps = inst?.BlockDeviceMappings ?? []
      this.mapped = {
        names: new Set(
          [inst?.RootDeviceName, ...maps.map((m) => m.DeviceName)].filter((n): n is string => !!n),
        ),
        // The root volume is never a pool volume: leave it out, so a fresh instance reads no volume.
        volumeIds: maps
          .filter((m) => m.DeviceName !== inst?.RootDeviceName && m.Ebs?.VolumeId)
          .map((m) => m.Ebs?.VolumeId as string),
      }
    }
    return this.mapped
  }

  async findAttached(tags: Record<string, string>): Promise<Volume[]> {
    const me = await this.instanceId()
    const { volumeIds } = await this.mappings()
    if (!volumeIds.length) return []
    const r = await this.send('DescribeVolumes', undefined, () =>
      this.client.send(new DescribeVolumesCommand({ VolumeIds: volumeIds })),
    )
    return (r.Volumes ?? [])
      .map(toVolume)
      .filter((v) => v.attachedTo === me && Object.entries(tags).every(([k, val]) => v.tags[k] === val))
      .sort((a, b) => a.id.localeCompare(b.id))
  }

  async listAvailable(
    tags: Record<string, string>,
    cursor?: string,
  ): Promise<{ volumes: Volume[]; cursor?: string }> {
    const page = await this.describePool(
      tags,
      [{ Name: 'status', Values: ['available'] }],
      cursor,
      this.pageSize,
    )
    // Multi-attach volumes are never claimed: two instances could mount them at once.
    const volumes = (page.Volumes ?? []).filter((v) => !v.MultiAttachEnabled).map(toVolume)
    return { volumes, ...(page.NextToken && { cursor: page.NextToken }) }
  }

  async getVolume(id: string): Promise<Volume | undefined> {
    try {
      const r = await this.send(`DescribeVolumes ${id}`, id, () =>
        this.client.send(new DescribeVolumesCommand({ VolumeIds: [id] })),
      )
      const v = r.Volumes?.[0]
      return v && toVolume(v)
    } catch (err) {
      if ((err as ProviderError).code === 'InvalidVolume.NotFound') return undefined
      throw err
    }
  }

  /** The snapshot to create from: an id as given, or the newest completed one with the tags. */
  private async snapshotId(req: CreateVolumeRequest): Promise<string | undefined> {
    const snap = req.options?.snapshot
    if (!snap) return undefined
    if (snap.id) return snap.id
    const r = await this.send('DescribeSnapshots', undefined, () =>
      this.client.send(
        new DescribeSnapshotsCommand({
          OwnerIds: ['self'],
          Filters: [...tagFilters(snap.tags ?? {}), { Name: 'status', Values: ['completed'] }],
        }),
      ),
    )
    const newest = [...(r.Snapshots ?? [])].sort(
      (a, b) => (b.StartTime?.getTime() ?? 0) - (a.StartTime?.getTime() ?? 0),
    )[0]
    if (!newest?.SnapshotId)
      throw new ProviderError(`no completed snapshot carries the tags ${JSON.stringify(snap.tags)}`, {
        code: 'InvalidSnapshot.NotFound',
        hint: 'check create.snapshot.tags, or give create.snapshot.id',
      })
    return newest.SnapshotId
  }

  async createVolume(req: CreateVolumeRequest): Promise<Volume> {
    const { zone } = await this.identity()
    const o = req.options ?? {}
    const snapshotId = await this.snapshotId(req)
    const created = await this.send('CreateVolume', undefined, () =>
      this.client.send(
        new CreateVolumeCommand({
          AvailabilityZone: zone,
          Size: req.sizeGiB,
          VolumeType: o.type ?? 'gp3',
          Iops: o.iops,
          Throughput: o.throughputMiBps,
          Encrypted: o.encrypted,
          KmsKeyId: o.kmsKeyId,
          SnapshotId: snapshotId,
          // The tags exist from birth: neighbours see the claim and the format token at once.
          TagSpecifications: [
            {
              ResourceType: 'volume',
              Tags: Object.entries(req.tags).map(([Key, Value]) => ({ Key, Value })),
            },
          ],
          ClientToken: req.clientToken,
        }),
      ),
    )
    const id = created.VolumeId as string
    const ready = await poll(
      this.clock,
      async () => {
        const v = await this.getVolume(id)
        if (v?.state === 'other')
          throw new ProviderError(`volume ${id} went to state error while being created`, {
            volume: id,
            hint: 'EBS could not create it (often a KMS key problem); check the volume in the console',
          })
        return v?.state === 'available' || v?.state === 'in-use' ? v : undefined
      },
      // A new volume takes ~1.5 s to become available: asking at once only spends DescribeVolumes.
      { timeoutMs: this.timeouts.availableMs, delayMs: 1000, firstMs: 500, maxMs: 5000 },
    )
    if (!ready)
      throw new ProviderError(
        `volume ${id} is still not available ${this.timeouts.availableMs / 1000} s after CreateVolume`,
        {
          volume: id,
          code: 'CreateTimeout',
          hint: 'rerun: the same claim finds the same volume (ClientToken), it is never created twice',
        },
      )
    return ready
  }

  async attachVolume(target: Volume): Promise<Volume> {
    const id = target.id
    const me = await this.instanceId()
    // The instance's device names are read once per run, then kept up to date here.
    const used = (await this.mappings()).names
    for (;;) {
      const name = freeAttachName(used)
      if (!name)
        throw new ProviderError(`instance ${me} has no free device name for volume ${id}`, {
          code: 'AttachmentLimitExceeded',
          volume: id,
          hint: 'detach unused volumes or use fewer volumes per instance',
        })
      try {
        // Not retried here on throttling: the claim backs off and re-lists, since a neighbour
        // probably took this volume meanwhile.
        await this.client.send(new AttachVolumeCommand({ VolumeId: id, InstanceId: me, Device: name }))
      } catch (err) {
        const code = awsCode(err)
        // Another attach took the name between our look and our attach: try the next name.
        if (code === 'InvalidParameterValue' && /already in use/.test((err as Error).message)) {
          used.add(name)
          continue
        }
        // A timeout or server fault may hide an attach that happened: look before calling it
        // lost, or one instance ends up holding two volumes.
        if (TRANSIENT.has(code) && code !== 'RequestLimitExceeded') {
          const now = await this.getVolume(id)
          if (now?.attachedTo === me) {
            used.add(now.device ?? name)
            ;(await this.mappings()).volumeIds.push(id)
            return now
          }
        }
        throw toProviderError(err, `AttachVolume ${id} at ${name}`, id)
      }
      used.add(name)
      ;(await this.mappings()).volumeIds.push(id)
      return { ...target, state: 'in-use', attachedTo: me, device: name }
    }
  }

  /** Nitro: the by-id link; Xen: the attach name as sdX or xvdX. */
  private candidatePaths(vol: Volume): string[] {
    const paths = [nitroByIdPath(this.roots, vol.id)]
    if (vol.device) for (const k of xenKernelNames(vol.device)) paths.push(`${this.roots.dev}/${k}`)
    return paths
  }

  async findDevice(vol: Volume): Promise<string | undefined> {
    for (const p of this.candidatePaths(vol)) if (await this.host.identity(p)) return p
    return undefined
  }

  async ensureDevice(vol: Volume): Promise<string> {
    // Watch the device tree, not the API: the device appearing is the proof of the attach.
    const found = await poll(this.clock, () => this.findDevice(vol), {
      timeoutMs: this.timeouts.deviceMs,
      firstMs: 100,
      maxMs: 2000,
    })
    if (found) return found
    throw new ProviderError(
      `volume ${vol.id} is attached${vol.device ? ` as ${vol.device}` : ''} but no device appeared at ${this.candidatePaths(vol).join(' or ')} within ${this.timeouts.deviceMs / 1000} s`,
      {
        volume: vol.id,
        code: 'DeviceTimeout',
        hint: 'check udev (the by-id rules), the NVMe driver and dmesg; rerun once the device is there',
      },
    )
  }

  expectedIdentity(vol: Volume, device: string): ExpectedIdentity {
    if (device === nitroByIdPath(this.roots, vol.id)) return { serial: nvmeSerial(vol.id) }
    return { kernelNames: vol.device ? xenKernelNames(vol.device) : [] }
  }

  async growVolume(vol: Volume, sizeGiB: number): Promise<void> {
    if (sizeGiB <= vol.sizeGiB) return
    // Check, then act: a modification to this size may be under way from a run that died.
    const running = await this.latestModification(vol.id)
    const underWay = running && (running.TargetSize ?? 0) >= sizeGiB && running.ModificationState !== 'failed'
    if (!underWay)
      await this.send(
        `ModifyVolume ${vol.id} to ${sizeGiB} GiB`,
        vol.id,
        () => this.client.send(new ModifyVolumeCommand({ VolumeId: vol.id, Size: sizeGiB })),
        // A lost response may hide a modification that happened: the next run looks first.
        { idempotent: false },
      )
    // A size increase is usable once the modification is optimizing (usually seconds).
    const ok = await poll(
      this.clock,
      async () => {
        const m = await this.latestModification(vol.id)
        if (m?.ModificationState === 'failed')
          throw new ProviderError(
            `modification of ${vol.id} to ${sizeGiB} GiB failed: ${m.StatusMessage ?? ''}`,
            {
              volume: vol.id,
              code: 'ModificationFailed',
              hint: 'EBS says failed modifications are transient: rerun',
            },
          )
        return m?.ModificationState === 'optimizing' || m?.ModificationState === 'completed'
          ? true
          : undefined
      },
      { timeoutMs: this.timeouts.modifyMs, firstMs: 1000, maxMs: 10_000 },
    )
    if (!ok)
      throw new ProviderError(
        `modification of ${vol.id} to ${sizeGiB} GiB did not reach optimizing within ${this.timeouts.modifyMs / 1000} s`,
        { volume: vol.id, code: 'ModifyTimeout', hint: 'rerun later: the grow continues where it is' },
      )
    // NVMe sees the new size by itself (a namespace-changed event); wait for the device to show it.
    const device = await this.findDevice(vol)
    if (!device) return
    const seen = await poll(
      this.clock,
      async () => ((await this.host.identity(device))?.sizeBytes ?? 0) >= sizeGiB * GiB || undefined,
      {
        timeoutMs: this.timeouts.deviceMs,
        firstMs: 200,
        maxMs: 2000,
      },
    )
    if (!seen)
      throw new ProviderError(`volume ${vol.id} is ${sizeGiB} GiB but ${device} still shows the old size`, {
        volume: vol.id,
        device,
        code: 'DeviceSizeTimeout',
        hint: 'rescan the controller (echo 1 > /sys/class/nvme/nvmeN/rescan_controller) and rerun',
      })
  }

  private async latestModification(id: string) {
    const r = await this.send('DescribeVolumesModifications', id, () =>
      this.client.send(new DescribeVolumesModificationsCommand({ VolumeIds: [id] })),
    ).catch((err: ProviderError) => {
      // No modification ever: EC2 answers with a not-found error for this call.
      if (err.code === 'InvalidVolumeModification.NotFound') return { VolumesModifications: [] }
      throw err
    })
    return [...(r.VolumesModifications ?? [])].sort(
      (a, b) => (b.StartTime?.getTime() ?? 0) - (a.StartTime?.getTime() ?? 0),
    )[0]
  }

  async setTags(id: string, tags: Record<string, string>, opts: { once?: boolean } = {}): Promise<void> {
    await this.send(
      `CreateTags ${id}`,
      id,
      () =>
        this.client.send(
          new CreateTagsCommand({
            Resources: [id],
            Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
          }),
        ),
      opts,
    )
  }

  async deleteTags(id: string, keys: string[]): Promise<void> {
    await this.send(`DeleteTags ${id}`, id, () =>
      this.client.send(new DeleteTagsCommand({ Resources: [id], Tags: keys.map((Key) => ({ Key })) })),
    )
  }
}

/** The EC2 client: adaptive retries (a client-side rate limiter on top of standard retries). */
export function createEc2Client(region: string, endpoint?: string): EC2Client {
  const attempts = Number(process.env.AWS_MAX_ATTEMPTS)
  return new EC2Client({
    region,
    ...(endpoint && { endpoint }),
    retryMode: 'adaptive',
    maxAttempts: Number.isInteger(attempts) && attempts > 0 ? attempts : 8,
  })
}

/** The provider for `provider: aws`: region from the spec, else from this instance's IMDS. */
export async function createAwsProvider(
  cfg: AwsProviderConfig,
  host: Host = new LinuxHost(),
): Promise<AwsProvider> {
  const identity = await readIdentity()
  if (cfg.region && cfg.region !== identity.region)
    throw new ConfigError(
      `provider.aws.region is ${cfg.region}, but this instance is in ${identity.region} (${identity.zone})`,
      {
        hint: 'EBS volumes attach only within their availability zone: drop provider.aws.region or fix it',
      },
    )
  const client = createEc2Client(identity.region, cfg.endpoint)
  return new AwsProvider({ client, identity: async () => identity, host })
}

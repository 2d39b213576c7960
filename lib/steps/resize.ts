import { ProviderError, withHint } from '../errors.js'
import type { Host } from '../hosts/host.js'
import type { Change } from '../plan/change.js'
import type { Volume } from '../providers/provider.js'
import type { FsType } from '../spec/types.js'
import { currentVolume } from './attach.js'
import { act, type Step, same } from './context.js'

const MiB = 1024 * 1024

/** Provider refusals to modify a volume now that a later run can retry. */
const DEFERRABLE = new Set(['VolumeModificationRateExceeded', 'IncorrectModificationState'])

/** Does a filesystem of fsBytes need growing to fill deviceBytes? Slack covers fs alignment. */
export function needsGrow(fsBytes: number, deviceBytes: number): boolean {
  return deviceBytes - fsBytes > Math.max(16 * MiB, deviceBytes / 100)
}

/**
 * How far the filesystem should grow to fill its device, or undefined when it fills it. xfs and
 * btrfs are measured through their mount point, ext4 through the device.
 */
export async function fsGrowth(
  host: Host,
  device: string,
  type: FsType,
  mountpoint?: string,
): Promise<{ from: number; to: number } | undefined> {
  const dev = await host.identity(device)
  const fsBytes = await host.filesystemSize(device, type, mountpoint)
  if (!dev || !needsGrow(fsBytes, dev.sizeBytes)) return undefined
  return { from: fsBytes, to: dev.sizeBytes }
}

/** Bytes as GiB with one decimal, for messages. */
export const gib = (bytes: number) => `${(bytes / 1024 ** 3).toFixed(1)} GiB`

/**
 * resize: grow the volume when the spec size is larger (never shrink), then grow an unmounted
 * ext4 offline (e2fsck -f, resize2fs). xfs and btrfs only grow mounted: the mount step does it.
 */
export const resize: Step = async (ctx, deps) => {
  const out: Change[] = []
  const warnings: string[] = []
  const spec = ctx.spec
  if (ctx.pending || !ctx.volumeId || !ctx.device)
    return { changes: out, summary: 'new volume, nothing to grow' }
  if (spec.resize === 'never') return { changes: out, summary: 'resize: never' }
  const vol = await currentVolume(ctx, deps)
  const device = ctx.device
  const type = spec.filesystem.type
  let grewVolume = false
  let grown: Volume | undefined
  if (spec.sizeGiB !== undefined && spec.sizeGiB > vol.sizeGiB) {
    try {
      await act(
        ctx,
        out,
        'resize',
        'update',
        `grow volume ${vol.id} from ${vol.sizeGiB} to ${spec.sizeGiB} GiB`,
        () => deps.provider.growVolume(vol, spec.sizeGiB as number),
      )
    } catch (err) {
      // EBS limits how often a volume may be modified: not a failure of the boot. The data is
      // fine at its current size; mount still happens, and a later run grows it.
      if (!(err instanceof ProviderError && err.code && DEFERRABLE.has(err.code))) throw err
      const msg = `volume ${vol.id} cannot be grown to ${spec.sizeGiB} GiB now: ${err.message}; it stays ${vol.sizeGiB} GiB and a later run grows it`
      deps.log.warn(msg)
      return { growAfterMount: true, changes: out, warnings: [...warnings, msg], summary: 'grow deferred' }
    }
    grewVolume = true
    if (ctx.mode === 'apply') grown = { ...vol, sizeGiB: spec.sizeGiB as number }
  } else if (spec.sizeGiB !== undefined && spec.sizeGiB < vol.sizeGiB) {
    const msg = `spec size ${spec.sizeGiB} GiB is smaller than volume ${vol.id} (${vol.sizeGiB} GiB); cps never shrinks`
    warnings.push(msg)
    deps.log.warn(msg)
  }
  if (ctx.mode === 'plan' && grewVolume) {
    const how =
      type === 'ext4' ? 'grow ext4 filesystem to fill the volume' : `grow ${type} filesystem once mounted`
    await act(ctx, out, 'resize', 'update', how, async () => {})
    return { changes: out, warnings, summary: 'would grow' }
  }

  // xfs and btrfs only grow mounted, as does an ext4 that is mounted already: the mount step does it.
  const afterMount = {
    growAfterMount: true,
    volume: grown,
    changes: out,
    warnings,
    summary: grewVolume ? 'volume grown; filesystem grows once mounted' : 'size ok',
  }
  if (type !== 'ext4') return afterMount
  const real = (await deps.host.identity(device))?.realPath ?? device
  if ((await deps.host.mountsOf(real)).length) return afterMount
  const growth = await fsGrowth(deps.host, device, type)
  if (growth) {
    await act(
      ctx,
      out,
      'resize',
      'update',
      `grow ext4 on ${device} offline from ${gib(growth.from)} to ${gib(growth.to)} (e2fsck -f, resize2fs)`,
      () =>
        withHint(() => deps.host.growOffline(device, type), {
          volume: vol.id,
          device,
          hint: 'e2fsck found problems it could not fix or resize2fs failed: run e2fsck -f by hand before the next boot; nothing was mounted',
        }),
    )
    return { volume: grown, changes: out, warnings, summary: 'grew ext4 offline' }
  }
  if (!grewVolume) same(ctx, out, 'resize', `${vol.sizeGiB} GiB volume, filesystem fills it`)
  return { volume: grown, changes: out, warnings, summary: 'size ok' }
}

import { HostError, RefusalError, withHint } from '../errors.js'
import { missingOptions } from '../hosts/host.js'
import type { Change } from '../plan/change.js'
import { Tag } from '../providers/provider.js'
import { currentVolume } from './attach.js'
import { act, type Step, same } from './context.js'
import { verifyIdentity } from './identity.js'
import { fsGrowth, gib } from './resize.js'

function parseOwner(owner: string): { uid: number; gid?: number } {
  const [uid, gid] = owner.split(':')
  return { uid: Number(uid), gid: gid === undefined ? undefined : Number(gid) }
}

/**
 * mount: mount the verified filesystem at its path with its options (remount when options
 * drifted), then set owner and mode of its root, then grow xfs/btrfs online. Fails closed: a
 * volume that is not mounted is an error, so services ordered after cps never write into the
 * empty directory on the root disk.
 */
export const mount: Step = async (ctx, deps) => {
  const out: Change[] = []
  const { host } = deps
  const m = ctx.spec.mount
  const type = ctx.spec.filesystem.type
  const opts = m.options.length ? ` (${m.options.join(',')})` : ''
  const extras = [m.owner && `owner ${m.owner}`, m.mode && `mode ${m.mode.padStart(4, '0')}`]
    .filter(Boolean)
    .join(', ')
  if (ctx.pending || !ctx.volumeId || !ctx.device) {
    await act(
      ctx,
      out,
      'mount',
      'create',
      `mount ${type} at ${m.path}${opts}${extras ? `; set ${extras}` : ''}`,
      async () => {},
    )
    return { changes: out, summary: 'would mount' }
  }
  const vol = await currentVolume(ctx, deps)
  const device = ctx.device
  const id = await verifyIdentity(host, device, vol, deps.provider.expectedIdentity(vol, device))
  const tagUuid = vol.tags[Tag.fsUuid]
  const current = await host.findMount(m.path)

  if (current) {
    const source = await host.identity(current.source)
    if (source?.realPath !== id.realPath)
      throw new RefusalError(
        `${m.path} already has ${current.source} (${current.fstype}) mounted, not volume ${vol.id} (${device})`,
        {
          volume: vol.id,
          device,
          hint: `unmount ${m.path} or choose another mount.path`,
        },
      )
    same(ctx, out, 'mount', `${device} is mounted at ${m.path}`)
    const missing = missingOptions(m.options, current.options)
    if (missing.length) {
      await act(ctx, out, 'mount', 'update', `remount ${m.path} with ${missing.join(',')}`, async () => {
        await host.remount(m.path, m.options)
        // Some filesystems accept a remount option and silently ignore it: read back.
        const after = await host.findMount(m.path)
        const still = missingOptions(m.options, after?.options ?? [])
        if (still.length)
          throw new HostError(
            `remount of ${m.path} did not apply ${still.join(',')} (the kernel kept ${after?.options.join(',')})`,
            {
              device,
              hint: `${type} cannot change ${still.join(',')} on a live mount; it takes effect at the next mount (reboot)`,
            },
          )
      })
    }
  } else {
    // Rule 2, second half: the filesystem must be the one cps made or adopted on this volume.
    const probe = await host.probe(device)
    const fsUuid = probe.signatures[0]?.uuid
    if (tagUuid && fsUuid !== tagUuid)
      throw new RefusalError(
        `volume ${vol.id} (${device}) shows filesystem ${fsUuid ?? 'none'} but is tagged ${Tag.fsUuid}=${tagUuid}; not mounting it`,
        {
          volume: vol.id,
          device,
          hint: 'the device is not the filesystem cps made on this volume: check device links and tags',
        },
      )
    await act(ctx, out, 'mount', 'create', `mount ${device} (${type}) at ${m.path}${opts}`, async () => {
      await host.ensureDir(m.path)
      await withHint(() => host.mount(device, m.path, type, m.options), {
        volume: vol.id,
        device,
        hint: `check the kernel log (dmesg); an unclean ${type} may need a manual fsck before it mounts`,
      })
    })
  }

  if (ctx.mode === 'plan' && !current) {
    if (extras) await act(ctx, out, 'mount', 'update', `set ${extras} on ${m.path}`, async () => {})
  } else {
    const st = await host.statDir(m.path)
    if (m.owner) {
      const { uid, gid } = parseOwner(m.owner)
      const wantGid = gid ?? st.gid
      if (st.uid !== uid || st.gid !== wantGid)
        await act(
          ctx,
          out,
          'mount',
          'update',
          `chown ${m.path} from ${st.uid}:${st.gid} to ${uid}:${wantGid}`,
          () => host.chown(m.path, uid, wantGid),
        )
      else same(ctx, out, 'mount', `owner of ${m.path} is ${m.owner}`)
    }
    if (m.mode) {
      const mode = Number.parseInt(m.mode, 8)
      if (st.mode !== mode)
        await act(
          ctx,
          out,
          'mount',
          'update',
          `chmod ${m.path} from ${st.mode.toString(8).padStart(4, '0')} to ${m.mode.padStart(4, '0')}`,
          () => host.chmod(m.path, mode),
        )
      else same(ctx, out, 'mount', `mode of ${m.path} is ${m.mode.padStart(4, '0')}`)
    }
  }

  if (ctx.growAfterMount && (current || ctx.mode === 'apply')) {
    const growth = await fsGrowth(host, device, type, m.path)
    if (growth) {
      try {
        await act(
          ctx,
          out,
          'mount',
          'update',
          `grow ${type} at ${m.path} online from ${gib(growth.from)} to ${gib(growth.to)}`,
          () => host.growOnline(device, type, m.path),
        )
      } catch (err) {
        // The data is mounted and safe; only the extra space is not usable yet.
        const msg = `could not grow ${type} at ${m.path} online: ${(err as Error).message}; it is grown offline at the next boot`
        deps.log.warn(msg)
        return { changes: out, warnings: [msg], summary: `mounted at ${m.path}; grow failed` }
      }
    }
  }
  return { changes: out, summary: `mounted at ${m.path}` }
}

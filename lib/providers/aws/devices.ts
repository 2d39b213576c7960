import { join } from 'node:path'
import type { Roots } from '../../hosts/roots.js'

/** Nitro: the NVMe serial is the volume id without its dash (vol-0abc → vol0abc). */
export function nvmeSerial(volumeId: string): string {
  return volumeId.replace('-', '')
}

/** Nitro: the link systemd's udev rules make for an EBS volume (60-persistent-storage.rules). */
export function nitroByIdPath(roots: Roots, volumeId: string): string {
  return join(roots.dev, 'disk', 'by-id', `nvme-Amazon_Elastic_Block_Store_${nvmeSerial(volumeId)}`)
}

/** Xen: an attachment as /dev/sdf may appear as sdf or xvdf. */
export function xenKernelNames(attachDevice: string): string[] {
  const letters = attachDevice.replace(/^\/dev\//, '').replace(/^(sd|xvd)/, '')
  return [`sd${letters}`, `xvd${letters}`]
}

/**
 * Device names to attach at, in order: /dev/sd[f-p] is what AWS recommends for EBS (sd[b-e] is
 * instance store), then sd[q-z].
 */
export const attachNames: readonly string[] = 'fghijklmnopqrstuvwxyz'.split('').map((c) => `/dev/sd${c}`)

/** The first attach name not used by the instance's block device mappings (either spelling). */
export function freeAttachName(used: Iterable<string>, skip: Set<string> = new Set()): string | undefined {
  const taken = new Set<string>()
  for (const name of used) for (const k of xenKernelNames(name)) taken.add(k)
  return attachNames.find((n) => !skip.has(n) && !xenKernelNames(n).some((k) => taken.has(k)))
}

import { HostError, RefusalError } from '../errors.js'
import type { DeviceIdentity, Host } from '../hosts/host.js'
import type { ExpectedIdentity, Volume } from '../providers/provider.js'

/**
 * Rule 2: the device must show the claimed volume's identity (loop backing file, NVMe
 * serial) before cps touches it. A stale link to another disk is a refusal (aws-ebs-csi #1224).
 */
export async function verifyIdentity(
  host: Host,
  device: string,
  vol: Volume,
  expected: ExpectedIdentity,
): Promise<DeviceIdentity> {
  const id = await host.identity(device)
  if (!id)
    throw new HostError(`device ${device} of volume ${vol.id} is not a block device (missing or gone)`, {
      volume: vol.id,
      device,
      hint: 'check that the volume is attached; cps re-attaches it on the next run',
    })
  if ('backingFile' in expected && id.backingFile !== expected.backingFile)
    throw new RefusalError(
      `device ${device} (${id.realPath}) is backed by ${id.backingFile ?? 'nothing'}, not by volume ${vol.id} (${expected.backingFile}); refusing to touch it`,
      {
        volume: vol.id,
        device,
        hint: 'a stale device link points at another disk: fix or remove it, then rerun',
      },
    )
  if ('serial' in expected && id.serial !== expected.serial)
    throw new RefusalError(
      `device ${device} (${id.realPath}) has serial ${id.serial ?? 'none'}, not ${expected.serial} of volume ${vol.id}; refusing to touch it`,
      {
        volume: vol.id,
        device,
        hint: 'a stale device link points at another disk: fix or remove it, then rerun',
      },
    )
  if ('kernelNames' in expected && !expected.kernelNames.includes(id.realPath.split('/').pop() as string))
    throw new RefusalError(
      `device ${device} is ${id.realPath}, not one of ${expected.kernelNames.join(', ')} where volume ${vol.id} is attached; refusing to touch it`,
      {
        volume: vol.id,
        device,
        hint: 'a stale device link points at another disk: fix or remove it, then rerun',
      },
    )
  return id
}

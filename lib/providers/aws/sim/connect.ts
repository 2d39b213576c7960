import {
  AttachVolumeCommand,
  CreateSnapshotCommand,
  CreateTagsCommand,
  CreateVolumeCommand,
  DeleteTagsCommand,
  DescribeInstancesCommand,
  DescribeSnapshotsCommand,
  DescribeVolumesCommand,
  DescribeVolumesModificationsCommand,
  EC2Client,
  ModifyVolumeCommand,
} from '@aws-sdk/client-ec2'
import type { Clock } from '../../../clock.js'
import { FakeHost } from '../../../hosts/fake/fake-host.js'
import type { Host } from '../../../hosts/host.js'
import type { Roots } from '../../../hosts/roots.js'
import { AwsProvider, type AwsProviderOptions } from '../aws-provider.js'
import { nitroByIdPath, nvmeSerial, xenKernelNames } from '../devices.js'
import type { Ec2Simulator, InstanceHooks } from './ec2-sim.js'

const GiB = 1024 ** 3

/**
 * Route a real EC2Client's commands to the simulator: its `send` is replaced (as
 * aws-sdk-client-mock would stub it, but without a mock that keeps every call and response of
 * a 1000-machine run alive). Any command the simulator does not model is rejected, never
 * answered with undefined.
 */
export function connectClient(client: EC2Client, sim: Ec2Simulator): void {
  // biome-ignore lint/suspicious/noExplicitAny: one table for the simulator's typed handlers
  const routes = new Map<unknown, (input: any) => unknown>([
    [DescribeVolumesCommand, (i) => sim.describeVolumes(i)],
    [CreateVolumeCommand, (i) => sim.createVolume(i)],
    [AttachVolumeCommand, (i) => sim.attachVolume(i)],
    [ModifyVolumeCommand, (i) => sim.modifyVolume(i)],
    [DescribeVolumesModificationsCommand, (i) => sim.describeVolumesModifications(i)],
    [CreateTagsCommand, (i) => sim.createTags(i)],
    [DeleteTagsCommand, (i) => sim.deleteTags(i)],
    [DescribeInstancesCommand, (i) => sim.describeInstances(i)],
    [DescribeSnapshotsCommand, (i) => sim.describeSnapshots(i)],
    [CreateSnapshotCommand, (i) => sim.createSnapshot(i)],
  ])
  const send = async (command: { input: unknown; constructor: { name: string } }) => {
    const fn = routes.get(command.constructor)
    if (!fn) throw new Error(`${command.constructor.name} is not modelled by the EC2 simulator`)
    sim.record(command.constructor.name.replace(/Command$/, ''), command.input)
    const out = fn(command.input)
    sim.afterCall()
    return out
  }
  client.send = send as EC2Client['send']
}

/**
 * A real AwsProvider for one simulated instance, over a real EC2Client routed to the
 * simulator. `hooks` make devices appear on the instance's host when EC2 attaches.
 */
export function simProvider(
  sim: Ec2Simulator,
  opts: { instanceId: string; zone: string; host: Host; hooks: InstanceHooks; roots: Roots } & Tuning,
): AwsProvider {
  // A second provider for the same instance is the same machine after a restart.
  if (!sim.hasInstance(opts.instanceId)) sim.addInstance(opts.instanceId, opts.zone, opts.hooks)
  const region = opts.zone.slice(0, -1)
  const client = new EC2Client({ region, credentials: { accessKeyId: 'sim', secretAccessKey: 'sim' } })
  connectClient(client, sim)
  const identity = { instanceId: opts.instanceId, zone: opts.zone, region }
  return new AwsProvider({
    client,
    identity: async () => identity,
    host: opts.host,
    roots: opts.roots,
    clock: sim.clock,
    timeouts: opts.timeouts,
    throttleRetries: opts.throttleRetries,
    throttleBudgetMs: opts.throttleBudgetMs,
    pageSize: opts.pageSize,
    random: opts.random,
  })
}

/** Provider knobs a simulation may set. */
export type Tuning = Pick<
  AwsProviderOptions,
  'timeouts' | 'throttleRetries' | 'throttleBudgetMs' | 'pageSize' | 'random'
>

export interface SimMachine {
  instanceId: string
  zone: string
  host: FakeHost
  provider: AwsProvider
  /** The simulator's virtual clock, for the steps' own waits. */
  clock: Clock
}

/**
 * One simulated instance with a FakeHost whose devices appear when EC2 attaches (Nitro: an
 * NVMe device with the volume's serial behind the by-id link; Xen: /dev/xvdX, no serial).
 */
export function simMachine(
  sim: Ec2Simulator,
  opts: { instanceId: string; zone: string; xen?: boolean } & Tuning,
): SimMachine {
  const host = new FakeHost()
  const roots = { dev: '/dev', sys: '/sys' }
  let nvme = 1
  const hooks: InstanceHooks = {
    attached(volumeId, device, sizeGiB) {
      if (opts.xen) {
        host.addDevice(`${roots.dev}/${xenKernelNames(device)[1]}`, { sizeBytes: sizeGiB * GiB })
        return
      }
      const node = `${roots.dev}/nvme${nvme++}n1`
      host.addDevice(node, { serial: nvmeSerial(volumeId), sizeBytes: sizeGiB * GiB })
      host.links.set(nitroByIdPath(roots, volumeId), node)
    },
    resized(volumeId, sizeGiB) {
      const path = host.links.get(nitroByIdPath(roots, volumeId))
      const dev = path && host.devices.get(path)
      if (dev) dev.sizeBytes = sizeGiB * GiB
    },
  }
  const provider = simProvider(sim, { ...opts, host, hooks, roots })
  return { instanceId: opts.instanceId, zone: opts.zone, host, provider, clock: sim.clock }
}

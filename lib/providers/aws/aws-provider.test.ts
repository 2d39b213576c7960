// The exact EC2 calls the provider makes, and how their errors are reported (aws-sdk-client-mock).
import {
  AttachVolumeCommand,
  CreateTagsCommand,
  CreateVolumeCommand,
  DeleteTagsCommand,
  DescribeInstancesCommand,
  DescribeVolumesCommand,
  DescribeVolumesModificationsCommand,
  EC2Client,
  type Volume as Ec2Volume,
  ModifyVolumeCommand,
} from '@aws-sdk/client-ec2'
import { mockClient } from 'aws-sdk-client-mock'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import type { Clock } from '../../clock.js'
import { ProviderError } from '../../errors.js'
import { FakeHost } from '../../hosts/fake/fake-host.js'
import { AwsProvider } from './aws-provider.js'
import { toProviderError } from './errors.js'
import { simError } from './sim/ec2-sim.js'

const test = suite('aws provider: calls and errors (aws-sdk-client-mock)')
const client = new EC2Client({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } })
const ec2 = mockClient(client)
const GiB = 1024 ** 3

function fakeClock(): Clock & { t: number } {
  const c = {
    t: 0,
    now: () => c.t,
    sleep: async (ms: number) => {
      c.t += ms
    },
  }
  return c
}

function provider(host = new FakeHost(), clock = fakeClock()) {
  return new AwsProvider({
    client,
    host,
    clock,
    roots: { dev: '/dev', sys: '/sys' },
    identity: async () => ({ instanceId: 'i-1', zone: 'us-east-1a', region: 'us-east-1' }),
    timeouts: { availableMs: 10_000, deviceMs: 5_000, modifyMs: 10_000 },
  })
}

const vol1 = { id: 'vol-1', sizeGiB: 10, state: 'available' as const, tags: {}, createdAt: '' }
const vol = (id: string, over: Partial<Ec2Volume> = {}): Ec2Volume => ({
  VolumeId: id,
  Size: 10,
  State: 'available',
  Tags: [{ Key: 'app', Value: 'k' }],
  CreateTime: new Date(0),
  ...over,
})

test.before.each(() => {
  ec2.reset()
  // A command nobody expects must fail loudly, not answer undefined.
  ec2.onAnyCommand().rejects(new Error('unexpected command'))
})

test("findAttached reads the block device mappings, then only the non-root volumes, keeping the pool's", async () => {
  ec2.on(DescribeInstancesCommand).resolves({
    Reservations: [
      {
        Instances: [
          {
            RootDeviceName: '/dev/xvda',
            BlockDeviceMappings: [
              { DeviceName: '/dev/xvda', Ebs: { VolumeId: 'vol-root' } },
              { DeviceName: '/dev/sdf', Ebs: { VolumeId: 'vol-1' } },
              { DeviceName: '/dev/sdg', Ebs: { VolumeId: 'vol-x' } },
            ],
          },
        ],
      },
    ],
  })
  const attached = { State: 'in-use' as const }
  ec2.on(DescribeVolumesCommand, { VolumeIds: ['vol-1', 'vol-x'] }).resolves({
    Volumes: [
      vol('vol-1', {
        ...attached,
        Attachments: [{ InstanceId: 'i-1', State: 'attached', Device: '/dev/sdf' }],
      }),
      vol('vol-x', {
        ...attached,
        Tags: [{ Key: 'app', Value: 'other' }],
        Attachments: [{ InstanceId: 'i-1', State: 'attached', Device: '/dev/sdg' }],
      }),
    ],
  })
  const vols = await provider().findAttached({ app: 'k' })
  assert.equal(
    vols.map((v) => [v.id, v.state, v.attachedTo, v.device]),
    [['vol-1', 'in-use', 'i-1', '/dev/sdf']],
  )
  assert.is(ec2.commandCalls(DescribeVolumesCommand).length, 1)
})

test('findAttached on a fresh instance (root volume only) reads no volume at all', async () => {
  ec2.on(DescribeInstancesCommand).resolves({
    Reservations: [
      {
        Instances: [
          {
            RootDeviceName: '/dev/xvda',
            BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { VolumeId: 'vol-root' } }],
          },
        ],
      },
    ],
  })
  assert.equal(await provider().findAttached({ app: 'k' }), [])
  assert.is(ec2.commandCalls(DescribeVolumesCommand).length, 0)
})

test('listAvailable reads one page of available pool volumes and hands back the cursor', async () => {
  ec2
    .on(DescribeVolumesCommand)
    .resolves({ Volumes: [vol('vol-1'), vol('vol-m', { MultiAttachEnabled: true })], NextToken: 'p2' })
  const page = await provider().listAvailable({ app: 'k' })
  assert.equal(
    page.volumes.map((v) => v.id),
    ['vol-1'],
  )
  assert.is(page.cursor, 'p2')
  assert.equal(ec2.commandCalls(DescribeVolumesCommand)[0]?.args[0].input, {
    Filters: [
      { Name: 'tag:app', Values: ['k'] },
      { Name: 'availability-zone', Values: ['us-east-1a'] },
      { Name: 'status', Values: ['available'] },
    ],
    MaxResults: 500,
    NextToken: undefined,
  })
  assert.is(ec2.commandCalls(DescribeVolumesCommand).length, 1)
})

test('getVolume asks by id without MaxResults (EC2 rejects the combination); not found is undefined', async () => {
  ec2.on(DescribeVolumesCommand, { VolumeIds: ['vol-1'] }).resolves({ Volumes: [vol('vol-1')] })
  ec2
    .on(DescribeVolumesCommand, { VolumeIds: ['vol-gone'] })
    .rejects(simError('InvalidVolume.NotFound', "The volume 'vol-gone' does not exist."))
  const p = provider()
  assert.is((await p.getVolume('vol-1'))?.id, 'vol-1')
  assert.is(await p.getVolume('vol-gone'), undefined)
  assert.equal(Object.keys(ec2.commandCalls(DescribeVolumesCommand)[0]?.args[0].input ?? {}), ['VolumeIds'])
})

test('createVolume sends zone, size, gp3, tags from birth and the client token, then waits for available', async () => {
  ec2.on(CreateVolumeCommand).resolves({ VolumeId: 'vol-new', State: 'creating' })
  ec2
    .on(DescribeVolumesCommand, { VolumeIds: ['vol-new'] })
    .resolvesOnce({ Volumes: [vol('vol-new', { State: 'creating' })] })
    .resolves({ Volumes: [vol('vol-new')] })
  const clock = fakeClock()
  const v = await provider(new FakeHost(), clock).createVolume({
    sizeGiB: 10,
    tags: { app: 'k', 'cps:format-token': 't' },
    clientToken: 'tok',
  })
  assert.is(v.state, 'available')
  assert.equal(ec2.commandCalls(CreateVolumeCommand)[0]?.args[0].input, {
    AvailabilityZone: 'us-east-1a',
    Size: 10,
    VolumeType: 'gp3',
    Iops: undefined,
    Throughput: undefined,
    Encrypted: undefined,
    KmsKeyId: undefined,
    SnapshotId: undefined,
    TagSpecifications: [
      {
        ResourceType: 'volume',
        Tags: [
          { Key: 'app', Value: 'k' },
          { Key: 'cps:format-token', Value: 't' },
        ],
      },
    ],
    ClientToken: 'tok',
  })
  assert.ok(clock.t > 0, 'it waited')
})

test('createVolume gives up after its timeout with a message that says a rerun is safe', async () => {
  ec2.on(CreateVolumeCommand).resolves({ VolumeId: 'vol-slow' })
  ec2.on(DescribeVolumesCommand).resolves({ Volumes: [vol('vol-slow', { State: 'creating' })] })
  try {
    await provider().createVolume({ sizeGiB: 10, tags: {}, clientToken: 't' })
    assert.unreachable()
  } catch (err) {
    assert.instance(err, ProviderError)
    assert.match((err as Error).message, /volume vol-slow is still not available 10 s after CreateVolume/)
    assert.match((err as ProviderError).hint ?? '', /never created twice/)
  }
})

test('attachVolume picks the first free /dev/sd[f-z] name, moving on when EC2 says the name is taken', async () => {
  ec2.on(DescribeVolumesCommand).resolves({ Volumes: [vol('vol-1')] })
  ec2.on(DescribeInstancesCommand).resolves({
    Reservations: [
      { Instances: [{ RootDeviceName: '/dev/xvda', BlockDeviceMappings: [{ DeviceName: '/dev/xvdf' }] }] },
    ],
  })
  ec2
    .on(AttachVolumeCommand, { Device: '/dev/sdg' })
    .rejects(
      simError(
        'InvalidParameterValue',
        "Invalid value '/dev/sdg' for unixDevice. Attachment point /dev/sdg is already in use",
      ),
    )
    .on(AttachVolumeCommand, { Device: '/dev/sdh' })
    .resolves({ State: 'attaching' })
  const v = await provider().attachVolume(vol1)
  assert.equal([v.attachedTo, v.device], ['i-1', '/dev/sdh'])
  assert.equal(
    ec2.commandCalls(AttachVolumeCommand).map((c) => c.args[0].input),
    [
      { VolumeId: 'vol-1', InstanceId: 'i-1', Device: '/dev/sdg' },
      { VolumeId: 'vol-1', InstanceId: 'i-1', Device: '/dev/sdh' },
    ],
  )
})

test('VolumeInUse from AttachVolume is a ProviderError with that code (claim moves on)', async () => {
  ec2.on(DescribeVolumesCommand).resolves({ Volumes: [vol('vol-1')] })
  ec2.on(DescribeInstancesCommand).resolves({ Reservations: [{ Instances: [{}] }] })
  ec2
    .on(AttachVolumeCommand)
    .rejects(simError('VolumeInUse', "vol 'vol-1' is already attached to an instance"))
  try {
    await provider().attachVolume(vol1)
    assert.unreachable()
  } catch (err) {
    assert.instance(err, ProviderError)
    assert.is((err as ProviderError).code, 'VolumeInUse')
    assert.match((err as Error).message, /AttachVolume vol-1 at \/dev\/sdf: VolumeInUse/)
  }
})

test('a device that never appears is an error naming the volume and the paths watched', async () => {
  const p = provider()
  try {
    await p.ensureDevice({
      id: 'vol-0abc',
      sizeGiB: 1,
      state: 'in-use',
      tags: {},
      device: '/dev/sdf',
      createdAt: '',
    })
    assert.unreachable()
  } catch (err) {
    assert.is((err as ProviderError).code, 'DeviceTimeout')
    assert.match(
      (err as Error).message,
      /volume vol-0abc is attached as \/dev\/sdf but no device appeared at \/dev\/disk\/by-id\/nvme-Amazon_Elastic_Block_Store_vol0abc or \/dev\/sdf or \/dev\/xvdf within 5 s/,
    )
  }
  assert.is(ec2.calls().length, 0, 'the API is not polled for attach state')
})

test('growVolume: ModifyVolume with the size, then waits for optimizing and the device size', async () => {
  const host = new FakeHost()
  host.addDevice('/dev/nvme1n1', { serial: 'vol1', sizeBytes: 10 * GiB })
  host.links.set('/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol1', '/dev/nvme1n1')
  ec2
    .on(DescribeVolumesModificationsCommand)
    .rejectsOnce(
      simError('InvalidVolumeModification.NotFound', "Modification for volume 'vol-1' does not exist."),
    )
    .resolvesOnce({
      VolumesModifications: [{ ModificationState: 'modifying', TargetSize: 20, StartTime: new Date(1) }],
    })
    .callsFake(async () => {
      const d = host.devices.get('/dev/nvme1n1')
      if (d) d.sizeBytes = 20 * GiB
      return {
        VolumesModifications: [{ ModificationState: 'optimizing', TargetSize: 20, StartTime: new Date(1) }],
      }
    })
  ec2.on(ModifyVolumeCommand).resolves({})
  await provider(host).growVolume({ id: 'vol-1', sizeGiB: 10, state: 'in-use', tags: {}, createdAt: '' }, 20)
  assert.equal(ec2.commandCalls(ModifyVolumeCommand)[0]?.args[0].input, { VolumeId: 'vol-1', Size: 20 })
})

test('growVolume does not modify again when a modification to that size is under way', async () => {
  ec2.on(DescribeVolumesModificationsCommand).resolves({
    VolumesModifications: [{ ModificationState: 'optimizing', TargetSize: 20, StartTime: new Date(1) }],
  })
  await provider().growVolume({ id: 'vol-1', sizeGiB: 10, state: 'in-use', tags: {}, createdAt: '' }, 20)
  assert.is(ec2.commandCalls(ModifyVolumeCommand).length, 0)
})

test('tags: CreateTags overwrites, DeleteTags by key', async () => {
  ec2.on(CreateTagsCommand).resolves({})
  ec2.on(DeleteTagsCommand).resolves({})
  const p = provider()
  await p.setTags('vol-1', { 'cps:fs-uuid': 'u' })
  await p.deleteTags('vol-1', ['cps:format-token'])
  assert.equal(ec2.commandCalls(CreateTagsCommand)[0]?.args[0].input, {
    Resources: ['vol-1'],
    Tags: [{ Key: 'cps:fs-uuid', Value: 'u' }],
  })
  assert.equal(ec2.commandCalls(DeleteTagsCommand)[0]?.args[0].input, {
    Resources: ['vol-1'],
    Tags: [{ Key: 'cps:format-token' }],
  })
})

test('error mapping: each says the call, the volume, the code and what to do', () => {
  const denied = toProviderError(
    simError(
      'UnauthorizedOperation',
      'You are not authorized to perform this operation. Encoded authorization failure message: abc',
    ),
    'AttachVolume vol-1 at /dev/sdf',
    'vol-1',
  )
  assert.is(denied.code, 'UnauthorizedOperation')
  assert.is(denied.volume, 'vol-1')
  assert.is(denied.exitCode, 5)
  assert.match(
    denied.message,
    /^AttachVolume vol-1 at \/dev\/sdf: UnauthorizedOperation: You are not authorized/,
  )
  assert.match(denied.hint ?? '', /docs\/iam-policy\.json/)
  assert.match(denied.hint ?? '', /decode-authorization-message/)
  const throttled = toProviderError(
    simError('RequestLimitExceeded', 'Request limit exceeded.'),
    'DescribeVolumes',
  )
  assert.match(throttled.hint ?? '', /AWS_MAX_ATTEMPTS/)
  const creds = toProviderError(
    Object.assign(new Error('Could not load credentials from any providers'), {
      name: 'CredentialsProviderError',
    }),
    'DescribeVolumes',
  )
  assert.is(creds.code, 'NoCredentials')
  assert.match(creds.hint ?? '', /instance a role|AWS_PROFILE/)
  const region = toProviderError(new Error('Region is missing'), 'DescribeVolumes')
  assert.is(region.code, 'NoRegion')
  const zone = toProviderError(
    simError(
      'InvalidVolume.ZoneMismatch',
      "The volume 'vol-1' is not in the same availability zone as instance 'i-1'",
    ),
    'AttachVolume vol-1',
    'vol-1',
  )
  assert.match(zone.hint ?? '', /another availability zone/)
})

test.run()

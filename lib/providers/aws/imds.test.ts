// IMDSv2 against a local HTTP server that behaves like IMDS with HttpTokens=required.

import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { ProviderError } from '../../errors.js'
import { readIdentity } from './imds.js'
import { startFakeImds } from './sim/imds-server.js'

const test = suite('IMDSv2 identity (local fake IMDS over HTTP)')
const meta = {
  'instance-id': 'i-0abc',
  'placement/availability-zone': 'eu-west-1b',
  'placement/region': 'eu-west-1',
}

test('reads instance id, zone and region with a session token; the ASG name when tags are exposed', async () => {
  const imds = await startFakeImds({ ...meta, 'tags/instance/aws:autoscaling:groupName': 'kafka-asg' })
  process.env.AWS_EC2_METADATA_SERVICE_ENDPOINT = imds.url
  try {
    assert.equal(await readIdentity(), {
      instanceId: 'i-0abc',
      zone: 'eu-west-1b',
      region: 'eu-west-1',
      asgName: 'kafka-asg',
    })
    assert.ok(
      imds.requests.filter((r) => r.method === 'GET').every((r) => r.token),
      'every GET carried the token',
    )
  } finally {
    await imds.close()
  }
})

test('without instance metadata tags, the ASG name is simply absent', async () => {
  const imds = await startFakeImds(meta)
  process.env.AWS_EC2_METADATA_SERVICE_ENDPOINT = imds.url
  try {
    assert.is((await readIdentity()).asgName, undefined)
  } finally {
    await imds.close()
  }
})

test('no token, no identity: never falls back to IMDSv1, and says what to do', async () => {
  const imds = await startFakeImds(meta, { refuseToken: true })
  process.env.AWS_EC2_METADATA_SERVICE_ENDPOINT = imds.url
  try {
    await readIdentity()
    assert.unreachable()
  } catch (err) {
    assert.instance(err, ProviderError)
    assert.is((err as ProviderError).code, 'ImdsUnavailable')
    assert.match(
      (err as Error).message,
      new RegExp(`cannot read this instance's identity from IMDSv2 at ${imds.url}`),
    )
    assert.match((err as ProviderError).hint ?? '', /IMDSv2 enabled/)
    assert.not.ok(
      imds.requests.some((r) => r.method === 'GET' && !r.token),
      'no IMDSv1 GET',
    )
  } finally {
    await imds.close()
  }
})

test.run()

// Failures through the real SDK stack (retries, credential chain, XML errors), against local
// HTTP servers standing in for the EC2 endpoint and IMDS. Nothing leaves 127.0.0.1.

import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { ConfigError, ProviderError } from '../../errors.js'
import { FakeHost } from '../../hosts/fake/fake-host.js'
import { AwsProvider, createAwsProvider, createEc2Client } from './aws-provider.js'
import { startFakeImds } from './sim/imds-server.js'

const test = suite('aws errors through the real SDK (local fake endpoints)')
const home = mkdtempSync(join(tmpdir(), 'cps-home-'))
const saved = { ...process.env }

/** An "EC2 endpoint" that answers every request with one EC2 error, counting requests. */
async function failingEc2(
  status: number,
  code: string,
  message: string,
): Promise<{ url: string; hits: () => number; close(): Promise<void> }> {
  let hits = 0
  const server: Server = createServer((req, res) => {
    hits++
    req.resume()
    req.on('end', () => {
      res.writeHead(status, { 'content-type': 'text/xml' })
      res.end(
        `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${code}</Code><Message>${message}</Message></Error></Errors><RequestID>req-1</RequestID></Response>`,
      )
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    hits: () => hits,
    close: () => new Promise((r) => server.close(() => r())),
  }
}

function providerFor(url: string, throttleRetries = 0): AwsProvider {
  return new AwsProvider({
    client: createEc2Client('us-east-1', url),
    host: new FakeHost(),
    throttleRetries,
    throttleBudgetMs: 0,
    // cps's own backoff on a clock that does not wait (the SDK's own retries wait for real).
    clock: { now: () => 0, sleep: async () => {} },
    identity: async () => ({ instanceId: 'i-1', zone: 'us-east-1a', region: 'us-east-1' }),
  })
}

test.before.each(() => {
  process.env = {
    ...saved,
    HOME: home,
    AWS_ACCESS_KEY_ID: 'AKIDTEST',
    AWS_SECRET_ACCESS_KEY: 'secret',
    AWS_MAX_ATTEMPTS: '3',
  }
  delete process.env.AWS_PROFILE
})
test.after(() => {
  process.env = saved
  rmSync(home, { recursive: true, force: true })
})

test('throttling: the SDK retries (adaptive mode), then cps reports RequestLimitExceeded with a hint', async () => {
  const ec2 = await failingEc2(503, 'RequestLimitExceeded', 'Request limit exceeded.')
  try {
    await providerFor(ec2.url).listAvailable({ app: 'x' })
    assert.unreachable()
  } catch (err) {
    assert.instance(err, ProviderError)
    assert.is((err as ProviderError).code, 'RequestLimitExceeded')
    assert.match((err as Error).message, /^DescribeVolumes: RequestLimitExceeded: Request limit exceeded\./)
    assert.match((err as ProviderError).hint ?? '', /AWS_MAX_ATTEMPTS/)
    assert.is(ec2.hits(), 3, 'AWS_MAX_ATTEMPTS attempts in all')
    // On retry-safe calls cps then waits the throttling out itself, a few more rounds.
    const more = await providerFor(ec2.url, 1)
      .listAvailable({ app: 'x' })
      .catch((e: ProviderError) => e)
    assert.is((more as ProviderError).code, 'RequestLimitExceeded')
    assert.is(ec2.hits(), 3 + 3 * 2)
  } finally {
    await ec2.close()
  }
})

test('access denied: UnauthorizedOperation names the call and points at the IAM policy', async () => {
  const ec2 = await failingEc2(
    403,
    'UnauthorizedOperation',
    'You are not authorized to perform this operation. Encoded authorization failure message: xyz',
  )
  try {
    await providerFor(ec2.url).setTags('vol-1', { 'cps:fs-uuid': 'u' })
    assert.unreachable()
  } catch (err) {
    assert.is((err as ProviderError).code, 'UnauthorizedOperation')
    assert.is((err as ProviderError).volume, 'vol-1')
    assert.match((err as Error).message, /^CreateTags vol-1: UnauthorizedOperation: You are not authorized/)
    assert.match((err as ProviderError).hint ?? '', /iam-policy\.json/)
    assert.is(ec2.hits(), 1, 'not retried')
  } finally {
    await ec2.close()
  }
})

test('AWS_ENDPOINT_URL is honoured when the spec names no endpoint', async () => {
  const ec2 = await failingEc2(403, 'UnauthorizedOperation', 'denied')
  process.env.AWS_ENDPOINT_URL = ec2.url
  try {
    const p = new AwsProvider({
      client: createEc2Client('us-east-1'),
      host: new FakeHost(),
      identity: async () => ({ instanceId: 'i-1', zone: 'us-east-1a', region: 'us-east-1' }),
    })
    await p.listAvailable({ app: 'x' }).catch(() => {})
    assert.is(ec2.hits(), 1)
  } finally {
    await ec2.close()
  }
})

test('no credentials anywhere (no env, no profile, no instance role): NoCredentials with a hint', async () => {
  const ec2 = await failingEc2(500, 'InternalError', 'should not be reached')
  const imds = await startFakeImds({})
  delete process.env.AWS_ACCESS_KEY_ID
  delete process.env.AWS_SECRET_ACCESS_KEY
  process.env.AWS_EC2_METADATA_SERVICE_ENDPOINT = imds.url
  try {
    await providerFor(ec2.url).listAvailable({ app: 'x' })
    assert.unreachable()
  } catch (err) {
    assert.is((err as ProviderError).code, 'NoCredentials', (err as Error).message)
    assert.match((err as ProviderError).hint ?? '', /role|AWS_PROFILE/)
    assert.is(ec2.hits(), 0)
  } finally {
    await ec2.close()
    await imds.close()
  }
})

test("a spec region other than the instance's is a config error before any EC2 call", async () => {
  const imds = await startFakeImds({
    'instance-id': 'i-1',
    'placement/availability-zone': 'us-east-1a',
    'placement/region': 'us-east-1',
  })
  process.env.AWS_EC2_METADATA_SERVICE_ENDPOINT = imds.url
  try {
    await createAwsProvider({ kind: 'aws', region: 'eu-west-1' }, new FakeHost())
    assert.unreachable()
  } catch (err) {
    assert.instance(err, ConfigError)
    assert.match(
      (err as Error).message,
      /provider.aws.region is eu-west-1, but this instance is in us-east-1 \(us-east-1a\)/,
    )
  } finally {
    await imds.close()
  }
})

test.run()

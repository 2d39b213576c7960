import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface FakeImds {
  url: string
  /** Paths requested, with whether they carried the session token. */
  requests: { method: string; path: string; token: boolean }[]
  close(): Promise<void>
}

/**
 * A local IMDSv2: PUT /latest/api/token hands out a token; every GET must carry it (401
 * otherwise, as IMDS does with HttpTokens=required). Listens on 127.0.0.1 only.
 */
export async function startFakeImds(
  meta: Record<string, string>,
  opts: { refuseToken?: boolean } = {},
): Promise<FakeImds> {
  const token = 'fake-imds-token'
  const requests: FakeImds['requests'] = []
  const server: Server = createServer((req, res) => {
    const path = req.url ?? ''
    requests.push({
      method: req.method ?? '',
      path,
      token: req.headers['x-aws-ec2-metadata-token'] === token,
    })
    if (req.method === 'PUT' && path === '/latest/api/token') {
      if (opts.refuseToken || !req.headers['x-aws-ec2-metadata-token-ttl-seconds'])
        return void res.writeHead(403).end()
      return void res.writeHead(200).end(token)
    }
    if (req.headers['x-aws-ec2-metadata-token'] !== token) return void res.writeHead(401).end()
    const key = path.replace(/^\/latest\/meta-data\//, '')
    if (req.method === 'GET' && key in meta) return void res.writeHead(200).end(meta[key])
    res.writeHead(404).end()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  }
}

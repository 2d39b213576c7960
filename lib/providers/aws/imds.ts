import { MetadataService } from '@aws-sdk/ec2-metadata-service'
import { ProviderError } from '../../errors.js'

/** Who and where this instance is, from IMDSv2. */
export interface InstanceIdentity {
  instanceId: string
  zone: string
  region: string
  /** The autoscaling group, when instance metadata tags are enabled. */
  asgName?: string
}

/** Reads instance metadata; the test double is a local HTTP server (AWS_EC2_METADATA_SERVICE_ENDPOINT). */
export interface MetadataReader {
  request(path: string, options: { method?: string }): Promise<string>
}

/** IMDSv2 only (a token first, never the v1 fallback); AWS_EC2_METADATA_SERVICE_ENDPOINT is honoured. */
export function createMetadataReader(): MetadataReader {
  return new MetadataService({ ec2MetadataV1Disabled: true, httpOptions: { timeout: 2000 }, retries: 3 })
}

/** Instance id, availability zone, region and (if exposed) autoscaling group from IMDSv2. */
export async function readIdentity(md: MetadataReader = createMetadataReader()): Promise<InstanceIdentity> {
  // The SDK joins the endpoint's pathname ("/") and this path: no leading slash, or IMDS sees "//latest".
  const get = (path: string) => md.request(`latest/meta-data/${path}`, {}).then((s) => s.trim())
  try {
    const [instanceId, zone, region] = await Promise.all([
      get('instance-id'),
      get('placement/availability-zone'),
      get('placement/region'),
    ])
    // Only with InstanceMetadataTags=enabled; a 404 otherwise.
    const asgName = await get('tags/instance/aws:autoscaling:groupName').catch(() => undefined)
    return { instanceId, zone, region, asgName: asgName || undefined }
  } catch (cause) {
    const where = process.env.AWS_EC2_METADATA_SERVICE_ENDPOINT ?? 'http://169.254.169.254'
    throw new ProviderError(
      `cannot read this instance's identity from IMDSv2 at ${where}: ${(cause as Error).message}`,
      {
        cause,
        code: 'ImdsUnavailable',
        hint: 'cps must run on an EC2 instance with IMDSv2 enabled (in a container, set the hop limit to 2); for tests set AWS_EC2_METADATA_SERVICE_ENDPOINT',
      },
    )
  }
}

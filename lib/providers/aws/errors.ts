import { ProviderError } from '../../errors.js'

/** Hints for the AWS errors an operator can act on. */
const hints: Record<string, string> = {
  UnauthorizedOperation:
    'grant the action in the instance role (docs/iam-policy.json has the least-privilege policy); decode the message with: aws sts decode-authorization-message --encoded-message <blob>',
  AuthFailure: 'the credentials were rejected: check the instance role or AWS_PROFILE',
  RequestLimitExceeded:
    'EC2 throttled this account for 30 minutes of retries: something else in the account may be calling EC2 hard; spread boot times, or raise AWS_MAX_ATTEMPTS',
  'InvalidVolume.ZoneMismatch':
    'the volume is in another availability zone: pools are per zone; tag volumes per zone or snapshot and recreate it here',
  'InvalidVolume.NotFound':
    'the volume was deleted, or is not visible yet (eventual consistency): rerun in a moment',
  'InvalidSnapshot.NotFound':
    'check create.snapshot: the snapshot does not exist in this region or is not shared with this account',
  IdempotentParameterMismatch:
    'a create with this claim was sent before with other parameters: remove claimId from the checkpoint to start a new claim',
  AttachmentLimitExceeded:
    'this instance has no free EBS attachment slot: use a larger instance type or fewer volumes',
  NoCredentials: 'give the instance a role, or set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY',
  NoRegion: 'set provider.aws.region (--region) or AWS_REGION',
}

/** The error code the SDK gives a failure (the EC2 error code for service errors). */
export function awsCode(err: unknown): string {
  const e = err as { name?: string; Code?: string; message?: string }
  if (e?.name === 'CredentialsProviderError' || /Could not load credentials/.test(e?.message ?? ''))
    return 'NoCredentials'
  if (/Region is missing/i.test(e?.message ?? '')) return 'NoRegion'
  return e?.Code ?? e?.name ?? 'Error'
}

/** Turn an SDK error into a ProviderError naming the call, the volume and what to do. */
export function toProviderError(err: unknown, what: string, volume?: string): ProviderError {
  if (err instanceof ProviderError) return err
  const code = awsCode(err)
  const message = (err as Error)?.message ?? String(err)
  return new ProviderError(`${what}: ${code}: ${message}`, { cause: err, code, volume, hint: hints[code] })
}

/* DO NOT MODIFY BY HAND: generated from schemas/cps.schema.json by `npm run gen`.
 * A test fails when this file is stale. */

/**
 * Checkpoint file where cps keeps the facts it learned (volume ids, claim tokens). Flag: --state.
 */
export type AbsolutePath = string
/**
 * Directory that holds the catalog (catalog.json) and the image files. Flag: --local-dir.
 */
export type AbsolutePath1 = string
/**
 * Absolute mount point; created if missing. Not /, and not under /proc, /sys or /dev. Flag: --mount.
 */
export type AbsolutePath2 = string

/**
 * A cps spec: which persistent volumes this machine should have, and how they are formatted and mounted.
 */
export interface Spec {
  /**
   * Version of the spec format. Only cps/v1 exists.
   */
  apiVersion: 'cps/v1'
  state?: AbsolutePath
  /**
   * Where volumes come from. Exactly one provider. Default: the embedded local provider.
   */
  provider?: {
    local?: LocalProvider
    aws?: AwsProvider
  }
  /**
   * The volumes this machine should have. Each is reconciled on its own.
   *
   * @minItems 1
   * @maxItems 26
   */
  volumes: [VolumeSpec, ...VolumeSpec[]]
}
/**
 * The embedded provider: volumes are sparse image files in a directory, with a JSON catalog of their tags, attached as loop devices. Needs root.
 */
export interface LocalProvider {
  dir?: AbsolutePath1
}
/**
 * Amazon EBS. The instance id and availability zone come from IMDSv2; credentials from the default chain (environment, profile, instance role).
 */
export interface AwsProvider {
  /**
   * AWS region, e.g. us-east-1. Default: this instance's region, from IMDS; if given, it must be that region. Flag: --region.
   */
  region?: string
  /**
   * EC2 API endpoint URL, for testing or private endpoints (AWS_ENDPOINT_URL also works). Flag: --endpoint.
   */
  endpoint?: string
}
/**
 * One persistent volume: where it comes from, its filesystem and its mount.
 */
export interface VolumeSpec {
  /**
   * Name of this volume, unique within the file; the key of its facts in the checkpoint. Flag: --name.
   */
  name: string
  /**
   * The pool this volume is taken from: a volume belongs to the pool when it carries all these tags.
   */
  pool: {
    tags: Tags
  }
  /**
   * How to claim an available pool volume without racing neighbours. optimistic: attach in random order; losing a race moves on (fast; costs an attach call per lost race). consensus: tag a candidate with a claim token, wait, re-read; attach only if the token survived (slower by the wait; no attach attempt on a neighbour's volume). Flag: --claim.
   */
  claim?: 'optimistic' | 'consensus'
  /**
   * Tuning of claim: consensus.
   */
  consensus?: {
    /**
     * How long to wait after tagging a candidate before re-reading it. Flag: --claim-wait.
     */
    waitSeconds?: number
    /**
     * A claim token older than this on a volume that is still available is ignored (its machine died); the winner renews its claim every third of this while its attach waits. At least twice waitSeconds. Flag: --claim-timeout.
     */
    lockTimeoutSeconds?: number
  }
  /**
   * How to create a volume when the pool has none available. Without it, cps only claims existing volumes and fails when none is left. Fields marked aws: apply to the aws provider only.
   */
  create?: {
    /**
     * Size in GiB. When it grows, cps grows the volume and its filesystem (see resize); a smaller size is a warning, never a shrink. Flag: --size.
     */
    sizeGiB: number
    /**
     * aws: EBS volume type. Default gp3. Flag: --type.
     */
    type?: 'gp2' | 'gp3' | 'io1' | 'io2' | 'st1' | 'sc1' | 'standard'
    /**
     * aws: provisioned IOPS (gp3: 3000-80000, io1: 100-64000, io2: 100-256000; required for io1/io2). Flag: --iops.
     */
    iops?: number
    /**
     * aws: throughput in MiB/s, gp3 only (125-2000). Flag: --throughput.
     */
    throughputMiBps?: number
    /**
     * aws: encrypt the volume (with kmsKeyId, or the account's default EBS key). Flag: --encrypted.
     */
    encrypted?: boolean
    /**
     * aws: KMS key id, ARN or alias for encryption; implies encrypted. Flag: --kms-key-id.
     */
    kmsKeyId?: string
    /**
     * aws: create from a snapshot: {id: snap-...}, or {tags: {...}} for the newest completed snapshot carrying all the tags. Flag: --snapshot (an id).
     */
    snapshot?: {
      /**
       * Snapshot id: snap- and 8 or 17 hex digits.
       */
      id?: string
      tags?: Tags1
    }
  }
  /**
   * The filesystem on the volume.
   */
  filesystem?: {
    /**
     * Filesystem type. Flag: --fs.
     */
    type?: 'ext4' | 'xfs' | 'btrfs'
    /**
     * When cps may run mkfs. if-created: only on a volume cps created itself (it carries the cps:format-token tag from birth) and whose device is provably blank. if-blank: also on a pool volume made elsewhere, when both its first and last MiB read as zeros. Flag: --format.
     */
    format?: 'if-created' | 'if-blank'
    /**
     * Filesystem label (ext4: at most 16 bytes, xfs: 12, btrfs: 255). Flag: --label.
     */
    label?: string
    /**
     * Extra arguments passed to mkfs before the device, e.g. ["-E", "lazy_itable_init=1"]. cps sets the label and UUID itself. Flag: --mkfs-option (repeat).
     *
     * @maxItems 32
     */
    mkfsOptions?: string[]
  }
  /**
   * Where and how the filesystem is mounted.
   */
  mount: {
    path: AbsolutePath2
    /**
     * Mount options, e.g. [noatime]. A missing option on a mounted filesystem is applied with a remount. Flag: --mount-option (repeat).
     *
     * @maxItems 32
     *
     * Items: One mount option, without commas: noatime, nodev, discard, ...
     */
    options?: string[]
    /**
     * Owner of the mounted filesystem's root directory, as numeric uid or uid:gid. Flag: --owner.
     */
    owner?: string
    /**
     * Permission bits of the mounted filesystem's root directory, in octal, e.g. "0750". Flag: --mode.
     */
    mode?: string
  }
  /**
   * grow: when the spec size is larger than the volume, grow the volume and then its filesystem. never: leave sizes alone. Flag: --resize.
   */
  resize?: 'grow' | 'never'
}
/**
 * Tags every volume of the pool carries; cps also puts them on the volumes it creates. Flag: --tag k=v (repeat).
 */
export interface Tags {
  [k: string]: string
}
/**
 * Tags the snapshot must carry; the newest completed match is used.
 */
export interface Tags1 {
  [k: string]: string
}

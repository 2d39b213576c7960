import type { Spec, VolumeSpec } from './spec.gen.js'

export type { Spec, VolumeSpec }

export type FsType = 'ext4' | 'xfs' | 'btrfs'

/** A volume spec with every default filled in: what the reconcile machine works from. */
export interface ResolvedVolume {
  name: string
  poolTags: Record<string, string>
  /** Size to create with and grow to; undefined means never create. */
  sizeGiB?: number
  /** Cloud options for a created volume (aws). */
  createOptions: CreateOptions
  filesystem: {
    type: FsType
    format: 'if-created' | 'if-blank'
    label?: string
    mkfsOptions: string[]
  }
  mount: { path: string; options: string[]; owner?: string; mode?: string }
  resize: 'grow' | 'never'
  claim: 'optimistic' | 'consensus'
  consensus: { waitSeconds: number; lockTimeoutSeconds: number }
}

/** Options of a volume cps creates, beyond its size (aws only). */
export interface CreateOptions {
  type?: 'gp2' | 'gp3' | 'io1' | 'io2' | 'st1' | 'sc1' | 'standard'
  iops?: number
  throughputMiBps?: number
  encrypted?: boolean
  kmsKeyId?: string
  snapshot?: { id?: string; tags?: Record<string, string> }
}

export interface LocalProviderConfig {
  kind: 'local'
  dir: string
}

export interface AwsProviderConfig {
  kind: 'aws'
  region?: string
  endpoint?: string
}

export type ProviderConfig = LocalProviderConfig | AwsProviderConfig

/** A validated spec with defaults applied. */
export interface ResolvedSpec {
  /** The file it came from, or `<flags>`. */
  source: string
  state: string
  provider: ProviderConfig
  volumes: ResolvedVolume[]
}

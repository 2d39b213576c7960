import type { Spec, VolumeSpec } from './spec.gen.js'

export type { Spec, VolumeSpec }

export type FsType = 'ext4' | 'xfs' | 'btrfs'

/** A volume spec with every default filled in: what the reconcile machine works from. */
export interface ResolvedVolume {
  name: string
  poolTags: Record<string, string>
  /** Size to create with and grow to; undefined means never create. */
  sizeGiB?: number
  filesystem: {
    type: FsType
    format: 'if-created' | 'if-blank'
    label?: string
    mkfsOptions: string[]
  }
  mount: { path: string; options: string[]; owner?: string; mode?: string }
  resize: 'grow' | 'never'
}

export interface LocalProviderConfig {
  kind: 'local'
  dir: string
}

export type ProviderConfig = LocalProviderConfig

/** A validated spec with defaults applied. */
export interface ResolvedSpec {
  /** The file it came from, or `<flags>`. */
  source: string
  state: string
  provider: ProviderConfig
  volumes: ResolvedVolume[]
}

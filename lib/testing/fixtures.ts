import { join } from 'node:path'
import { packageRoot } from '../paths.js'

/** Paths of files under fixtures/. */
export const paths = {
  validSpec: (name: string) => join(packageRoot, 'fixtures', 'specs', 'valid', name),
}

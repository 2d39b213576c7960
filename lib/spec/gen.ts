import { join } from 'node:path'
import { compile } from 'json-schema-to-typescript'
import { packageRoot } from '../paths.js'
import { schemaText } from './schema.js'

/** Where the generated types live (the source tree, not dist). */
export const generatedTypesPath = join(packageRoot, 'lib', 'spec', 'spec.gen.ts')

const banner = `/* DO NOT MODIFY BY HAND: generated from schemas/cps.schema.json by \`npm run gen\`.
 * A test fails when this file is stale. */`

/** The TypeScript types of the spec, generated from the JSON Schema. */
export async function generateTypes(): Promise<string> {
  return compile(JSON.parse(schemaText()), 'Spec', {
    bannerComment: banner,
    additionalProperties: false,
    unreachableDefinitions: false,
    format: true,
    style: { singleQuote: true, semi: false },
  })
}

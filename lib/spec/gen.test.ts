import { readFileSync } from 'node:fs'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { generatedTypesPath, generateTypes } from './gen.js'
import { compiledValidatorPath, validatorSource } from './schema.js'

const test = suite('generated spec types')

test('lib/spec/spec.gen.ts is what the schema generates (run `npm run gen` when this fails)', async () => {
  assert.fixture(readFileSync(generatedTypesPath, 'utf8'), await generateTypes())
})

test("the precompiled validator in dist is the schema's (run `npm run build` when this fails)", async () => {
  assert.fixture(readFileSync(compiledValidatorPath, 'utf8'), await validatorSource())
})

test('every schema property has a description', () => {
  const schema = JSON.parse(
    readFileSync(new URL('../../../schemas/cps.schema.json', import.meta.url), 'utf8'),
  )
  const missing: string[] = []
  const walk = (node: unknown, path: string) => {
    if (!node || typeof node !== 'object') return
    const n = node as Record<string, unknown>
    if (n.properties)
      for (const [k, v] of Object.entries(n.properties as Record<string, Record<string, unknown>>)) {
        if (!v.description && !v.$ref && !(path.includes('/then') || path.includes('/if')))
          missing.push(`${path}/${k}`)
        walk(v, `${path}/${k}`)
      }
    for (const [k, v] of Object.entries(n))
      if (k !== 'properties' && typeof v === 'object') walk(v, `${path}/${k}`)
  }
  walk(schema, '')
  assert.equal(missing, [])
})

test.run()

// docs/iam-policy.json must allow every EC2 action the provider can call, and nothing else.
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { packageRoot } from '../../paths.js'

const test = suite('least-privilege IAM policy')

/** Every `new XCommand(` in the provider's source (not tests, not the simulator). */
function actionsInCode(): string[] {
  const dir = join(packageRoot, 'lib', 'providers', 'aws')
  const found = new Set<string>()
  for (const f of readdirSync(dir).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))) {
    for (const m of readFileSync(join(dir, f), 'utf8').matchAll(/new (\w+)Command\(/g))
      found.add(`ec2:${m[1]}`)
  }
  return [...found].sort()
}

function actionsInPolicy(): string[] {
  const policy = JSON.parse(readFileSync(join(packageRoot, 'docs', 'iam-policy.json'), 'utf8')) as {
    Statement: { Action: string | string[]; Effect: string }[]
  }
  const found = new Set<string>()
  for (const s of policy.Statement) for (const a of [s.Action].flat()) found.add(a)
  return [...found].sort()
}

test('the policy lists exactly the EC2 actions the code calls', () => {
  const code = actionsInCode()
  assert.ok(code.length >= 8, `found only ${code.join(', ')}`)
  assert.equal(actionsInPolicy(), code)
})

test('every mutating action is scoped by the pool tag or to creation', () => {
  const policy = JSON.parse(readFileSync(join(packageRoot, 'docs', 'iam-policy.json'), 'utf8')) as {
    Statement: { Sid: string; Action: string | string[]; Resource: string; Condition?: object }[]
  }
  for (const s of policy.Statement) {
    const mutating = [s.Action].flat().some((a) => !a.startsWith('ec2:Describe'))
    if (mutating && !s.Resource.includes(':snapshot/'))
      assert.ok(s.Condition, `${s.Sid} grants a mutating action without a condition`)
  }
})

test.run()

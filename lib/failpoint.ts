// Failpoints let the crash tests SIGKILL a real `cps apply` at a chosen point
// (CPS_FAILPOINT=<name>, or <name>:<ms> for "that many ms after"). Unset in production.

function killNow(): never {
  // When started as a process-group leader (the tests do), take children like mkfs down too,
  // as a power cut would; otherwise just this process.
  try {
    process.kill(-process.pid, 'SIGKILL')
  } catch {
    process.kill(process.pid, 'SIGKILL')
  }
  throw new Error('unreachable')
}

/** Die here if CPS_FAILPOINT names this point (or after its delay). */
export function failpoint(name: string): void {
  const spec = process.env.CPS_FAILPOINT
  if (!spec) return
  const [point, delay] = spec.split(':')
  if (point !== name) return
  if (delay === undefined) killNow()
  setTimeout(killNow, Number(delay)).unref()
}

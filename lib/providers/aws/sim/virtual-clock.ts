import type { Clock } from '../../../clock.js'

/**
 * Discrete-event time for the EC2 simulator. sleep() parks the caller; once the event loop has
 * nothing else to do this turn, time jumps to the earliest wake-up (or scheduled event), runs the
 * events due, and wakes the sleepers due. A 5-minute wait costs no real time.
 */
export class VirtualClock implements Clock {
  private t: number
  private sleepers: { at: number; seq: number; resolve: () => void }[] = []
  private events: { at: number; seq: number; fn: () => void }[] = []
  private seq = 0
  private scheduled = false

  constructor(start = Date.parse('2026-01-01T00:00:00Z')) {
    this.t = start
  }

  now(): number {
    return this.t
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.sleepers.push({ at: this.t + Math.max(0, ms), seq: this.seq++, resolve })
      this.kick()
    })
  }

  /** Run fn at virtual time `at` (or now, if that has passed). */
  at(at: number, fn: () => void): void {
    this.events.push({ at: Math.max(at, this.t), seq: this.seq++, fn })
  }

  private kick(): void {
    if (this.scheduled) return
    this.scheduled = true
    setImmediate(() => {
      this.scheduled = false
      this.advance()
    })
  }

  private advance(): void {
    if (!this.sleepers.length) return
    const next = Math.min(...this.sleepers.map((s) => s.at))
    this.t = Math.max(this.t, next)
    const due = this.events.filter((e) => e.at <= this.t).sort((a, b) => a.at - b.at || a.seq - b.seq)
    this.events = this.events.filter((e) => e.at > this.t)
    for (const e of due) e.fn()
    const wake = this.sleepers.filter((s) => s.at <= this.t).sort((a, b) => a.seq - b.seq)
    this.sleepers = this.sleepers.filter((s) => s.at > this.t)
    for (const s of wake) s.resolve()
    if (this.sleepers.length) this.kick()
  }
}

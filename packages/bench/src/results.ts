import type { MachineInfo } from './machine.js'
import type { ExhaustionResult } from './scenarios/exhaustion.js'
import type { HeadOfLineResult } from './scenarios/head-of-line.js'
import type { HygieneResult } from './scenarios/hygiene.js'
import type { InstructionsResult } from './scenarios/instructions.js'
import type { OverheadResult } from './scenarios/pool-overhead.js'
import type { ThroughputResult } from './scenarios/throughput.js'
import type { WarmUpResult } from './scenarios/warm-up.js'
import type { BenchSettings } from './settings.js'

/** One stated target and where the run stands against it. `met` is null when not measured. */
export interface TargetCheck {
  readonly target: string
  readonly measured: string
  readonly met: boolean | null
}

/** Everything one run measured: written to results/latest.json, rendered into BENCHMARKS.md. */
export interface BenchResults {
  readonly generatedAt: string
  readonly durationSeconds: number
  readonly settings: BenchSettings
  readonly machine: MachineInfo
  readonly throughput: readonly ThroughputResult[]
  readonly transactions: readonly ThroughputResult[]
  /** PostgreSQL only: fast statements' p99 with 1 % slow ones, pipeline vs exclusive. Absent in runs before issue 18. */
  readonly headOfLine?: readonly HeadOfLineResult[]
  readonly hygiene: readonly HygieneResult[]
  readonly overhead?: OverheadResult
  readonly instructions?: InstructionsResult
  readonly warmUp: readonly WarmUpResult[]
  readonly exhaustion?: ExhaustionResult
  readonly targets: readonly TargetCheck[]
}

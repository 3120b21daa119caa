import os from 'node:os'

export interface MachineInfo {
  readonly cpuModel: string
  readonly cores: number
  readonly totalMemoryGiB: number
  readonly os: string
  readonly node: string
  /** 1-minute load average when the run started and ended: other work on the box skews results. */
  readonly loadAverageStart: number
  loadAverageEnd: number
  readonly servers: Record<string, string>
}

export function describeMachine(servers: Record<string, string>): MachineInfo {
  const cpus = os.cpus()
  return {
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    totalMemoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    loadAverageStart: round2(os.loadavg()[0] ?? 0),
    loadAverageEnd: Number.NaN,
    servers,
  }
}

export function currentLoadAverage(): number {
  return round2(os.loadavg()[0] ?? 0)
}

function round2(value: number): number {
  return Math.round(value * 100) / 100
}

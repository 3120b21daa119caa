import type { TodoApp } from './todo-app.js'

/** Where signals come from: `process`, or any emitter in a test. */
export interface SignalSource {
  once(signal: NodeJS.Signals, listener: () => void): unknown
}

/**
 * Wires SIGTERM (what an orchestrator sends before killing) and SIGINT
 * (Ctrl-C) to the app's graceful shutdown. Resolves once the app has
 * stopped: no listener, no request in flight, pool closed.
 */
export function shutdownOnSignals(
  app: TodoApp,
  source: SignalSource = process,
  log: (line: string) => void = (line) => console.log(line),
): Promise<void> {
  return new Promise((resolve, reject) => {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      source.once(signal, () => {
        log(`${signal}: finishing ${app.inFlight} request(s) in flight, then closing the pool`)
        app.shutdown().then(() => {
          log('stopped cleanly')
          resolve()
        }, reject)
      })
    }
  })
}

import type { Duplex } from 'node:stream'

/**
 * Hears a socket die from the socket itself — its 'error', 'end' and
 * 'close' — ahead of the driver's own listeners, so the connection counts as
 * broken before the driver hands the error to a statement's callback (mysql2
 * does that and may emit nothing on the connection). Idempotent per socket.
 */
export function watchSocket(stream: Duplex, target: string, onDead: (error: Error) => void): void {
  const watched = stream as Duplex & { [WATCHED]?: true }
  if (watched[WATCHED] === true) return
  watched[WATCHED] = true
  stream.prependListener('error', (error: Error) => onDead(error))
  stream.prependListener('end', () => onDead(new Error(`${target} closed the connection`)))
  stream.prependListener('close', () => onDead(new Error(`the connection to ${target} was closed`)))
}

const WATCHED = Symbol('kysely-pooled.watched')

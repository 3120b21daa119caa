import { connect as connectSocket } from 'node:net'

const PROTOCOL_CANCEL_REQUEST_CODE = 80877102

export interface CancelRequestTarget {
  readonly host: string
  readonly port: number
  readonly processID: number
  /** An int32 in protocol 3.0; a longer key in protocol 3.2. */
  readonly secretKey: number | Uint8Array
}

/**
 * Sends the protocol's CancelRequest for one backend on a new socket. The
 * fence `mayStillSend` is asked once the socket is connected, right before
 * the request is written: when it says no, the socket is closed unused.
 * Resolves (never rejects) when the server has read the request, the fence
 * said no, or `timeoutMillis` passed.
 */
export function sendCancelRequest(
  target: CancelRequestTarget,
  mayStillSend: () => boolean,
  timeoutMillis: number,
  signal?: AbortSignal,
): Promise<void> {
  const { processID, secretKey } = target
  const key = typeof secretKey === 'number' ? null : Buffer.from(secretKey)
  const message = Buffer.alloc(12 + (key === null ? 4 : key.length))
  message.writeInt32BE(message.length, 0)
  message.writeInt32BE(PROTOCOL_CANCEL_REQUEST_CODE, 4)
  message.writeInt32BE(processID, 8)
  if (key === null) message.writeInt32BE(secretKey as number, 12)
  else key.copy(message, 12)

  return new Promise<void>((resolve) => {
    const socket = target.host.startsWith('/')
      ? connectSocket(`${target.host}/.s.PGSQL.${target.port}`)
      : connectSocket(target.port, target.host)
    const finish = (): void => {
      clearTimeout(timer)
      signal?.removeEventListener('abort', finish)
      socket.destroy()
      resolve()
    }
    const timer = setTimeout(finish, timeoutMillis)
    // The connection it was for is closed: nothing left to cancel.
    signal?.addEventListener('abort', finish, { once: true })
    socket.once('error', finish)
    // The server closes the socket once it has read the request. Wait for
    // that (as libpq does): a half-close makes PgBouncer drop the cancel.
    socket.once('close', finish)
    socket.once('connect', () => {
      if (mayStillSend()) socket.write(message)
      else finish()
    })
  })
}

import { createServer, type Server } from 'node:net'

/**
 * A PostgreSQL server that asks for a cleartext password and refuses it with
 * SQLSTATE 28P01, as a real server does for a wrong password. The shared
 * test server trusts every local connection, so this is the only way to make
 * pg go through a failed password exchange here. `passwords` collects what
 * clients sent (proof the exchange happened).
 */
export async function startFakePostgresAuthServer(): Promise<{
  port: number
  passwords: string[]
  close(): Promise<void>
}> {
  const passwords: string[] = []
  const server: Server = createServer((socket) => {
    socket.on('error', () => {})
    let startupSeen = false
    let buffered = Buffer.alloc(0)
    socket.on('data', (chunk) => {
      buffered = Buffer.concat([buffered, chunk])
      if (!startupSeen) {
        if (buffered.length < 4 || buffered.length < buffered.readInt32BE(0)) return
        buffered = buffered.subarray(buffered.readInt32BE(0))
        startupSeen = true
        const askForPassword = Buffer.alloc(9)
        askForPassword.write('R', 0)
        askForPassword.writeInt32BE(8, 1)
        askForPassword.writeInt32BE(3, 5) // AuthenticationCleartextPassword
        socket.write(askForPassword)
        return
      }
      if (buffered.length < 5 || buffered.length < 1 + buffered.readInt32BE(1)) return
      passwords.push(buffered.subarray(5, buffered.readInt32BE(1)).toString('utf8').replace(/\0$/, ''))
      const fields = Buffer.from(
        'SFATAL\0VFATAL\0C28P01\0Mpassword authentication failed for user "kp_core_pw_user"\0\0',
        'utf8',
      )
      const error = Buffer.alloc(5)
      error.write('E', 0)
      error.writeInt32BE(4 + fields.length, 1)
      socket.end(Buffer.concat([error, fields]))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  return { port, passwords, close: () => new Promise<void>((resolve) => server.close(() => resolve())) }
}

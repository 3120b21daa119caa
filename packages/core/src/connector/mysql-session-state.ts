import { mysqlSessionChange } from './session-change-detector.js'

// Server status flags (include/mysql_com.h).
const SERVER_STATUS_IN_TRANS = 0x0001
const SERVER_STATUS_AUTOCOMMIT = 0x0002
const SERVER_SESSION_STATE_CHANGED = 0x4000

const ER_LOCK_DEADLOCK = 1213

/** mysql2's Packet: the payload is `buffer[start + 4, end)`. */
export interface MysqlPacket {
  buffer: Buffer
  start: number
  end: number
}

/**
 * What the server said about one MySQL session, from the packet that ends
 * each command (OK or EOF: status flags; ERR: none), plus what the SQL
 * sniff noted. Plain fields: the per-query paths read and write them.
 */
export class MysqlSessionState {
  /** Status flags of the last OK/EOF packet that ended a command. */
  status = SERVER_STATUS_AUTOCOMMIT
  /** An error ended a command inside a transaction (or with autocommit off): we do not know what the server kept. */
  uncertain = false
  /** The last command ended with an ERR packet (checked after COM_RESET_CONNECTION). */
  lastFailed = false
  /** The session may differ from its baseline. */
  changed = false
  /** The server tracks state changes (session_track_state_change=ON took). */
  tracking = false
  /** A `USE` may have run: COM_RESET_CONNECTION keeps the current database. */
  useSeen = false
  /** A `SET ROLE` may have run. */
  roleSeen = false

  get inTransaction(): boolean {
    return (this.status & SERVER_STATUS_IN_TRANS) !== 0
  }

  /**
   * Reads the final packet of a command: an OK packet (`0x00`, two
   * length-encoded integers, then the flags), an EOF packet (`0xFE`,
   * warnings, flags) or an ERR packet (`0xFF`, no flags). A few byte reads.
   */
  observeFinalPacket(packet: MysqlPacket): void {
    const buffer = packet.buffer
    const payload = packet.start + 4
    const header = buffer[payload]
    if (header === 0xff) {
      this.lastFailed = true
      const errno = buffer.readUInt16LE(payload + 1)
      if (errno === ER_LOCK_DEADLOCK) {
        // InnoDB rolls the whole transaction back on a deadlock.
        this.status &= ~SERVER_STATUS_IN_TRANS
        this.uncertain = false
      } else if ((this.status & SERVER_STATUS_IN_TRANS) !== 0 || (this.status & SERVER_STATUS_AUTOCOMMIT) === 0) {
        // Most errors keep the transaction open, some (lock wait timeout with
        // innodb_rollback_on_timeout) end it, and with autocommit off a failed
        // statement may have opened one: only a rollback makes it certain.
        this.uncertain = true
      }
      return
    }
    let status: number
    if (header === 0x00) {
      let offset = payload + 1
      offset = skipLengthEncodedInteger(buffer, offset) // affected rows
      offset = skipLengthEncodedInteger(buffer, offset) // last insert id
      if (offset + 2 > packet.end) return
      status = buffer.readUInt16LE(offset)
    } else if (header === 0xfe && packet.end - payload >= 5) {
      status = buffer.readUInt16LE(payload + 3)
    } else {
      return
    }
    this.lastFailed = false
    this.status = status
    this.uncertain = false
    if ((status & SERVER_SESSION_STATE_CHANGED) !== 0) this.changed = true
  }

  /**
   * Sniffs one statement's text: flags the session changed, and notes what
   * COM_RESET_CONNECTION will not undo (the database, the role). Unreadable
   * text (`undefined`) may have done anything.
   */
  noteStatement(text: string | undefined): void {
    if (text === undefined) {
      this.changed = this.useSeen = this.roleSeen = true
      return
    }
    if (this.changed && this.useSeen && this.roleSeen) return
    const change = mysqlSessionChange(text)
    if (!change.changed) return
    this.changed = true
    if (change.database) this.useSeen = true
    if (change.role) this.roleSeen = true
  }
}

function skipLengthEncodedInteger(buffer: Buffer, offset: number): number {
  const first = buffer[offset]
  if (first === undefined || first < 0xfb) return offset + 1
  if (first === 0xfc) return offset + 3
  if (first === 0xfd) return offset + 4
  return offset + 9
}

import { EventEmitter } from 'node:events'

/**
 * What pg-pool needs from its `Client` option and nothing more: connect and
 * end with a callback, the two flags it reads on release, and events. With
 * it, pg.Pool runs its own bookkeeping with no socket behind it.
 */
export class FakePgClient extends EventEmitter {
  _queryable = true
  _ending = false

  connect(callback?: (error: Error | null) => void): Promise<void> | void {
    if (callback) {
      process.nextTick(callback, null)
      return
    }
    return Promise.resolve()
  }

  end(callback?: () => void): Promise<void> | void {
    this._ending = true
    this._queryable = false
    if (callback) {
      process.nextTick(callback)
      return
    }
    return Promise.resolve()
  }
}

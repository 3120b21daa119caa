/** Primary → worker: start the burst. */
export interface GoMessage {
  readonly type: 'go'
}

/** Worker → primary. */
export type WorkerMessage =
  | { readonly type: 'ready'; readonly max: number }
  | { readonly type: 'done'; readonly max: number; readonly peakSize: number; readonly queries: number }
  | { readonly type: 'failed'; readonly message: string }

/** What the primary tells each worker, through its environment. */
export interface WorkerSettings {
  readonly dialect: 'postgres' | 'mysql'
  /** Connection URL, marked so the server can count this run's connections. */
  readonly url: string
  readonly poolMax: number
  readonly users: number
  readonly burstMillis: number
  /** Set in the PgBouncer variant: the workers connect to PgBouncer in transaction mode. */
  readonly pooler?: 'transaction'
}

export const WORKER_SETTINGS_VARIABLE = 'KP_EX_CLUSTER_WORKER'

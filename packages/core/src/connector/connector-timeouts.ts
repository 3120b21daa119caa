/** The connector options that bound work beside the pool's own: closing a connection, interrupting one. */
export interface ConnectorTimeoutOptions {
  readonly closeTimeoutMillis?: number
  readonly interruptTimeoutMillis?: number
}

/** Those bounds with their defaults filled in. */
export type ConnectorTimeouts = Readonly<Required<ConnectorTimeoutOptions>>

/** Fills in the defaults both connectors document: 5 000 ms each. */
export function resolveConnectorTimeouts(options: ConnectorTimeoutOptions): ConnectorTimeouts {
  return Object.freeze({
    closeTimeoutMillis: options.closeTimeoutMillis ?? 5_000,
    interruptTimeoutMillis: options.interruptTimeoutMillis ?? 5_000,
  })
}

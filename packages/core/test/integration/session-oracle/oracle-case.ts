/** One entry of the differential corpus: statements run in order on one lease. */
export interface OracleCase {
  readonly label: string
  readonly statements: readonly string[]
  /**
   * State changed by server-side code the text does not show (a procedure, a
   * function): documented as invisible to the guard, so only the reset side
   * (`reset: 'auto'`, which flags CALL and ParameterStatus) checks it.
   */
  readonly serverSide?: boolean
  /** Harmless for the next borrower (a benign case): must leave nothing even unflagged. */
  readonly benign?: boolean
}

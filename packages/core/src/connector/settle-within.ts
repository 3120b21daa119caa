/**
 * Waits for `work` to settle or for `timeoutMillis`, whichever comes first (a
 * rejection before the deadline is passed on). For side work — a goodbye, a
 * cancel, a KILL — that must not hold its caller when the server does not
 * answer. The timer never outlives the wait.
 */
export async function settleWithin(work: Promise<unknown>, timeoutMillis: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  try {
    await Promise.race([
      work,
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMillis)
      }),
    ])
  } finally {
    clearTimeout(timer)
  }
}

/** Calls a caller's fence; one that throws says no (it runs inside socket events, where a throw would be uncaught). */
export function askSafely(fence: () => boolean): boolean {
  try {
    return fence() === true
  } catch {
    return false
  }
}

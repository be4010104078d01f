import type { ReconnectPolicy } from "../../settings/worker.js";

/** The longest delay `setTimeout` honours; anything longer fires after 1 ms. */
const MAX_TIMER_MS = 2_147_483_647;

/**
 * Milliseconds to wait before connection attempt number `attempt + 1`, after `attempt` consecutive
 * failures (1-based): `min(base · 2^(attempt−1), max)` (no cap when `max` is 0) plus
 * `random() · jitter`. Applies to failed dials and to streams that drop, so a scheduler that is down
 * never causes a tight loop. Never more than `setTimeout` can wait.
 */
export function reconnectDelayMs(
  attempt: number,
  policy: ReconnectPolicy,
  random: () => number = Math.random,
): number {
  const exponent = Number.isNaN(attempt) ? 0 : Math.max(0, Math.floor(attempt) - 1);
  const doubled = policy.baseDelayMs === 0 ? 0 : policy.baseDelayMs * 2 ** exponent;
  const capped = policy.maxDelayMs > 0 ? Math.min(doubled, policy.maxDelayMs) : doubled;
  const unit = Math.min(Math.max(random(), 0), 1);
  const delay = capped + unit * policy.jitterMs;
  return Number.isFinite(delay) ? Math.min(delay, MAX_TIMER_MS) : MAX_TIMER_MS;
}

// The worker's notion of time: poll() is given the supervisor's millisecond clock once per batch and
// every rate limiter, SA timestamp and lifetime check of that batch uses it (no clock import in WASM).
export let nowMs: u32 = 0;
export function setNow(now: u32): void { nowMs = now; }

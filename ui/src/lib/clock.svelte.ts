import { createSubscriber } from "svelte/reactivity";

// A reactive "now": reading it inside a template or $derived re-runs that
// code every second, and the timer only runs while someone is reading.
const subscribe = createSubscriber((update) => {
  const timer = setInterval(update, 1000);
  return () => clearInterval(timer);
});

export function now(): number {
  subscribe();
  return Date.now();
}

// Tells Rust when the person is using this window, so it can report the
// session as active or idle. Rust derives the state; this only reports
// input and focus, throttled.
import { commands } from "./api";

const REPEAT_MS = 30_000;

export function trackActivity(target: Window = window): () => void {
  let last: boolean | null = null;
  let lastAt = 0;

  const report = (active: boolean) => {
    const at = Date.now();
    if (active === last && at - lastAt < REPEAT_MS) return;
    last = active;
    lastAt = at;
    commands.reportActivity(active).catch(() => {
      // Best effort: a missed report only makes the status a little stale.
      last = null;
    });
  };

  const onInput = () => report(true);
  const onFocus = () => report(true);
  const onBlur = () => report(false);
  const onVisibility = () => report(target.document.visibilityState === "visible");

  target.addEventListener("pointerdown", onInput, { passive: true });
  target.addEventListener("keydown", onInput, { passive: true });
  target.addEventListener("wheel", onInput, { passive: true });
  target.addEventListener("focus", onFocus);
  target.addEventListener("blur", onBlur);
  target.document.addEventListener("visibilitychange", onVisibility);
  report(target.document.hasFocus());

  return () => {
    target.removeEventListener("pointerdown", onInput);
    target.removeEventListener("keydown", onInput);
    target.removeEventListener("wheel", onInput);
    target.removeEventListener("focus", onFocus);
    target.removeEventListener("blur", onBlur);
    target.document.removeEventListener("visibilitychange", onVisibility);
  };
}

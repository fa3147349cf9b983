import type { CommandError, ErrorCode } from "./types";

/** A failed call as the window shows it: Rust's `CommandError`, or one of
 * the two codes only the window uses, for a JavaScript exception
 * (`internal`) and for a rejection that isn't a `CommandError` (`unknown`). */
export type Failure = Omit<CommandError, "code"> & { code: ErrorCode | "internal" | "unknown" };

/** Anything a command rejects with, turned into a `Failure` whose message
 * can be shown to the user as is. */
export function toCommandError(e: unknown): Failure {
  // A JavaScript exception is a bug or a missing Tauri bridge, not something
  // Rust said: its text means nothing to the person, so it goes to the log.
  if (e instanceof Error) {
    console.error(e);
    return { code: "internal", message: "Something went wrong inside Latch. Try again." };
  }
  if (typeof e === "object" && e !== null) {
    const { code, message } = e as Partial<Record<keyof CommandError, unknown>>;
    if (typeof message === "string" && message.length > 0) {
      // The code is Rust's (its type is the generated union); only its
      // presence is checked here.
      return { code: typeof code === "string" ? (code as ErrorCode) : "unknown", message };
    }
  }
  if (typeof e === "string" && e.length > 0) return { code: "unknown", message: e };
  return { code: "unknown", message: "Something went wrong. Try again." };
}

/** The message to show for a failed call. */
export const errorMessage = (e: unknown): string => toCommandError(e).message;

/** A form's call: `busy(true)` while it runs, and on failure its message to
 * `failed` (which shows it, and may move focus back to the field). */
export async function runBusy(
  busy: (on: boolean) => void,
  call: () => Promise<unknown>,
  failed: (message: string) => void,
): Promise<void> {
  busy(true);
  try {
    await call();
  } catch (e) {
    failed(errorMessage(e));
  } finally {
    busy(false);
  }
}

import type { CommandError } from "./types";

/** Anything a command rejects with, turned into a `CommandError` whose
 * message can be shown to the user as is. */
export function toCommandError(e: unknown): CommandError {
  // A JavaScript exception is a bug or a missing Tauri bridge, not something
  // Rust said: its text means nothing to the person, so it goes to the log.
  if (e instanceof Error) {
    console.error(e);
    return { code: "internal", message: "Something went wrong inside Latch. Try again." };
  }
  if (typeof e === "object" && e !== null) {
    const { code, message } = e as Record<string, unknown>;
    if (typeof message === "string" && message.length > 0) {
      return { code: typeof code === "string" ? code : "unknown", message };
    }
  }
  if (typeof e === "string" && e.length > 0) return { code: "unknown", message: e };
  return { code: "unknown", message: "Something went wrong. Try again." };
}

/** The message to show for a failed call. */
export const errorMessage = (e: unknown): string => toCommandError(e).message;

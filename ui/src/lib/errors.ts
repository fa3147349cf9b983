import type { CommandError } from "./types";

/** Anything a command rejects with, turned into a `CommandError` whose
 * message can be shown to the user as is. */
export function toCommandError(e: unknown): CommandError {
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

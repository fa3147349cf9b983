// The one door to the Rust side: the generated `commands` of bindings.ts,
// their answers unwrapped in one place, and the one event channel. No other
// file of the app calls invoke, listens or opens a channel (src/dev fakes
// the other end of them for the preview harness and the tests).
import { Channel } from "@tauri-apps/api/core";
import { commands } from "./bindings";
import { toCommandError, type Failure } from "./errors";
import type { CommandError, Connected, WindowEvent } from "./types";

export { commands, toCommandError };
export type { Failure };

/** What a generated command answers: tauri-specta's `Result`. */
type Answer<T> = { status: "ok"; data: T } | { status: "error"; error: CommandError };

/** A command's data, or a rejection with a `Failure` whose message can be
 * shown as is: `await call(commands.setServer(url))`. */
export async function call<T>(pending: Promise<Answer<T>>): Promise<T> {
  let answer: Answer<T>;
  try {
    answer = await pending;
  } catch (e) {
    // A JavaScript exception: tauri-specta rethrows those instead of
    // answering them.
    throw toCommandError(e);
  }
  if (answer.status === "error") throw toCommandError(answer.error);
  return answer.data;
}

/** What Rust sends on the channel, as the generated `connect` types it. */
type Incoming = Parameters<typeof commands.connect>[0] extends Channel<infer T> ? T : never;

export interface Connection {
  /** The state as Rust read it after subscribing the channel. */
  connected: Connected;
  /** Stops delivering events (tests, hot reload, a retried start). */
  close(): void;
}

/** Opens the one event channel and reads the state. Every change Rust makes
 * from then on arrives at `onEvent`, which is in place before the call: an
 * event that arrives before the answer is newer than it. */
export async function connect(onEvent: (event: WindowEvent) => void): Promise<Connection> {
  // Rust sends the serialised shapes; the generator types a channel by the
  // phase of its argument, hence the assertion.
  const events = new Channel<Incoming>((message) => onEvent(message as WindowEvent));
  const close = () => {
    events.onmessage = () => {};
  };
  try {
    return { connected: await call(commands.connect(events)), close };
  } catch (e) {
    close();
    throw e;
  }
}

// An in-memory stand-in for the Rust side, behind mockIPC. The preview
// harness and the tests drive the real UI against it. Dev and test only:
// nothing under src/dev is imported by the production entry.
//
// Like Rust it answers the generated commands (their answers are checked
// against bindings.ts), orders the session list, and publishes every change
// on the window's one channel before it answers the command that made it.
import { Channel } from "@tauri-apps/api/core";
import { mockIPC } from "@tauri-apps/api/mocks";
import { DEVICE_NAME_MAX_CHARS, type commands } from "../lib/bindings";
import { isCompleteCode } from "../lib/code";
import type { Failure } from "../lib/errors";
import type {
  AppInfo,
  AuthState,
  CommandError,
  Connected,
  SessionView,
  SessionsSnapshot,
  Settings,
  SignedOutNotice,
  WindowEvent,
} from "../lib/types";
import { seedAccount, seedSessions } from "./seed";

export type StateName = AuthState["state"];

/** A generated command's accessor, `listSessions`. */
type CommandName = keyof typeof commands;
/** Its name over IPC, `list_sessions`. */
type Snake<S extends string> = S extends `${infer H}${infer T}`
  ? `${H extends Lowercase<H> ? H : `_${Lowercase<H>}`}${Snake<T>}`
  : S;
export type IpcName = Snake<CommandName>;
/** What the command answers when it succeeds. */
type Data<K extends CommandName> =
  Awaited<ReturnType<(typeof commands)[K]>> extends infer R
    ? R extends { status: "ok"; data: infer D }
      ? D
      : R extends { status: "error" }
        ? never
        : R
    : never;

const accessor = (cmd: string) => cmd.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

/** Commands that change nothing Rust publishes: after them the fake sends
 * nothing, even if a test has changed its fields meanwhile. */
const QUIET = new Set<string>([
  "getAppInfo",
  "getSettings",
  "getDiagnostics",
  "setDeviceName",
  "setTheme",
  "reportActivity",
] satisfies CommandName[]);

export interface FakeOptions {
  state?: StateName;
  notice?: SignedOutNotice | null;
  info?: Partial<AppInfo>;
  settings?: Partial<Settings>;
  sessions?: SessionView[];
  stale?: boolean;
  /** Delay every command by this much, to see busy states. */
  latencyMs?: number;
  /** For awaiting-link: seconds until resend is allowed. */
  resendInSeconds?: number;
}

type Args = Record<string, unknown>;

export interface Call {
  cmd: string;
  args: Args | undefined;
}

const err = (code: Failure["code"], message: string): Failure => ({ code, message });
const time = (d: Date) => d.toTimeString().slice(0, 5);
const BAD_NAME = `Use a name of 1 to ${DEVICE_NAME_MAX_CHARS} characters.`;
const nameOk = (name: string) => name.length >= 1 && [...name].length <= DEVICE_NAME_MAX_CHARS;

/** What the window's `Channel` registered; Rust calls it with each message
 * and its index, and so does this. */
interface TauriInternals {
  runCallback(id: number, data: { index: number; message: WindowEvent }): void;
}

export class FakeBackend {
  auth: AuthState;
  info: AppInfo;
  settings: Settings;
  sessions: SessionView[];
  stale: boolean;
  fetchedAt: string | null;
  latencyMs: number;
  readonly calls: Call[] = [];
  #failures = new Map<string, Failure[]>();
  #holds = new Map<string, Promise<void>>();
  #channel: { id: number; sent: number } | null = null;
  /** What the window last heard, to publish only changes (as Rust does). */
  #published = { auth: "", sessions: "" };

  constructor(opts: FakeOptions = {}) {
    const now = Date.now();
    this.info = {
      version: "0.1.0",
      debug: false,
      credential_store: "os",
      credential_store_warning: null,
      scheme_registered: true,
      scheme_warning: null,
      link_forwarding_warning: null,
      settings_warning: null,
      dev_mailbox_url: null,
      ...opts.info,
    };
    this.settings = {
      server_url: opts.state === "needs-server" ? null : "https://accounts.example.com",
      device_name: "Ada's MacBook Pro",
      theme: "system",
      ...opts.settings,
    };
    this.sessions = opts.sessions ?? seedSessions(now);
    this.stale = opts.stale ?? false;
    // Rust has no list until it has fetched one; a stale one was fetched
    // before the server went away.
    this.fetchedAt = this.stale ? new Date(now - 7 * 60_000).toISOString() : null;
    this.latencyMs = opts.latencyMs ?? 0;
    const state = opts.state ?? "signed-in";
    switch (state) {
      case "needs-server":
        this.auth = { state };
        break;
      case "signed-out":
        this.auth = { state, notice: opts.notice ?? null };
        break;
      case "awaiting-link":
        this.auth = this.#awaiting("ada@example.com", opts.resendInSeconds ?? 42);
        break;
      case "signed-in":
        this.auth = this.#signedIn();
        break;
    }
  }

  /** The next call of `cmd` rejects with this error (queue several to fail
   * several calls). */
  failNext(cmd: IpcName, code: Failure["code"], message: string): void {
    const queue = this.#failures.get(cmd) ?? [];
    queue.push(err(code, message));
    this.#failures.set(cmd, queue);
  }

  /** Calls of `cmd` wait until the returned function is called. */
  hold(cmd: IpcName): () => void {
    let release!: () => void;
    this.#holds.set(cmd, new Promise<void>((r) => (release = r)));
    return () => {
      this.#holds.delete(cmd);
      release();
    };
  }

  callsOf(cmd: IpcName): Call[] {
    return this.calls.filter((c) => c.cmd === cmd);
  }

  /** The list as Rust sends it: this device first, then the server's order. */
  snapshot(): SessionsSnapshot {
    return {
      sessions: [
        ...this.sessions.filter((s) => s.current),
        ...this.sessions.filter((s) => !s.current),
      ],
      fetched_at: this.fetchedAt,
      stale: this.stale,
      error: this.stale ? "Can't reach accounts.example.com. Check your connection." : null,
    };
  }

  /** Sends one event on the window's channel, if it has connected. */
  send(event: WindowEvent): void {
    const channel = this.#channel;
    if (!channel) return;
    if (event.type === "auth-changed") this.#published.auth = JSON.stringify(event.auth);
    if (event.type === "sessions-changed") {
      this.#published.sessions = JSON.stringify(event.sessions);
    }
    const internals = (window as unknown as { __TAURI_INTERNALS__: TauriInternals })
      .__TAURI_INTERNALS__;
    internals.runCallback(channel.id, { index: channel.sent++, message: event });
  }

  async emitAuth(state: AuthState = this.auth): Promise<void> {
    this.auth = state;
    this.send({ type: "auth-changed", auth: state });
  }

  async emitSessions(): Promise<void> {
    this.fetchedAt = new Date().toISOString();
    this.send({ type: "sessions-changed", sessions: this.snapshot() });
  }

  async emitDeepLinkError(error: CommandError): Promise<void> {
    this.send({ type: "deep-link-error", error });
  }

  async handle(cmd: string, args: Args = {}): Promise<unknown> {
    this.calls.push({ cmd, args });
    // connect subscribes and reads the state at once, as Rust does; a hold
    // delays only its answer, so what is sent meanwhile is newer.
    const connected = cmd === "connect" ? this.#connect(args.events) : null;
    const hold = this.#holds.get(cmd);
    if (hold) await hold;
    if (this.latencyMs > 0 && cmd !== "report_activity") {
      await new Promise((r) => setTimeout(r, this.latencyMs));
    }
    const failure = this.#failures.get(cmd)?.shift();
    if (failure) throw failure;
    if (connected) return connected;
    const answer = this.#run(cmd, args);
    if (!QUIET.has(accessor(cmd))) this.#publish();
    return answer;
  }

  #connect(events: unknown): Connected {
    if (!(events instanceof Channel)) throw err("invalid_request", "connect needs a channel.");
    this.#channel = { id: events.id, sent: 0 };
    const connected = { auth: this.auth, sessions: this.snapshot() };
    this.#published = {
      auth: JSON.stringify(connected.auth),
      sessions: JSON.stringify(connected.sessions),
    };
    return connected;
  }

  /** Sends what changed since the window last heard, as Rust's publish does. */
  #publish(): void {
    if (JSON.stringify(this.auth) !== this.#published.auth) {
      this.send({ type: "auth-changed", auth: this.auth });
    }
    const sessions = this.auth.state === "signed-in" ? this.snapshot() : null;
    if (sessions && JSON.stringify(sessions) !== this.#published.sessions) {
      this.send({ type: "sessions-changed", sessions });
    }
  }

  #awaiting(email: string, resendInSeconds: number): AuthState {
    const now = Date.now();
    return {
      state: "awaiting-link",
      email,
      flow_id: `flow-${Math.floor(now / 1000)}`,
      expires_at: new Date(now + 10 * 60_000).toISOString(),
      resend_after: new Date(now + resendInSeconds * 1000).toISOString(),
      device_name: this.settings.device_name,
    };
  }

  #signedIn(): AuthState {
    const current = this.sessions.find((s) => s.current) ?? seedSessions()[0];
    return { state: "signed-in", account: seedAccount(), session: current };
  }

  #requireSignedIn(): Extract<AuthState, { state: "signed-in" }> {
    if (this.auth.state !== "signed-in") {
      throw err("signed_out", "You're signed out. Sign in again to continue.");
    }
    return this.auth;
  }

  #signOut(notice: SignedOutNotice | null): AuthState {
    this.sessions = [];
    this.auth = { state: "signed-out", notice };
    return this.auth;
  }

  #run(cmd: string, args: Args): unknown {
    const name = accessor(cmd);
    if (!Object.hasOwn(this.#commands, name)) {
      throw err("server_error", `The fake backend has no command ${cmd}.`);
    }
    return this.#commands[name as CommandName](args);
  }

  /** One answer per generated command, typed by what bindings.ts says it
   * answers. */
  #commands: { [K in CommandName]: (args: Args) => Data<K> } = {
    connect: (args) => this.#connect(args.events),
    getAppInfo: () => this.info,
    getSettings: () => this.settings,
    getDiagnostics: () =>
      [
        "Latch diagnostics (no passwords, tokens, codes or email addresses)",
        `App               Latch ${this.info.version}`,
        `Server            ${this.settings.server_url ?? "not set"}`,
        `Credential store  ${this.info.credential_store}`,
        "",
      ].join("\n"),
    setServer: (args) => {
      const url = String(args.url ?? "").trim();
      // As Rust: plain http:// only to a loopback IP literal, never "localhost".
      if (!/^https:\/\/[^/\s]+|^http:\/\/(127(\.\d{1,3}){3}|\[::1\])(:\d+)?(\/|$)/.test(url)) {
        throw err(
          "invalid_server",
          "Enter the server's full address, starting with https:// (http:// only for this computer).",
        );
      }
      if (url.includes("down")) {
        throw err("unreachable", `Can't reach ${url}. Check the address and your connection.`);
      }
      this.settings = { ...this.settings, server_url: url };
      return this.#signOut(null);
    },
    setDeviceName: (args) => {
      const name = trimmedName(args);
      if (!nameOk(name)) throw err("invalid_name", BAD_NAME);
      this.settings = { ...this.settings, device_name: name };
      return this.settings;
    },
    setTheme: (args) => {
      this.settings = { ...this.settings, theme: args.theme as Settings["theme"] };
      return this.settings;
    },
    requestLink: (args) => {
      const email = String(args.email ?? "")
        .trim()
        .toLowerCase();
      if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email)) {
        throw err("invalid_email", "Enter an email address like name@example.com.");
      }
      this.auth = this.#awaiting(email, 60);
      return this.auth;
    },
    resendLink: () => {
      if (this.auth.state !== "awaiting-link") {
        throw err("not_pending", "No sign-in is in progress.");
      }
      if (Date.parse(this.auth.resend_after) > Date.now()) {
        throw err("rate_limited", "Please wait a moment before sending another link.");
      }
      this.auth = this.#awaiting(this.auth.email, 60);
      return this.auth;
    },
    cancelSignIn: () => {
      this.auth = { state: "signed-out", notice: null };
      return this.auth;
    },
    submitCode: (args) => {
      if (this.auth.state !== "awaiting-link") {
        throw err("not_pending", "No sign-in is in progress.");
      }
      if (!isCompleteCode(String(args.code ?? ""))) {
        throw err("invalid_code", "That code isn't right. Check the email and try again.");
      }
      this.sessions = seedSessions();
      this.auth = this.#signedIn();
      return this.auth;
    },
    listSessions: () => {
      this.#requireSignedIn();
      if (!this.stale) this.fetchedAt = new Date().toISOString();
      return this.snapshot();
    },
    renameSession: (args) => {
      const auth = this.#requireSignedIn();
      const name = trimmedName(args);
      if (!nameOk(name)) throw err("invalid_name", BAD_NAME);
      const found = this.sessions.find((s) => s.id === args.sessionId);
      if (!found) throw err("not_found", "That device is no longer signed in.");
      // As latchd: another device's rename says who did it; one's own clears it.
      const me = this.sessions.find((s) => s.current);
      const updated = {
        ...found,
        device_name: name,
        renamed_by_device: found.current ? null : (me?.device_name ?? null),
      };
      this.sessions = this.sessions.map((s) => (s.id === updated.id ? updated : s));
      if (updated.current) this.auth = { ...auth, session: updated };
      return updated;
    },
    renameAccount: (args) => {
      const auth = this.#requireSignedIn();
      const name = trimmedName(args);
      if (!nameOk(name)) throw err("invalid_name", BAD_NAME);
      const parts = name.split(/[\s._-]+/).filter(Boolean);
      const initials = parts
        .slice(0, 2)
        .map((p) => p[0])
        .join("")
        .toUpperCase();
      const account = { ...auth.account, display_name: name, initials };
      this.auth = { ...auth, account };
      return account;
    },
    logOut: () => {
      this.#requireSignedIn();
      return this.#signOut(null);
    },
    terminateSession: (args) => {
      this.#requireSignedIn();
      const target = this.sessions.find((s) => s.id === args.sessionId);
      if (!target) throw err("not_found", "That device is no longer signed in.");
      if (target.current) throw err("not_found", "Use Log out to sign this device out.");
      this.sessions = this.sessions.filter((s) => s.id !== target.id);
      return null;
    },
    logOutOthers: () => {
      this.#requireSignedIn();
      const count = this.sessions.filter((s) => !s.current).length;
      this.sessions = this.sessions.filter((s) => s.current);
      return count;
    },
    logOutEverywhere: () => {
      this.#requireSignedIn();
      const count = this.sessions.length;
      const by = this.sessions.find((s) => s.current)?.device_name ?? this.settings.device_name;
      const at = new Date();
      this.#signOut({
        reason: "logged_out_everywhere",
        by_device: by,
        at: at.toISOString(),
        message: `You logged out of all devices from ${by} at ${time(at)}`,
      });
      return count;
    },
    reportActivity: () => undefined,
  };
}

function trimmedName(args: Args): string {
  return typeof args.name === "string" ? args.name.trim() : "";
}

export function installFakeBackend(opts: FakeOptions = {}): FakeBackend {
  const fake = new FakeBackend(opts);
  mockIPC((cmd, args) => fake.handle(cmd, args as Args | undefined));
  return fake;
}

// An in-memory stand-in for the Rust side, behind mockIPC. The preview
// harness and the tests drive the real UI against it. Dev and test only:
// nothing under src/dev is imported by the production entry.
import { mockIPC } from "@tauri-apps/api/mocks";
import { emit } from "@tauri-apps/api/event";
import { normalizeCode } from "../lib/code";
import type {
  AppInfo,
  AuthState,
  CommandError,
  SessionView,
  SessionsSnapshot,
  Settings,
  SignedOutNotice,
} from "../lib/types";
import { seedAccount, seedSessions } from "./seed";

export type StateName = AuthState["state"];

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

export interface Call {
  cmd: string;
  args: Record<string, unknown> | undefined;
}

type Args = Record<string, unknown> | undefined;

const err = (code: string, message: string): CommandError => ({ code, message });
const time = (d: Date) => d.toTimeString().slice(0, 5);

export class FakeBackend {
  auth: AuthState;
  info: AppInfo;
  settings: Settings;
  sessions: SessionView[];
  stale: boolean;
  fetchedAt: string | null;
  latencyMs: number;
  readonly calls: Call[] = [];
  #failures = new Map<string, CommandError[]>();
  #holds = new Map<string, Promise<void>>();

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
    this.fetchedAt = new Date(now - (this.stale ? 7 * 60_000 : 0)).toISOString();
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
  failNext(cmd: string, code: string, message: string): void {
    const queue = this.#failures.get(cmd) ?? [];
    queue.push(err(code, message));
    this.#failures.set(cmd, queue);
  }

  /** Calls of `cmd` wait until the returned function is called. */
  hold(cmd: string): () => void {
    let release!: () => void;
    this.#holds.set(cmd, new Promise<void>((r) => (release = r)));
    return () => {
      this.#holds.delete(cmd);
      release();
    };
  }

  callsOf(cmd: string): Call[] {
    return this.calls.filter((c) => c.cmd === cmd);
  }

  snapshot(): SessionsSnapshot {
    return {
      sessions: this.sessions,
      fetched_at: this.fetchedAt,
      stale: this.stale,
      error: this.stale ? "Can't reach accounts.example.com. Check your connection." : null,
    };
  }

  async emitAuth(state: AuthState = this.auth): Promise<void> {
    this.auth = state;
    await emit("auth-changed", state);
  }

  async emitSessions(): Promise<void> {
    this.fetchedAt = new Date().toISOString();
    await emit("sessions-changed", this.snapshot());
  }

  async handle(cmd: string, args: Args): Promise<unknown> {
    this.calls.push({ cmd, args });
    const hold = this.#holds.get(cmd);
    if (hold) await hold;
    if (this.latencyMs > 0 && cmd !== "report_activity") {
      await new Promise((r) => setTimeout(r, this.latencyMs));
    }
    const failure = this.#failures.get(cmd)?.shift();
    if (failure) throw failure;
    return this.#run(cmd, args ?? {});
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

  #current(): SessionView | undefined {
    return this.sessions.find((s) => s.current);
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

  #run(cmd: string, args: Record<string, unknown>): unknown {
    const name = typeof args.name === "string" ? args.name.trim() : "";
    switch (cmd) {
      case "get_state":
        return this.auth;
      case "get_app_info":
        return this.info;
      case "get_settings":
        return this.settings;
      case "get_diagnostics":
        return [
          "Latch diagnostics (no passwords, tokens, codes or email addresses)",
          `App               Latch ${this.info.version}`,
          `Server            ${this.settings.server_url ?? "not set"}`,
          `Credential store  ${this.info.credential_store}`,
          "",
        ].join("\n");
      case "set_server": {
        const url = String(args.url ?? "").trim();
        if (!/^https:\/\/[^/\s]+|^http:\/\/(127\.0\.0\.1|localhost|\[::1\])(:\d+)?/.test(url)) {
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
      }
      case "set_device_name":
        if (name.length < 1 || name.length > 64)
          throw err("invalid_name", "Use a name of 1 to 64 characters.");
        this.settings = { ...this.settings, device_name: name };
        return this.settings;
      case "set_theme":
        this.settings = { ...this.settings, theme: args.theme as Settings["theme"] };
        return this.settings;
      case "request_link": {
        const email = String(args.email ?? "")
          .trim()
          .toLowerCase();
        if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email)) {
          throw err("invalid_email", "Enter an email address like name@example.com.");
        }
        this.auth = this.#awaiting(email, 60);
        return this.auth;
      }
      case "resend_link": {
        if (this.auth.state !== "awaiting-link")
          throw err("not_pending", "No sign-in is in progress.");
        if (Date.parse(this.auth.resend_after) > Date.now()) {
          throw err("rate_limited", "Please wait a moment before sending another link.");
        }
        this.auth = this.#awaiting(this.auth.email, 60);
        return this.auth;
      }
      case "cancel_sign_in":
        this.auth = { state: "signed-out", notice: null };
        return this.auth;
      case "submit_code": {
        if (this.auth.state !== "awaiting-link")
          throw err("not_pending", "No sign-in is in progress.");
        const code = normalizeCode(String(args.code ?? ""));
        if (code.length !== 9)
          throw err("invalid_code", "That code isn't right. Check the email and try again.");
        this.sessions = seedSessions();
        this.auth = this.#signedIn();
        return this.auth;
      }
      case "list_sessions":
        this.#requireSignedIn();
        if (!this.stale) this.fetchedAt = new Date().toISOString();
        return this.snapshot();
      case "rename_session": {
        this.#requireSignedIn();
        if (name.length < 1 || name.length > 64)
          throw err("invalid_name", "Use a name of 1 to 64 characters.");
        const found = this.sessions.find((s) => s.id === args.sessionId);
        if (!found) throw err("not_found", "That device is no longer signed in.");
        const updated = { ...found, device_name: name };
        this.sessions = this.sessions.map((s) => (s.id === updated.id ? updated : s));
        return updated;
      }
      case "rename_account": {
        const auth = this.#requireSignedIn();
        if (name.length < 1 || name.length > 64)
          throw err("invalid_name", "Use a name of 1 to 64 characters.");
        const parts = name.split(/[\s._-]+/).filter(Boolean);
        const initials = parts
          .slice(0, 2)
          .map((p) => p[0])
          .join("")
          .toUpperCase();
        const account = { ...auth.account, display_name: name, initials };
        this.auth = { ...auth, account };
        return account;
      }
      case "log_out":
        this.#requireSignedIn();
        return this.#signOut(null);
      case "terminate_session": {
        this.#requireSignedIn();
        const target = this.sessions.find((s) => s.id === args.sessionId);
        if (!target) throw err("not_found", "That device is no longer signed in.");
        if (target.current) throw err("not_found", "Use Log out to sign this device out.");
        this.sessions = this.sessions.filter((s) => s.id !== target.id);
        void this.emitSessions();
        return null;
      }
      case "log_out_others": {
        this.#requireSignedIn();
        const count = this.sessions.filter((s) => !s.current).length;
        this.sessions = this.sessions.filter((s) => s.current);
        void this.emitSessions();
        return count;
      }
      case "log_out_everywhere": {
        this.#requireSignedIn();
        const count = this.sessions.length;
        const by = this.#current()?.device_name ?? this.settings.device_name;
        const at = new Date();
        this.#signOut({
          reason: "logged_out_everywhere",
          by_device: by,
          at: at.toISOString(),
          message: `You logged out of all devices from ${by} at ${time(at)}`,
        });
        void emit("auth-changed", this.auth);
        return count;
      }
      case "report_activity":
        return null;
      default:
        throw err("server_error", `The fake backend has no command ${cmd}.`);
    }
  }
}

export function installFakeBackend(opts: FakeOptions = {}): FakeBackend {
  const fake = new FakeBackend(opts);
  mockIPC((cmd, args) => fake.handle(cmd, args as Args), { shouldMockEvents: true });
  return fake;
}

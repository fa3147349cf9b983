// The one store that mirrors the Rust side: auth state, session list,
// settings and app info. It is fed only by command results and by the
// `auth-changed` / `sessions-changed` events; components read it and call
// its methods, never the API directly.
import * as api from "./api";
import type {
  Account,
  AppInfo,
  AuthState,
  CommandError,
  SessionView,
  SessionsSnapshot,
  Settings,
  Theme,
} from "./types";

type SignedIn = Extract<AuthState, { state: "signed-in" }>;

export class LatchState {
  auth = $state<AuthState | null>(null);
  info = $state<AppInfo | null>(null);
  settings = $state<Settings | null>(null);
  sessions = $state<SessionsSnapshot | null>(null);
  /** Set when the first load failed: nothing else can be shown then. */
  startError = $state<CommandError | null>(null);
  /** A list_sessions call that rejected (it answers "server down" itself). */
  sessionsError = $state<string | null>(null);
  refreshing = $state(false);
  /** Why the last sign-in link opened from outside was refused (it changed nothing). */
  linkError = $state<CommandError | null>(null);

  #unlisten: api.UnlistenFn[] = [];
  // Bumped by every auth/sessions update, so a slow reply can't overwrite
  // an event that arrived while it was in flight.
  #authVersion = 0;
  #sessionsVersion = 0;
  #generation = 0;

  get signedIn(): SignedIn | null {
    return this.auth?.state === "signed-in" ? this.auth : null;
  }

  get account(): Account | null {
    return this.signedIn?.account ?? null;
  }

  /** This device's session, preferring the freshest copy from the list. */
  get currentSession(): SessionView | null {
    const listed = this.sessions?.sessions.find((s) => s.current);
    return listed ?? this.signedIn?.session ?? null;
  }

  /** Sessions for display: this device first, then in the server's order. */
  get orderedSessions(): SessionView[] {
    const list = this.sessions?.sessions ?? [];
    return [...list.filter((s) => s.current), ...list.filter((s) => !s.current)];
  }

  get otherSessions(): SessionView[] {
    return this.orderedSessions.filter((s) => !s.current);
  }

  /** The "Copy diagnostics" text: versions, server, stores; no secrets. */
  diagnostics(): Promise<string> {
    return api.getDiagnostics();
  }

  async start(): Promise<void> {
    const generation = ++this.#generation;
    this.startError = null;
    try {
      // Listen first so nothing that happens during the first load is lost.
      if (this.#unlisten.length === 0) {
        this.#unlisten = await Promise.all([
          api.onAuthChanged((s) => this.#applyAuth(s)),
          api.onSessionsChanged((s) => this.#applySessions(s)),
          api.onDeepLinkError((e) => (this.linkError = e)),
        ]);
      }
      const authVersion = this.#authVersion;
      const [state, info, settings] = await Promise.all([
        api.getState(),
        api.getAppInfo(),
        api.getSettings(),
      ]);
      if (generation !== this.#generation) return;
      this.info = info;
      this.settings = settings;
      if (authVersion === this.#authVersion) this.#applyAuth(state);
    } catch (e) {
      if (generation === this.#generation) this.startError = api.toCommandError(e);
    }
  }

  /** Drops listeners and mirrored state (tests, hot reload). */
  stop(): void {
    this.#generation++;
    for (const unlisten of this.#unlisten) {
      try {
        unlisten();
      } catch {
        // The IPC bridge is already gone (window closing, test teardown).
      }
    }
    this.#unlisten = [];
    this.auth = null;
    this.info = null;
    this.settings = null;
    this.sessions = null;
    this.startError = null;
    this.sessionsError = null;
    this.linkError = null;
    this.refreshing = false;
  }

  #applyAuth(next: AuthState): void {
    const wasSignedIn = this.auth?.state === "signed-in";
    this.#authVersion++;
    if (this.auth?.state !== next.state) this.linkError = null;
    this.auth = next;
    if (next.state === "signed-in") {
      if (!wasSignedIn) {
        this.sessions = null;
        void this.refreshSessions();
      }
    } else {
      this.sessions = null;
      this.sessionsError = null;
    }
  }

  #applySessions(next: SessionsSnapshot): void {
    if (this.auth?.state !== "signed-in") return;
    this.#sessionsVersion++;
    this.sessions = next;
    this.sessionsError = null;
  }

  #editSessions(edit: (list: SessionView[]) => SessionView[]): void {
    if (!this.sessions) return;
    this.#sessionsVersion++;
    this.sessions = { ...this.sessions, sessions: edit(this.sessions.sessions) };
  }

  // ---- sessions -----------------------------------------------------------

  async refreshSessions(): Promise<void> {
    const version = this.#sessionsVersion;
    const generation = this.#generation;
    this.refreshing = true;
    try {
      const snapshot = await api.listSessions();
      if (generation !== this.#generation || this.auth?.state !== "signed-in") return;
      if (version === this.#sessionsVersion) {
        this.#applySessions(snapshot);
      }
    } catch (e) {
      if (generation === this.#generation) this.sessionsError = api.toCommandError(e).message;
    } finally {
      if (generation === this.#generation) this.refreshing = false;
    }
  }

  async renameSession(sessionId: string, name: string): Promise<SessionView> {
    const updated = await api.renameSession(sessionId, name);
    this.#editSessions((list) => list.map((s) => (s.id === updated.id ? updated : s)));
    const signedIn = this.signedIn;
    if (signedIn && signedIn.session.id === updated.id) {
      this.auth = { ...signedIn, session: updated };
    }
    return updated;
  }

  async terminateSession(sessionId: string): Promise<void> {
    await api.terminateSession(sessionId);
    this.#editSessions((list) => list.filter((s) => s.id !== sessionId));
  }

  async logOutOthers(): Promise<number> {
    const count = await api.logOutOthers();
    this.#editSessions((list) => list.filter((s) => s.current));
    return count;
  }

  async logOutEverywhere(): Promise<number> {
    const count = await api.logOutEverywhere();
    // Rust also announces the new state with `auth-changed`; asking keeps the
    // view right even if that event is late.
    this.#applyAuth(await api.getState());
    return count;
  }

  async logOut(): Promise<void> {
    this.#applyAuth(await api.logOut());
  }

  // ---- account ------------------------------------------------------------

  async renameAccount(name: string): Promise<Account> {
    const account = await api.renameAccount(name);
    const signedIn = this.signedIn;
    if (signedIn) this.auth = { ...signedIn, account };
    return account;
  }

  // ---- sign-in ------------------------------------------------------------

  async setServer(url: string): Promise<void> {
    const state = await api.setServer(url);
    this.#applyAuth(state);
    this.settings = await api.getSettings();
  }

  async requestLink(email: string): Promise<void> {
    this.#applyAuth(await api.requestLink(email));
  }

  async resendLink(): Promise<void> {
    this.#applyAuth(await api.resendLink());
  }

  async cancelSignIn(): Promise<void> {
    this.#applyAuth(await api.cancelSignIn());
  }

  async submitCode(code: string): Promise<void> {
    this.#applyAuth(await api.submitCode(code));
  }

  // ---- settings -----------------------------------------------------------

  async setDeviceName(name: string): Promise<void> {
    this.settings = await api.setDeviceName(name);
  }

  async setTheme(theme: Theme): Promise<void> {
    this.settings = await api.setTheme(theme);
  }
}

export const latch = new LatchState();

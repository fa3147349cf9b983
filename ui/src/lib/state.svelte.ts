// The one store that mirrors the Rust side: auth state, session list,
// settings and app info. It is fed only by command results and by the events
// on the channel `connect` opens; components read it and call its methods,
// never the API directly. Rust orders the list and publishes it after every
// change, so nothing here sorts or edits it.
import { call, commands, connect, toCommandError, type Connection, type Failure } from "./api";
import type {
  Account,
  AppInfo,
  AuthState,
  CommandError,
  SessionView,
  SessionsSnapshot,
  Settings,
  Theme,
  WindowEvent,
} from "./types";

type SignedIn = Extract<AuthState, { state: "signed-in" }>;

export class LatchState {
  auth = $state<AuthState | null>(null);
  info = $state<AppInfo | null>(null);
  settings = $state<Settings | null>(null);
  sessions = $state<SessionsSnapshot | null>(null);
  /** Set when the first load failed: nothing else can be shown then. */
  startError = $state<Failure | null>(null);
  /** A list_sessions call that rejected (it answers "server down" itself). */
  sessionsError = $state<string | null>(null);
  refreshing = $state(false);
  /** Why the last sign-in link opened from outside was refused (it changed nothing). */
  linkError = $state<CommandError | null>(null);

  #connection: Connection | null = null;
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

  /** Every signed-in device in Rust's order: this one first, then the server's. */
  get sessionList(): SessionView[] {
    return this.sessions?.sessions ?? [];
  }

  /** This device's session, preferring the freshest copy from the list. */
  get currentSession(): SessionView | null {
    const listed = this.sessionList.find((s) => s.current);
    return listed ?? this.signedIn?.session ?? null;
  }

  get otherSessions(): SessionView[] {
    return this.sessionList.filter((s) => !s.current);
  }

  /** The "Copy diagnostics" text: versions, server, stores; no secrets. */
  diagnostics(): Promise<string> {
    return call(commands.getDiagnostics());
  }

  async start(): Promise<void> {
    const generation = ++this.#generation;
    this.startError = null;
    this.#connection?.close();
    this.#connection = null;
    const authVersion = this.#authVersion;
    const sessionsVersion = this.#sessionsVersion;
    // The channel is open before Rust reads the state, so nothing that
    // happens during the first load is lost.
    const connecting = connect((event) => {
      if (generation === this.#generation) this.#onEvent(event);
    });
    try {
      const [connection, info, settings] = await Promise.all([
        connecting,
        call(commands.getAppInfo()),
        call(commands.getSettings()),
      ]);
      if (generation !== this.#generation) {
        connection.close();
        return;
      }
      this.#connection = connection;
      this.info = info;
      this.settings = settings;
      const { auth, sessions } = connection.connected;
      if (authVersion === this.#authVersion) {
        this.#applyAuth(auth, sessionsVersion === this.#sessionsVersion ? sessions : null);
      }
    } catch (e) {
      connecting.then((c) => c.close()).catch(() => {});
      if (generation === this.#generation) this.startError = toCommandError(e);
    }
  }

  /** Closes the channel and drops mirrored state (tests, hot reload). */
  stop(): void {
    this.#generation++;
    this.#connection?.close();
    this.#connection = null;
    this.auth = null;
    this.info = null;
    this.settings = null;
    this.sessions = null;
    this.startError = null;
    this.sessionsError = null;
    this.linkError = null;
    this.refreshing = false;
  }

  #onEvent(event: WindowEvent): void {
    // An event type a newer Rust adds falls through: nothing to do.
    switch (event.type) {
      case "auth-changed":
        this.#applyAuth(event.auth);
        return;
      case "sessions-changed":
        this.#applySessions(event.sessions);
        return;
      case "deep-link-error":
        this.linkError = event.error;
        return;
    }
  }

  /** `known`: the list Rust had when it read `next`, if any. */
  #applyAuth(next: AuthState, known: SessionsSnapshot | null = null): void {
    const wasSignedIn = this.auth?.state === "signed-in";
    this.#authVersion++;
    // A link refused before the first state arrived still needs saying.
    if (this.auth !== null && this.auth.state !== next.state) this.linkError = null;
    this.auth = next;
    if (next.state === "signed-in") {
      if (!wasSignedIn) {
        // A list the server has confirmed shows at once; either way the
        // refresh brings it up to date.
        this.sessions = known?.fetched_at ? known : null;
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

  // ---- sessions -----------------------------------------------------------

  async refreshSessions(): Promise<void> {
    const version = this.#sessionsVersion;
    const generation = this.#generation;
    this.refreshing = true;
    try {
      const snapshot = await call(commands.listSessions());
      if (generation !== this.#generation || this.auth?.state !== "signed-in") return;
      if (version === this.#sessionsVersion) {
        this.#applySessions(snapshot);
      }
    } catch (e) {
      if (generation === this.#generation) this.sessionsError = toCommandError(e).message;
    } finally {
      if (generation === this.#generation) this.refreshing = false;
    }
  }

  // Rust publishes the new list (`sessions-changed`) before it answers these.

  renameSession(sessionId: string, name: string): Promise<SessionView> {
    return call(commands.renameSession(sessionId, name));
  }

  async terminateSession(sessionId: string): Promise<void> {
    await call(commands.terminateSession(sessionId));
  }

  logOutOthers(): Promise<number> {
    return call(commands.logOutOthers());
  }

  /** The signed-out state comes as `auth-changed`. */
  logOutEverywhere(): Promise<number> {
    return call(commands.logOutEverywhere());
  }

  async logOut(): Promise<void> {
    this.#applyAuth(await call(commands.logOut()));
  }

  // ---- account ------------------------------------------------------------

  async renameAccount(name: string): Promise<Account> {
    const account = await call(commands.renameAccount(name));
    const signedIn = this.signedIn;
    if (signedIn) this.auth = { ...signedIn, account };
    return account;
  }

  // ---- sign-in ------------------------------------------------------------

  async setServer(url: string): Promise<void> {
    this.#applyAuth(await call(commands.setServer(url)));
    this.settings = await call(commands.getSettings());
  }

  async requestLink(email: string): Promise<void> {
    this.#applyAuth(await call(commands.requestLink(email)));
  }

  async resendLink(): Promise<void> {
    this.#applyAuth(await call(commands.resendLink()));
  }

  async cancelSignIn(): Promise<void> {
    this.#applyAuth(await call(commands.cancelSignIn()));
  }

  async submitCode(code: string): Promise<void> {
    this.#applyAuth(await call(commands.submitCode(code)));
  }

  // ---- settings -----------------------------------------------------------

  async setDeviceName(name: string): Promise<void> {
    this.settings = await call(commands.setDeviceName(name));
  }

  async setTheme(theme: Theme): Promise<void> {
    this.settings = await call(commands.setTheme(theme));
  }
}

export const latch = new LatchState();

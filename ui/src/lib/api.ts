// The one door to the Rust side: every command and event the UI uses, typed.
// No other file of the app calls invoke or listen (src/dev fakes the other
// end of them for the preview harness and the tests).
import { invoke } from "@tauri-apps/api/core";
import { listen, type UnlistenFn } from "@tauri-apps/api/event";
import { toCommandError } from "./errors";
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

export type { UnlistenFn };
export { toCommandError };

async function call<T>(cmd: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(cmd, args);
  } catch (e) {
    throw toCommandError(e);
  }
}

export const getState = () => call<AuthState>("get_state");
export const getAppInfo = () => call<AppInfo>("get_app_info");
export const getDiagnostics = () => call<string>("get_diagnostics");
export const getSettings = () => call<Settings>("get_settings");
export const setServer = (url: string) => call<AuthState>("set_server", { url });
export const setDeviceName = (name: string) => call<Settings>("set_device_name", { name });
export const setTheme = (theme: Theme) => call<Settings>("set_theme", { theme });
export const requestLink = (email: string) => call<AuthState>("request_link", { email });
export const resendLink = () => call<AuthState>("resend_link");
export const cancelSignIn = () => call<AuthState>("cancel_sign_in");
export const submitCode = (code: string) => call<AuthState>("submit_code", { code });
export const listSessions = () => call<SessionsSnapshot>("list_sessions");
export const renameSession = (sessionId: string, name: string) =>
  call<SessionView>("rename_session", { sessionId, name });
export const renameAccount = (name: string) => call<Account>("rename_account", { name });
export const logOut = () => call<AuthState>("log_out");
export const terminateSession = (sessionId: string) =>
  call<null>("terminate_session", { sessionId });
export const logOutOthers = () => call<number>("log_out_others");
export const logOutEverywhere = () => call<number>("log_out_everywhere");
export const reportActivity = (active: boolean) => call<null>("report_activity", { active });

export const onAuthChanged = (cb: (state: AuthState) => void): Promise<UnlistenFn> =>
  listen<AuthState>("auth-changed", (e) => cb(e.payload));
export const onSessionsChanged = (cb: (snapshot: SessionsSnapshot) => void): Promise<UnlistenFn> =>
  listen<SessionsSnapshot>("sessions-changed", (e) => cb(e.payload));
export const onDeepLinkError = (cb: (error: CommandError) => void): Promise<UnlistenFn> =>
  listen<CommandError>("deep-link-error", (e) => cb(e.payload));

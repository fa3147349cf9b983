// The IPC types, generated from the Rust side into bindings.ts (regenerate:
// `cargo test -p latch-desktop --lib bindings`). Rust sends the `_Serialize`
// shapes; this file only gives them their plain names, so nothing here can
// drift from the commands.
import type { CommandError } from "./bindings";

export type {
  Account,
  AppKind,
  CommandError,
  CredentialStore,
  Expiry,
  Platform,
  RevocationReason,
  SessionState,
  Theme,
  AppInfo_Serialize as AppInfo,
  AuthState_Serialize as AuthState,
  Connected_Serialize as Connected,
  SessionView_Serialize as SessionView,
  SessionsSnapshot_Serialize as SessionsSnapshot,
  Settings_Serialize as Settings,
  SignedOutNotice_Serialize as SignedOutNotice,
  WindowEvent_Serialize as WindowEvent,
} from "./bindings";

/** The codes Rust answers with: a union, so a misspelt one doesn't compile. */
export type ErrorCode = CommandError["code"];

// The IPC types, generated from the Rust side into bindings.ts (regenerate:
// `cargo test -p latch-desktop --lib bindings`). Rust sends the `_Serialize`
// shapes; this file only gives them their plain names, so nothing here can
// drift from the commands.

export type {
  Account,
  AppKind,
  CommandError,
  CredentialStore,
  Platform,
  RevocationReason,
  SessionState,
  Theme,
  AppInfo_Serialize as AppInfo,
  AuthState_Serialize as AuthState,
  SessionView_Serialize as SessionView,
  SessionsSnapshot_Serialize as SessionsSnapshot,
  Settings_Serialize as Settings,
  SignedOutNotice_Serialize as SignedOutNotice,
} from "./bindings";

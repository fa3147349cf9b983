// The IPC contract with the Rust side, hand-written for now. These will be
// replaced by types generated from Rust with identical names and shapes, so
// nothing here may drift from the contract.

export type Platform = "linux" | "macos" | "windows" | "android" | "ios" | "web";
export type AppKind = "desktop" | "web" | "mobile";
export type RevocationReason =
  | "logged_out"
  | "terminated"
  | "logged_out_others"
  | "logged_out_everywhere"
  | "expired_idle"
  | "expired_absolute"
  | "evicted";
export interface Account {
  id: string;
  email: string;
  display_name: string;
  initials: string;
  created_at: string;
}
export interface SessionView {
  id: string;
  device_name: string;
  platform: Platform;
  os_version: string;
  app: AppKind;
  app_version: string;
  ip: string;
  created_at: string;
  last_active_at: string;
  expires_at: string;
  state: "active" | "idle";
  current: boolean;
  status: string; // worded by Rust: "Current" | "Active now" | "Last active 3 hours ago"
  expiry: string | null; // worded by Rust: "Expires in 12 days if unused", or null
}
export interface SignedOutNotice {
  reason: RevocationReason;
  by_device: string | null;
  at: string;
  message: string; // worded by Rust, e.g. "This device was terminated from Pixel 8 at 09:13"
}
export type AuthState =
  | { state: "needs-server" }
  | { state: "signed-out"; notice: SignedOutNotice | null }
  | {
      state: "awaiting-link";
      email: string;
      flow_id: string;
      expires_at: string;
      resend_after: string;
      device_name: string;
    }
  | { state: "signed-in"; account: Account; session: SessionView };
export interface SessionsSnapshot {
  sessions: SessionView[];
  fetched_at: string | null;
  stale: boolean;
  error: string | null;
}
export type Theme = "system" | "light" | "dark";
export interface Settings {
  server_url: string | null;
  device_name: string;
  theme: Theme;
}
export interface AppInfo {
  version: string;
  debug: boolean;
  credential_store: "os" | "file";
  credential_store_warning: string | null;
  scheme_registered: boolean;
  scheme_warning: string | null;
  settings_warning: string | null;
  dev_mailbox_url: string | null;
}
export interface CommandError {
  code: string;
  message: string;
} // message is shown to the user as is

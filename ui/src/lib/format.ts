import { DEVICE_NAME_MAX_CHARS } from "./bindings";
import type { AppKind, Platform, SessionView } from "./types";

const PLATFORM: Record<Platform, string> = {
  linux: "Linux",
  macos: "macOS",
  windows: "Windows",
  android: "Android",
  ios: "iOS",
  web: "Web browser",
};

const APP: Record<AppKind, string> = {
  desktop: "Latch for desktop",
  web: "Latch on the web",
  mobile: "Latch for mobile",
};

export const platformName = (p: Platform): string => PLATFORM[p] ?? p;

/** "Latch for desktop 0.1.0 · macOS 14.5" */
export function appAndOs(s: SessionView): string {
  const os = s.platform === "web" ? s.os_version : `${platformName(s.platform)} ${s.os_version}`;
  return `${APP[s.app] ?? s.app} ${s.app_version} · ${os}`;
}

const dateFormat = new Intl.DateTimeFormat(undefined, {
  day: "numeric",
  month: "short",
  year: "numeric",
});
const timeFormat = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });

export const formatDate = (iso: string): string => dateFormat.format(new Date(iso));
export const formatTime = (iso: string): string => timeFormat.format(new Date(iso));

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** Whole seconds from now until `iso`, never negative. */
export function secondsUntil(iso: string, nowMs: number): number {
  return Math.max(0, Math.ceil((Date.parse(iso) - nowMs) / 1000));
}

/** 75 → "1:15" */
export function clockDuration(seconds: number): string {
  const m = Math.floor(seconds / 60);
  const s = seconds % 60;
  return `${m}:${String(s).padStart(2, "0")}`;
}

/** "https://accounts.example.com/" → "accounts.example.com" */
export function hostOf(url: string | null | undefined): string {
  if (!url) return "";
  try {
    return new URL(url).host || url;
  } catch {
    return url;
  }
}

/** Why a device or display name can't be saved, or null: Rust's limit,
 * checked before the call so the person hears of it at once. */
export function validateName(raw: string): string | null {
  const name = raw.trim();
  if (name.length === 0) return "Enter a name.";
  if ([...name].length > DEVICE_NAME_MAX_CHARS) {
    return `Use ${DEVICE_NAME_MAX_CHARS} characters or fewer.`;
  }
  return null;
}

// ---- relative times ---------------------------------------------------------
// Every "3 minutes ago" and "in 12 days" the window shows is worded here,
// from the timestamps Rust sends and a `now` from clock.svelte.ts, so none is
// more than a second stale. The English is what Rust wrote before it sent
// timestamps (crates/client/src/status.rs, which end-to-end tests wait on):
// counts rounded down, "just now" under a minute, "yesterday" from one day
// to two.

const LOCALE = "en";
const counted = new Intl.RelativeTimeFormat(LOCALE, { numeric: "always" }); // "1 year ago"
const named = new Intl.RelativeTimeFormat(LOCALE, { numeric: "auto" }); // "yesterday"

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** "just now", "5 minutes ago", "3 hours ago", "yesterday", "12 days ago",
 * "2 months ago", "1 year ago". */
export function ago(iso: string, nowMs: number): string {
  const ms = nowMs - Date.parse(iso);
  if (ms < MINUTE) return "just now";
  if (ms < HOUR) return counted.format(-Math.floor(ms / MINUTE), "minute");
  if (ms < DAY) return counted.format(-Math.floor(ms / HOUR), "hour");
  const days = Math.floor(ms / DAY);
  if (days < 2) return named.format(-1, "day");
  if (days < 60) return counted.format(-days, "day");
  if (days < 365) return counted.format(-Math.floor(days / 30), "month");
  return counted.format(-Math.floor(days / 365), "year");
}

/** "in 12 days", "in 5 hours", "in 1 minute", "in less than a minute". */
export function fromNow(iso: string, nowMs: number): string {
  const ms = Date.parse(iso) - nowMs;
  if (ms < MINUTE) return "in less than a minute";
  if (ms < HOUR) return counted.format(Math.floor(ms / MINUTE), "minute");
  if (ms < DAY) return counted.format(Math.floor(ms / HOUR), "hour");
  return counted.format(Math.floor(ms / DAY), "day");
}

/** "Active now", "Last active 3 hours ago"; null for this device, whose
 * badge already says "Current". */
export function statusLine(s: SessionView, nowMs: number): string | null {
  if (s.current) return null;
  if (s.state === "active") return "Active now";
  return `Last active ${ago(s.last_active_at, nowMs)}`;
}

/** "Expires in 12 days if unused", or without "if unused" when use can't
 * extend it; null when Rust found it not worth saying. */
export function expiryLine(s: SessionView, nowMs: number): string | null {
  if (!s.expiry) return null;
  return `Expires ${fromNow(s.expiry.at, nowMs)}${s.expiry.if_unused ? " if unused" : ""}`;
}

/** "Updated just now", "Updated 3 minutes ago" */
export const updatedAgo = (fetchedAt: string, nowMs: number): string =>
  `Updated ${ago(fetchedAt, nowMs)}`;

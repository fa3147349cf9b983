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

/** "Updated just now", "Updated 3 minutes ago" */
export function updatedAgo(fetchedAt: string, nowMs: number): string {
  const seconds = Math.max(0, Math.round((nowMs - Date.parse(fetchedAt)) / 1000));
  if (seconds < 45) return "Updated just now";
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `Updated ${plural(minutes, "minute")} ago`;
  const hours = Math.round(minutes / 60);
  if (hours < 24) return `Updated ${plural(hours, "hour")} ago`;
  return `Updated ${formatDate(fetchedAt)}`;
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

export function validateName(raw: string): string | null {
  const name = raw.trim();
  if (name.length === 0) return "Enter a name.";
  if ([...name].length > 64) return "Use 64 characters or fewer.";
  return null;
}

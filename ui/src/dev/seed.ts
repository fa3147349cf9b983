// A made-up account with six signed-in devices, for the preview harness and
// the tests. Times are relative to `now` so the wording stays believable.
import type { Account, SessionView } from "../lib/types";

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

export const seedAccount = (now = Date.now()): Account => ({
  id: "acc_7f3a",
  email: "ada@example.com",
  display_name: "Ada Lovelace",
  initials: "AL",
  created_at: new Date(now - 412 * DAY).toISOString(),
});

type Device = Pick<SessionView, "id" | "device_name" | "platform" | "os_version" | "app" | "ip">;

/** A device, how long ago it signed in and was last used, and for idle ones
 * the whole days it has left unless used. */
type Seed = [device: Device, signedIn: number, lastActive: number, idleDaysLeft?: number];

const SEEDS: Seed[] = [
  [
    {
      id: "s-mac",
      device_name: "Ada's MacBook Pro",
      platform: "macos",
      os_version: "14.5",
      app: "desktop",
      ip: "203.0.113.24",
    },
    9 * DAY,
    0,
  ],
  [
    {
      id: "s-pixel",
      device_name: "Pixel 8",
      platform: "android",
      os_version: "14",
      app: "mobile",
      ip: "198.51.100.7",
    },
    31 * DAY,
    2 * MIN,
  ],
  [
    {
      id: "s-win",
      device_name: "Home desktop",
      platform: "windows",
      os_version: "11",
      app: "desktop",
      ip: "203.0.113.51",
    },
    64 * DAY,
    3 * HOUR,
    14,
  ],
  [
    {
      id: "s-ipad",
      device_name: "iPad Air",
      platform: "ios",
      os_version: "17.5",
      app: "mobile",
      ip: "198.51.100.92",
    },
    120 * DAY,
    1 * DAY,
    13,
  ],
  [
    {
      id: "s-web",
      device_name: "Firefox on Ubuntu",
      platform: "web",
      os_version: "Firefox 128",
      app: "web",
      ip: "192.0.2.140",
    },
    18 * DAY,
    5 * DAY,
    9,
  ],
  [
    {
      id: "s-thinkpad",
      device_name: "Lab ThinkPad",
      platform: "linux",
      os_version: "Debian 12",
      app: "desktop",
      ip: "203.0.113.200",
    },
    26 * DAY,
    12 * DAY,
    2,
  ],
];

/** The first is this device; the idle ones say when they expire, as Rust
 * would for sessions not in use. */
export function seedSessions(now = Date.now()): SessionView[] {
  const iso = (offset: number) => new Date(now + offset).toISOString();
  return SEEDS.map(([device, signedIn, lastActive, idleDaysLeft], i) => {
    // An hour over the whole days, so "in 14 days" stays true while a
    // preview is open.
    const expiresAt = iso((idleDaysLeft ?? 14) * DAY + HOUR);
    return {
      ...device,
      app_version: "0.1.0",
      created_at: iso(-signedIn),
      last_active_at: iso(-lastActive),
      expires_at: expiresAt,
      state: idleDaysLeft === undefined ? "active" : "idle",
      current: i === 0,
      expiry: idleDaysLeft === undefined ? null : { at: expiresAt, if_unused: true },
      renamed_by_device: null,
    };
  });
}

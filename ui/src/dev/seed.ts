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

export function seedSessions(now = Date.now()): SessionView[] {
  const iso = (ms: number) => new Date(now - ms).toISOString();
  const session = (
    s: Partial<SessionView> & Pick<SessionView, "id" | "device_name" | "platform" | "app">,
  ): SessionView => ({
    os_version: "1",
    app_version: "0.1.0",
    ip: "192.0.2.10",
    created_at: iso(20 * DAY),
    last_active_at: iso(0),
    expires_at: new Date(now + 14 * DAY).toISOString(),
    state: "active",
    current: false,
    status: "Active now",
    expiry: null,
    ...s,
  });
  return [
    session({
      id: "s-mac",
      device_name: "Ada's MacBook Pro",
      platform: "macos",
      os_version: "14.5",
      app: "desktop",
      ip: "203.0.113.24",
      created_at: iso(9 * DAY),
      current: true,
      status: "Current",
    }),
    session({
      id: "s-pixel",
      device_name: "Pixel 8",
      platform: "android",
      os_version: "14",
      app: "mobile",
      app_version: "0.1.0",
      ip: "198.51.100.7",
      created_at: iso(31 * DAY),
      last_active_at: iso(2 * MIN),
      status: "Active now",
    }),
    session({
      id: "s-win",
      device_name: "Home desktop",
      platform: "windows",
      os_version: "11",
      app: "desktop",
      ip: "203.0.113.51",
      created_at: iso(64 * DAY),
      last_active_at: iso(3 * HOUR),
      state: "idle",
      status: "Last active 3 hours ago",
      expiry: "Expires in 14 days if unused",
    }),
    session({
      id: "s-ipad",
      device_name: "iPad Air",
      platform: "ios",
      os_version: "17.5",
      app: "mobile",
      ip: "198.51.100.92",
      created_at: iso(120 * DAY),
      last_active_at: iso(1 * DAY),
      state: "idle",
      status: "Last active yesterday",
      expiry: "Expires in 13 days if unused",
    }),
    session({
      id: "s-web",
      device_name: "Firefox on Ubuntu",
      platform: "web",
      os_version: "Firefox 128",
      app: "web",
      ip: "192.0.2.140",
      created_at: iso(18 * DAY),
      last_active_at: iso(5 * DAY),
      state: "idle",
      status: "Last active 5 days ago",
      expiry: "Expires in 9 days if unused",
    }),
    session({
      id: "s-thinkpad",
      device_name: "Lab ThinkPad",
      platform: "linux",
      os_version: "Debian 12",
      app: "desktop",
      ip: "203.0.113.200",
      created_at: iso(26 * DAY),
      last_active_at: iso(12 * DAY),
      state: "idle",
      status: "Last active 12 days ago",
      expiry: "Expires in 2 days if unused",
    }),
  ];
}

import { describe, expect, it } from "vitest";
import { seedSessions } from "../dev/seed";
import {
  ago,
  appAndOs,
  clockDuration,
  expiryLine,
  fromNow,
  hostOf,
  plural,
  secondsUntil,
  statusLine,
  updatedAgo,
  validateName,
} from "../lib/format";
import type { SessionView } from "../lib/types";

describe("format", () => {
  it("words how long ago the list was fetched", () => {
    const now = Date.parse("2025-03-01T12:00:00Z");
    expect(updatedAgo("2025-03-01T11:59:50Z", now)).toBe("Updated just now");
    expect(updatedAgo("2025-03-01T11:59:00Z", now)).toBe("Updated 1 minute ago");
    expect(updatedAgo("2025-03-01T11:53:00Z", now)).toBe("Updated 7 minutes ago");
    expect(updatedAgo("2025-03-01T09:00:00Z", now)).toBe("Updated 3 hours ago");
    expect(updatedAgo("2025-02-28T09:00:00Z", now)).toBe("Updated yesterday");
  });

  it("counts down to the resend time", () => {
    const now = Date.parse("2025-03-01T12:00:00Z");
    expect(secondsUntil("2025-03-01T12:00:42Z", now)).toBe(42);
    expect(secondsUntil("2025-03-01T11:00:00Z", now)).toBe(0);
    expect(clockDuration(42)).toBe("0:42");
    expect(clockDuration(75)).toBe("1:15");
  });

  it("checks names are 1 to 64 characters", () => {
    expect(validateName("  ")).toBe("Enter a name.");
    expect(validateName("x".repeat(65))).toBe("Use 64 characters or fewer.");
    expect(validateName("x".repeat(64))).toBeNull();
    expect(validateName(" Pixel 8 ")).toBeNull();
  });

  it("describes the app and OS of a session", () => {
    const [mac, pixel, , , web] = seedSessions();
    expect(appAndOs(mac)).toBe("Latch for desktop 0.1.0 · macOS 14.5");
    expect(appAndOs(pixel)).toBe("Latch for mobile 0.1.0 · Android 14");
    expect(appAndOs(web)).toBe("Latch on the web 0.1.0 · Firefox 128");
  });

  it("says counts and hosts plainly", () => {
    expect(plural(1, "device")).toBe("1 device");
    expect(plural(3, "device")).toBe("3 devices");
    expect(hostOf("https://accounts.example.com/")).toBe("accounts.example.com");
    expect(hostOf("not a url")).toBe("not a url");
  });
});

// The same boundaries as crates/client/src/status.rs tested when Rust worded
// these: end-to-end tests wait on this English.
describe("relative times", () => {
  const now = Date.parse("2026-11-27T12:00:00Z");

  it("says how long ago, rounded down", () => {
    const cases: [string, string][] = [
      ["2026-11-27T12:00:05Z", "just now"], // a clock a little ahead
      ["2026-11-27T11:59:31Z", "just now"],
      ["2026-11-27T11:59:00Z", "1 minute ago"],
      ["2026-11-27T11:00:01Z", "59 minutes ago"],
      ["2026-11-27T11:00:00Z", "1 hour ago"],
      ["2026-11-27T09:00:00Z", "3 hours ago"],
      ["2026-11-26T12:00:01Z", "23 hours ago"],
      ["2026-11-26T12:00:00Z", "yesterday"],
      ["2026-11-25T12:00:01Z", "yesterday"],
      ["2026-11-25T12:00:00Z", "2 days ago"],
      ["2026-09-28T12:00:01Z", "59 days ago"],
      ["2026-09-28T12:00:00Z", "2 months ago"],
      ["2025-11-27T12:00:01Z", "12 months ago"],
      ["2025-11-27T12:00:00Z", "1 year ago"],
      ["2023-11-27T12:00:00Z", "3 years ago"],
    ];
    expect(cases.map(([then]) => [then, ago(then, now)])).toEqual(cases);
  });

  it("says how long until, rounded down", () => {
    const cases: [string, string][] = [
      ["2026-11-27T11:00:00Z", "in less than a minute"], // already past
      ["2026-11-27T12:00:30Z", "in less than a minute"],
      ["2026-11-27T12:01:00Z", "in 1 minute"],
      ["2026-11-27T12:59:59Z", "in 59 minutes"],
      ["2026-11-27T13:00:00Z", "in 1 hour"],
      ["2026-11-27T17:30:00Z", "in 5 hours"],
      ["2026-11-28T11:59:59Z", "in 23 hours"],
      ["2026-11-28T12:00:00Z", "in 1 day"],
      ["2026-12-09T12:00:00Z", "in 12 days"],
    ];
    expect(cases.map(([at]) => [at, fromNow(at, now)])).toEqual(cases);
  });

  const session = (s: Partial<SessionView>): SessionView => ({
    ...seedSessions(now)[1],
    current: false,
    state: "idle",
    expiry: null,
    ...s,
  });

  it("words a session's status from its fields", () => {
    expect(statusLine(session({ current: true }), now)).toBeNull(); // the badge says it
    expect(statusLine(session({ state: "active" }), now)).toBe("Active now");
    expect(
      statusLine(session({ state: "idle", last_active_at: "2026-11-27T09:00:00Z" }), now),
    ).toBe("Last active 3 hours ago");
    expect(statusLine(session({ last_active_at: "2026-11-26T12:00:00Z" }), now)).toBe(
      "Last active yesterday",
    );
  });

  it("words a session's expiry, with 'if unused' only when use extends it", () => {
    expect(expiryLine(session({ expiry: null }), now)).toBeNull();
    const expiring = (at: string, if_unused: boolean) => session({ expiry: { at, if_unused } });
    expect(expiryLine(expiring("2026-12-09T12:00:00Z", true), now)).toBe(
      "Expires in 12 days if unused",
    );
    expect(expiryLine(expiring("2026-11-28T12:00:00Z", false), now)).toBe("Expires in 1 day");
    expect(expiryLine(expiring("2026-11-30T12:00:00Z", true), now)).toBe(
      "Expires in 3 days if unused",
    );
    expect(expiryLine(expiring("2026-11-27T17:30:00Z", true), now)).toBe(
      "Expires in 5 hours if unused",
    );
    expect(expiryLine(expiring("2026-11-27T12:00:30Z", true), now)).toBe(
      "Expires in less than a minute if unused",
    );
  });
});

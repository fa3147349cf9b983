import { describe, expect, it } from "vitest";
import { seedSessions } from "../dev/seed";
import {
  appAndOs,
  clockDuration,
  hostOf,
  plural,
  secondsUntil,
  updatedAgo,
  validateName,
} from "../lib/format";

describe("format", () => {
  it("words how long ago the list was fetched", () => {
    const now = Date.parse("2025-03-01T12:00:00Z");
    expect(updatedAgo("2025-03-01T11:59:50Z", now)).toBe("Updated just now");
    expect(updatedAgo("2025-03-01T11:59:00Z", now)).toBe("Updated 1 minute ago");
    expect(updatedAgo("2025-03-01T11:53:00Z", now)).toBe("Updated 7 minutes ago");
    expect(updatedAgo("2025-03-01T09:00:00Z", now)).toBe("Updated 3 hours ago");
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

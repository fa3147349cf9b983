import { afterEach, describe, expect, it } from "vitest";
import { installFakeBackend } from "../dev/fake-backend";
import { latch } from "../lib/state.svelte";

afterEach(() => latch.stop());

describe("the store that mirrors Rust", () => {
  it("loads state, info and settings, then the sessions once signed in", async () => {
    const fake = installFakeBackend({ state: "signed-in" });
    await latch.start();
    expect(latch.auth?.state).toBe("signed-in");
    expect(latch.info?.version).toBe("0.1.0");
    expect(latch.settings?.theme).toBe("system");
    await expect.poll(() => latch.sessions?.sessions.length).toBe(6);
    expect(fake.callsOf("list_sessions")).toHaveLength(1);
  });

  it("lets an event that arrives during the first load win over the older answer", async () => {
    const fake = installFakeBackend({ state: "signed-in" });
    const release = fake.hold("connect");
    const started = latch.start();
    await expect.poll(() => fake.callsOf("connect").length).toBe(1);
    await fake.emitAuth({ state: "signed-out", notice: null });
    release();
    await started;
    expect(latch.auth?.state).toBe("signed-out");
  });

  it("drops the session list on sign-out and ignores session events while signed out", async () => {
    const fake = installFakeBackend({ state: "signed-in" });
    await latch.start();
    await expect.poll(() => latch.sessions).not.toBeNull();
    await fake.emitAuth({ state: "signed-out", notice: null });
    expect(latch.sessions).toBeNull();
    fake.send({
      type: "sessions-changed",
      sessions: { sessions: [], fetched_at: null, stale: false, error: null },
    });
    expect(latch.sessions).toBeNull();
  });

  it("reports a failed start in words", async () => {
    const fake = installFakeBackend({ state: "signed-in" });
    fake.failNext("connect", "server_error", "Latch couldn't read its settings.");
    await latch.start();
    expect(latch.startError?.message).toBe("Latch couldn't read its settings.");
  });
});

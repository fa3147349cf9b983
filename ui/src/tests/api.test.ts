import { Channel } from "@tauri-apps/api/core";
import { mockIPC } from "@tauri-apps/api/mocks";
import { describe, expect, it, vi } from "vitest";
import { installFakeBackend } from "../dev/fake-backend";
import { call, commands, connect } from "../lib/api";

describe("api: the IPC contract", () => {
  it("sends each command with its arguments", async () => {
    const calls: [string, unknown][] = [];
    mockIPC((cmd, args) => {
      calls.push([cmd, args]);
      return null;
    });
    await connect(() => {});
    await call(commands.getAppInfo());
    await call(commands.getSettings());
    await call(commands.setServer("https://a.example"));
    await call(commands.setDeviceName("Laptop"));
    await call(commands.setTheme("dark"));
    await call(commands.requestLink("ada@example.com"));
    await call(commands.resendLink());
    await call(commands.cancelSignIn());
    await call(commands.submitCode("ABCD-EFGH"));
    await call(commands.listSessions());
    await call(commands.renameSession("s1", "Phone"));
    await call(commands.renameAccount("Ada"));
    await call(commands.logOut());
    await call(commands.terminateSession("s2"));
    await call(commands.logOutOthers());
    await call(commands.logOutEverywhere());
    await commands.reportActivity(true);
    const noArgs = (args: unknown) =>
      args === undefined || (typeof args === "object" && Object.keys(args as object).length === 0);
    expect(calls.map(([cmd, args]) => [cmd, noArgs(args) ? {} : args])).toEqual([
      ["connect", { events: expect.any(Channel) }],
      ["get_app_info", {}],
      ["get_settings", {}],
      ["set_server", { url: "https://a.example" }],
      ["set_device_name", { name: "Laptop" }],
      ["set_theme", { theme: "dark" }],
      ["request_link", { email: "ada@example.com" }],
      ["resend_link", {}],
      ["cancel_sign_in", {}],
      ["submit_code", { code: "ABCD-EFGH" }],
      ["list_sessions", {}],
      ["rename_session", { sessionId: "s1", name: "Phone" }],
      ["rename_account", { name: "Ada" }],
      ["log_out", {}],
      ["terminate_session", { sessionId: "s2" }],
      ["log_out_others", {}],
      ["log_out_everywhere", {}],
      ["report_activity", { active: true }],
    ]);
  });

  it("rejects with the CommandError Rust sent", async () => {
    mockIPC(() => {
      throw { code: "flow_expired", message: "This sign-in link has expired. Send a new one." };
    });
    await expect(call(commands.submitCode("ABCD-EFGH"))).rejects.toEqual({
      code: "flow_expired",
      message: "This sign-in link has expired. Send a new one.",
    });
  });

  it("turns anything else a command throws into words", async () => {
    mockIPC(() => {
      throw "plain string failure";
    });
    await expect(call(commands.logOut())).rejects.toEqual({
      code: "unknown",
      message: "plain string failure",
    });
    mockIPC(() => {
      throw 42;
    });
    await expect(call(commands.logOut())).rejects.toEqual({
      code: "unknown",
      message: "Something went wrong. Try again.",
    });
  });

  it("delivers event payloads and stops after close", async () => {
    const fake = installFakeBackend({ state: "signed-out" });
    const seen = vi.fn();
    const { connected, close } = await connect(seen);
    expect(connected.auth).toEqual({ state: "signed-out", notice: null });
    fake.send({ type: "auth-changed", auth: { state: "needs-server" } });
    expect(seen).toHaveBeenCalledWith({ type: "auth-changed", auth: { state: "needs-server" } });
    close();
    fake.send({ type: "auth-changed", auth: { state: "signed-out", notice: null } });
    expect(seen).toHaveBeenCalledTimes(1);
  });
});

describe("api: failures that aren't Rust's", () => {
  it("keeps JavaScript exceptions out of the words shown", async () => {
    const spy = vi.spyOn(console, "error").mockImplementation(() => {});
    mockIPC(() => {
      throw new TypeError("Cannot read properties of undefined (reading 'invoke')");
    });
    await expect(connect(() => {})).rejects.toEqual({
      code: "internal",
      message: "Something went wrong inside Latch. Try again.",
    });
    expect(spy).toHaveBeenCalled();
    spy.mockRestore();
  });
});

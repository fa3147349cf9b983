import { mockIPC } from "@tauri-apps/api/mocks";
import { emit } from "@tauri-apps/api/event";
import { describe, expect, it, vi } from "vitest";
import * as api from "../lib/api";

describe("api: the IPC contract", () => {
  it("sends each command with its arguments", async () => {
    const calls: [string, unknown][] = [];
    mockIPC((cmd, args) => {
      calls.push([cmd, args]);
      return null;
    });
    await api.getState();
    await api.getAppInfo();
    await api.getSettings();
    await api.setServer("https://a.example");
    await api.setDeviceName("Laptop");
    await api.setTheme("dark");
    await api.requestLink("ada@example.com");
    await api.resendLink();
    await api.cancelSignIn();
    await api.submitCode("ABCD-EFGH");
    await api.listSessions();
    await api.renameSession("s1", "Phone");
    await api.renameAccount("Ada");
    await api.logOut();
    await api.terminateSession("s2");
    await api.logOutOthers();
    await api.logOutEverywhere();
    await api.reportActivity(true);
    const noArgs = (args: unknown) =>
      args === undefined || (typeof args === "object" && Object.keys(args as object).length === 0);
    expect(calls.map(([cmd, args]) => [cmd, noArgs(args) ? {} : args])).toEqual([
      ["get_state", {}],
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
    await expect(api.submitCode("ABCD-EFGH")).rejects.toEqual({
      code: "flow_expired",
      message: "This sign-in link has expired. Send a new one.",
    });
  });

  it("turns anything else a command throws into words", async () => {
    mockIPC(() => {
      throw "plain string failure";
    });
    await expect(api.logOut()).rejects.toEqual({
      code: "unknown",
      message: "plain string failure",
    });
    mockIPC(() => {
      throw 42;
    });
    await expect(api.logOut()).rejects.toEqual({
      code: "unknown",
      message: "Something went wrong. Try again.",
    });
  });

  it("delivers event payloads and stops after unlisten", async () => {
    mockIPC(() => null, { shouldMockEvents: true });
    const seen = vi.fn();
    const unlisten = await api.onAuthChanged(seen);
    await emit("auth-changed", { state: "needs-server" });
    expect(seen).toHaveBeenCalledWith({ state: "needs-server" });
    unlisten();
    await emit("auth-changed", { state: "signed-out", notice: null });
    expect(seen).toHaveBeenCalledTimes(1);
  });
});

describe("api: failures that aren't Rust's", () => {
  it("keeps JavaScript exceptions out of the words shown", async () => {
    const spy = vi.spyOn(console, "error").mockImplementation(() => {});
    mockIPC(() => {
      throw new TypeError("Cannot read properties of undefined (reading 'invoke')");
    });
    await expect(api.getState()).rejects.toEqual({
      code: "internal",
      message: "Something went wrong inside Latch. Try again.",
    });
    expect(spy).toHaveBeenCalled();
    spy.mockRestore();
  });
});

// Issue 15, finding 7: device names are someone else's text. A stolen token
// renamed the victim's laptop, and a right-to-left override in a name
// reorders whatever sentence it sits in. Every name on screen is in a <bdi>
// of its own (rows, dialogs, notices, toasts), and a device another device
// renamed says so: "renamed from Pixel 8".
import { screen, waitFor, within } from "@testing-library/svelte";
import { describe, expect, it } from "vitest";
import { seedSessions } from "../dev/seed";
import { splitNames } from "../lib/isolate";
import { latch } from "../lib/state.svelte";
import { ui } from "../lib/ui.svelte";
import {
  dialogs,
  expectNoAxeViolations,
  findToast,
  pressOn,
  renderApp,
  sessionRow,
} from "./helpers";

// U+202E RIGHT-TO-LEFT OVERRIDE: a name that would flip what follows it.
const RLO_NAME = "\u202Eevil";

/** The text of every <bdi> inside `root`. */
const isolated = (root: ParentNode = document.body) =>
  [...root.querySelectorAll("bdi")].map((b) => b.textContent);

describe("device names in bidi isolation", () => {
  it("cuts a sentence around the names in it, the longest first", () => {
    expect(splitNames("This device was terminated from Pixel 8 at 09:13", ["Pixel 8"])).toEqual([
      { text: "This device was terminated from ", name: false },
      { text: "Pixel 8", name: true },
      { text: " at 09:13", name: false },
    ]);
    expect(splitNames("Pixel 8 Pro and Pixel 8", ["Pixel 8", "Pixel 8 Pro"])).toEqual([
      { text: "Pixel 8 Pro", name: true },
      { text: " and ", name: false },
      { text: "Pixel 8", name: true },
    ]);
    expect(splitNames("Signed out", [null, undefined, ""])).toEqual([
      { text: "Signed out", name: false },
    ]);
  });

  it("isolates every name in the session rows", async () => {
    const sessions = seedSessions();
    sessions[1] = { ...sessions[1], device_name: RLO_NAME };
    await renderApp({ page: "sessions", sessions });
    const list = screen.getByRole("list", { name: /signed-in devices/i });
    const names = within(list)
      .getAllByRole("listitem")
      .map((li) => li.querySelector(".name"));
    expect(names.every((n) => n?.tagName === "BDI")).toBe(true);
    expect(isolated(list)).toContain(RLO_NAME);
  });

  it("says who renamed a device, the renamer's name isolated too", async () => {
    const sessions = seedSessions();
    sessions[0] = {
      ...sessions[0],
      device_name: "Unknown device – terminate me",
      renamed_by_device: "Pixel 8",
    };
    await renderApp({ page: "sessions", sessions });
    const row = sessionRow("Unknown device – terminate me");
    expect(row).toHaveTextContent("renamed from Pixel 8");
    expect(isolated(row)).toEqual(["Unknown device – terminate me", "Pixel 8"]);
    expect(sessionRow("Pixel 8")).not.toHaveTextContent("renamed from");
    await expectNoAxeViolations();
  });

  it("marks a row renamed from here, and unmarks this device renaming itself", async () => {
    const { user } = await renderApp({ page: "sessions" });
    await pressOn(user, "Actions for Pixel 8", "{Enter}{Enter}");
    const field = screen.getByRole("textbox", { name: "New name for Pixel 8" });
    await user.clear(field);
    await user.type(field, "Old phone{Enter}");
    await waitFor(() =>
      expect(sessionRow("Old phone")).toHaveTextContent("renamed from Ada's MacBook Pro"),
    );
  });

  it("isolates the name in the terminate dialog's title and text, and in the toast", async () => {
    const sessions = seedSessions();
    sessions[1] = { ...sessions[1], device_name: RLO_NAME };
    const { user } = await renderApp({ page: "sessions", sessions });
    await pressOn(user, `Actions for ${RLO_NAME}`, "{Enter}{ArrowDown}{Enter}");
    const dialog = await dialogs.open();
    const title = dialog.querySelector("h2");
    expect(title).toHaveTextContent(`Terminate ${RLO_NAME}?`);
    expect(isolated(title as HTMLElement)).toEqual([RLO_NAME]);
    expect(isolated(dialog)).toContain(RLO_NAME);
    await user.click(dialogs.button(dialog, "Terminate"));
    const toast = await findToast(`${RLO_NAME} signed out`);
    expect(isolated(toast)).toEqual([RLO_NAME]);
  });

  it("isolates the names in the other dialogs' device lists", async () => {
    const { user } = await renderApp({ page: "account" });
    await user.click(screen.getByRole("button", { name: "Log out of other devices" }));
    const dialog = await dialogs.open();
    const others = latch.otherSessions.map((s) => s.device_name);
    expect(isolated(dialog)).toEqual(expect.arrayContaining([...others, "Ada's MacBook Pro"]));
  });

  it("isolates the device that signed this one out, in the notice", async () => {
    await renderApp({
      state: "signed-out",
      notice: {
        reason: "terminated",
        by_device: RLO_NAME,
        at: "2025-03-01T09:13:00Z",
        message: `This device was terminated from ${RLO_NAME} at 09:13`,
      },
    });
    const notice = screen.getByRole("region", { name: /why you were signed out/i });
    expect(notice).toHaveTextContent(`This device was terminated from ${RLO_NAME} at 09:13`);
    expect(isolated(notice)).toEqual([RLO_NAME]);
  });

  it("words the administrator's sign-out", async () => {
    await renderApp({
      state: "signed-out",
      notice: {
        reason: "admin",
        by_device: null,
        at: "2025-03-01T09:13:00Z",
        message: "Signed out by the server's administrator at 09:13",
      },
    });
    const notice = screen.getByRole("region", { name: /why you were signed out/i });
    expect(notice).toHaveTextContent("Signed out by the server's administrator");
    expect(notice).toHaveAttribute("data-reason", "admin");
    await expectNoAxeViolations();
  });

  it("isolates names a toast is given", async () => {
    await renderApp({ page: "sessions" });
    ui.toast("Pixel 8 signed out", ["Pixel 8"]);
    const toast = await findToast("Pixel 8 signed out");
    expect(isolated(toast)).toEqual(["Pixel 8"]);
  });
});

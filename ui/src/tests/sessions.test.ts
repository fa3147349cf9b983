import { screen, waitFor, within } from "@testing-library/svelte";
import { describe, expect, it, vi } from "vitest";
import { seedSessions } from "../dev/seed";
import type { SessionView } from "../lib/types";
import {
  dialogs,
  expectNoAxeViolations,
  findToast,
  renderApp,
  sessionRow,
  expectCalledOnce,
  pressOn,
  refused,
} from "./helpers";

const openSessions = () => renderApp({ page: "sessions" });
const rowNames = () =>
  within(screen.getByRole("list", { name: /signed-in devices/i }))
    .getAllByRole("listitem")
    .map((li) => li.querySelector(".name")?.textContent);

describe("active sessions", () => {
  it("lists every session, this device first with the Current badge", async () => {
    await openSessions();
    expect(screen.getByRole("heading", { level: 1, name: "Active sessions" })).toBeInTheDocument();
    expect(rowNames()).toEqual([
      "Ada's MacBook Pro",
      "Pixel 8",
      "Home desktop",
      "iPad Air",
      "Firefox on Ubuntu",
      "Lab ThinkPad",
    ]);
    const current = sessionRow("Ada's MacBook Pro");
    expect(within(current).getByText("Current")).toBeInTheDocument();
    expect(within(sessionRow("Pixel 8")).queryByText("Current")).toBeNull();
    await expectNoAxeViolations();
  });

  it("shows Rust's order, this device first, even when the server lists it later", async () => {
    const sessions = seedSessions();
    await renderApp({ page: "sessions", sessions: [...sessions.slice(1), sessions[0]] });
    expect(rowNames()[0]).toBe("Ada's MacBook Pro");
  });

  it("shows what, where, since when and the live status of each device", async () => {
    await openSessions();
    const row = sessionRow("Home desktop");
    expect(row).toHaveTextContent("Latch for desktop 0.1.0 · Windows 11");
    expect(row).toHaveTextContent("203.0.113.51");
    expect(row).toHaveTextContent(/Signed in \w+/);
    expect(row).toHaveTextContent("Last active 3 hours ago");
    expect(row).toHaveTextContent("Expires in 14 days if unused");
    expect(sessionRow("Pixel 8")).toHaveTextContent("Active now");
    expect(row.querySelector("svg")).not.toBeNull();
    expect(screen.getByText("Updated just now")).toBeInTheDocument();
  });

  it("rewords its times as the clock moves, without a new list", async () => {
    const { fake } = await openSessions();
    const row = sessionRow("Home desktop");
    expect(screen.getByText("Updated just now")).toBeInTheDocument();
    const calls = fake.calls.length;
    vi.spyOn(Date, "now").mockReturnValue(Date.now() + 2 * 60 * 60_000);
    try {
      // The clock ticks every second, so this is at most a second late.
      expect(await screen.findByText("Updated 2 hours ago")).toBeInTheDocument();
      expect(row).toHaveTextContent("Last active 5 hours ago");
      expect(row).toHaveTextContent("Expires in 13 days if unused");
      expect(fake.calls.slice(calls).filter((c) => c.cmd !== "report_activity")).toEqual([]);
    } finally {
      vi.restoreAllMocks();
    }
  });

  it("offers Log out and Rename on this device, Terminate and Rename on others", async () => {
    const { user } = await openSessions();
    await user.click(screen.getByRole("button", { name: "Actions for Ada's MacBook Pro" }));
    expect(screen.getAllByRole("menuitem").map((i) => i.textContent?.trim())).toEqual([
      "Rename",
      "Log out",
    ]);
    await user.keyboard("{Escape}");
    await user.click(screen.getByRole("button", { name: "Actions for Pixel 8" }));
    expect(screen.getAllByRole("menuitem").map((i) => i.textContent?.trim())).toEqual([
      "Rename",
      "Terminate",
    ]);
    await expectNoAxeViolations();
  });

  it("drives the ⋮ menu by keyboard: Enter opens, arrows move, Escape returns focus", async () => {
    const { user } = await openSessions();
    const button = await pressOn(user, "Actions for Pixel 8", "{Enter}");
    const [rename, terminate] = screen.getAllByRole("menuitem");
    expect(rename).toHaveFocus();
    await user.keyboard("{ArrowDown}");
    expect(terminate).toHaveFocus();
    await user.keyboard("{End}");
    expect(terminate).toHaveFocus();
    await user.keyboard("{ArrowDown}");
    expect(rename).toHaveFocus();
    await user.keyboard("t"); // first letter jumps
    expect(terminate).toHaveFocus();
    await user.keyboard("{Escape}");
    expect(screen.queryByRole("menu")).toBeNull();
    expect(button).toHaveFocus();
    await user.keyboard(" "); // Space opens too
    expect(screen.getAllByRole("menuitem")[0]).toHaveFocus();
    await user.keyboard("{Tab}");
    expect(screen.queryByRole("menu")).toBeNull();
  });

  it("terminates a device only after confirming, naming it", async () => {
    const { fake, user } = await openSessions();
    await pressOn(user, "Actions for Pixel 8", "{Enter}{ArrowDown}{Enter}");
    const dialog = await dialogs.confirmingFirst(
      fake,
      "terminate_session",
      "Terminate Pixel 8?",
      "Pixel 8 will be signed out of Latch right away",
      "This device stays signed in.",
    );
    await user.click(dialogs.button(dialog, "Terminate"));
    await waitFor(() => dialogs.noneOpen());
    expectCalledOnce(fake, "terminate_session", { sessionId: "s-pixel" });
    expect(await findToast("Pixel 8 signed out")).toBeInTheDocument();
    await waitFor(() => expect(rowNames()).not.toContain("Pixel 8"));
    // Its row is gone, so focus lands on the page heading.
    expect(screen.getByRole("heading", { level: 1, name: "Active sessions" })).toHaveFocus();
  });

  it("does not terminate on Cancel or Escape", async () => {
    const { fake, user } = await openSessions();
    const button = screen.getByRole("button", { name: "Actions for Home desktop" });
    await user.click(button);
    await user.click(screen.getByRole("menuitem", { name: "Terminate" }));
    await user.click(dialogs.button(await dialogs.open(), "Cancel"));
    dialogs.noneOpen();
    expect(button).toHaveFocus();

    await user.click(button);
    await user.click(screen.getByRole("menuitem", { name: "Terminate" }));
    await dialogs.open();
    await user.keyboard("{Escape}");
    dialogs.noneOpen();
    expect(button).toHaveFocus();
    expect(fake.callsOf("terminate_session")).toHaveLength(0);
    expect(rowNames()).toContain("Home desktop");
  });

  it("keeps the dialog open with a retry when terminating fails", async () => {
    const { fake, user } = await openSessions();
    fake.failNext("terminate_session", "unreachable", "Can't reach accounts.example.com.");
    await user.click(screen.getByRole("button", { name: "Actions for iPad Air" }));
    await user.click(screen.getByRole("menuitem", { name: "Terminate" }));
    const dialog = await dialogs.open();
    await user.click(dialogs.button(dialog, "Terminate"));
    expect(await within(dialog).findByRole("alert")).toHaveTextContent(
      "Can't reach accounts.example.com.",
    );
    const retry = dialogs.button(dialog, "Try again");
    expect(retry).toHaveFocus();
    await user.click(retry);
    await waitFor(() => dialogs.noneOpen());
    expect(fake.callsOf("terminate_session")).toHaveLength(2);
    await waitFor(() => expect(rowNames()).not.toContain("iPad Air"));
  });

  it("disables the dialog's buttons while the call is in flight", async () => {
    const { fake, user } = await openSessions();
    const release = fake.hold("terminate_session");
    await user.click(screen.getByRole("button", { name: "Actions for iPad Air" }));
    await user.click(screen.getByRole("menuitem", { name: "Terminate" }));
    const dialog = await dialogs.open();
    await user.click(dialogs.button(dialog, "Terminate"));
    expect(dialogs.button(dialog, /terminating/i)).toBeDisabled();
    expect(dialogs.button(dialog, "Cancel")).toBeDisabled();
    await user.keyboard("{Escape}");
    expect(dialog).toHaveAttribute("open"); // can't cancel a call under way
    release();
    await waitFor(() => dialogs.noneOpen());
  });

  it("logs this device out from its row after confirming", async () => {
    const { fake, user } = await openSessions();
    await user.click(screen.getByRole("button", { name: "Actions for Ada's MacBook Pro" }));
    await user.click(screen.getByRole("menuitem", { name: "Log out" }));
    const dialog = await dialogs.asking("Log out of this device?");
    expect(fake.callsOf("log_out")).toHaveLength(0);
    await user.click(dialogs.button(dialog, "Log out"));
    await waitFor(() => expect(document.body.dataset.state).toBe("signed-out"));
    expect(fake.callsOf("log_out")).toHaveLength(1);
  });

  it("renames inline: Enter saves", async () => {
    const { fake, user } = await openSessions();
    const button = screen.getByRole("button", { name: "Actions for Pixel 8" });
    await user.click(button);
    await user.click(screen.getByRole("menuitem", { name: "Rename" }));
    const field = screen.getByRole("textbox", { name: "New name for Pixel 8" });
    expect(field).toHaveFocus();
    expect(field).toHaveValue("Pixel 8");
    await user.clear(field);
    await user.type(field, "Ada's phone{Enter}");
    await waitFor(() => expect(rowNames()).toContain("Ada's phone"));
    expectCalledOnce(fake, "rename_session", { sessionId: "s-pixel", name: "Ada's phone" });
    expect(screen.getByRole("button", { name: "Actions for Ada's phone" })).toHaveFocus();
  });

  it("renames inline: Escape cancels without a call", async () => {
    const { fake, user } = await openSessions();
    await user.click(screen.getByRole("button", { name: "Actions for Pixel 8" }));
    await user.click(screen.getByRole("menuitem", { name: "Rename" }));
    const field = screen.getByRole("textbox", { name: "New name for Pixel 8" });
    await user.type(field, " XL{Escape}");
    expect(screen.queryByRole("textbox", { name: /new name/i })).toBeNull();
    expect(rowNames()).toContain("Pixel 8");
    expect(fake.callsOf("rename_session")).toHaveLength(0);
  });

  it("renames inline: refuses an empty name and shows Rust's refusal", async () => {
    const { fake, user } = await openSessions();
    await user.click(screen.getByRole("button", { name: "Actions for Pixel 8" }));
    await user.click(screen.getByRole("menuitem", { name: "Rename" }));
    const field = screen.getByRole("textbox", { name: "New name for Pixel 8" });
    expect(field).toHaveAttribute("maxlength", "64");
    await user.clear(field);
    await user.type(field, "   {Enter}");
    await refused.unasked(fake, "rename_session", "Enter a name.");
    fake.failNext("rename_session", "invalid_name", "That name can't be used.");
    await user.clear(field);
    await user.type(field, "Phone{Enter}");
    await waitFor(() =>
      expect(screen.getByRole("alert")).toHaveTextContent("That name can't be used."),
    );
    expect(field).toHaveAttribute("aria-invalid", "true");
    await expectNoAxeViolations();
  });

  it("follows sessions-changed events live", async () => {
    const { fake } = await openSessions();
    const tablet: SessionView = {
      ...seedSessions()[3],
      id: "s-new",
      device_name: "Galaxy Tab",
      platform: "android",
      state: "active",
      expiry: null,
    };
    fake.sessions = [...fake.sessions, tablet];
    await fake.emitSessions();
    await waitFor(() => expect(rowNames()).toContain("Galaxy Tab"));
    fake.sessions = fake.sessions.filter((s) => s.id !== "s-win");
    await fake.emitSessions();
    await waitFor(() => expect(rowNames()).not.toContain("Home desktop"));
    expect(rowNames()[0]).toBe("Ada's MacBook Pro");
  });

  it("refreshes on request", async () => {
    const { fake, user } = await openSessions();
    const before = fake.callsOf("list_sessions").length;
    fake.sessions = fake.sessions.slice(0, 2);
    await user.click(screen.getByRole("button", { name: "Refresh" }));
    await waitFor(() => expect(fake.callsOf("list_sessions")).toHaveLength(before + 1));
    await waitFor(() => expect(rowNames()).toEqual(["Ada's MacBook Pro", "Pixel 8"]));
  });

  it("keeps the last known list, marked stale, with a retry when the server is down", async () => {
    const { fake, user } = await renderApp({ page: "sessions", stale: true });
    const alert = screen.getByRole("alert");
    expect(alert).toHaveTextContent("Couldn't update the list");
    expect(alert).toHaveTextContent("Can't reach accounts.example.com.");
    expect(
      screen.getByRole("list", { name: "Signed-in devices (last known)" }),
    ).toBeInTheDocument();
    expect(rowNames()).toHaveLength(6);
    expect(screen.getByText(/^Last known · Updated 7 minutes ago$/)).toBeInTheDocument();
    await expectNoAxeViolations();

    fake.stale = false;
    const before = fake.callsOf("list_sessions").length;
    await user.click(within(alert).getByRole("button", { name: "Try again" }));
    await waitFor(() => expect(fake.callsOf("list_sessions")).toHaveLength(before + 1));
    await waitFor(() => expect(screen.queryByRole("alert")).toBeNull());
    expect(screen.getByRole("list", { name: "Signed-in devices" })).toBeInTheDocument();
    expect(screen.getByText("Updated just now")).toBeInTheDocument();
  });

  it("says so when listing is refused outright", async () => {
    const { fake, user } = await openSessions();
    fake.failNext("list_sessions", "server_error", "The server had a problem. Try again later.");
    await user.click(screen.getByRole("button", { name: "Refresh" }));
    expect(await screen.findByRole("alert")).toHaveTextContent(
      "The server had a problem. Try again later.",
    );
    expect(rowNames()).toHaveLength(6);
  });
});

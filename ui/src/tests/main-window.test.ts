import { screen, waitFor, within } from "@testing-library/svelte";
import { describe, expect, it } from "vitest";
import { dialogs, expectNoAxeViolations, renderApp, pressOn } from "./helpers";

describe("signed in: main window and profile menu", () => {
  it("shows the overview with the profile button bottom-left", async () => {
    await renderApp();
    expect(document.body.dataset.state).toBe("signed-in");
    expect(
      screen.getByRole("heading", { level: 1, name: "Welcome back, Ada" }),
    ).toBeInTheDocument();
    const profile = screen.getByRole("button", { name: "Profile menu" });
    expect(profile.querySelector("[data-initials]")).toHaveAttribute("data-initials", "AL");
    expect(profile).toHaveAttribute("aria-haspopup", "menu");
    expect(profile).toHaveAttribute("aria-expanded", "false");
    expect(profile.closest("aside")).not.toBeNull();
    expect(screen.getByText("6 devices")).toBeInTheDocument();
    await expectNoAxeViolations();
  });

  it("opens the profile menu from the keyboard and closes it with Escape", async () => {
    const { user } = await renderApp();
    const profile = await pressOn(user, "Profile menu", "{Enter}");
    const menu = screen.getByRole("menu");
    expect(profile).toHaveAttribute("aria-expanded", "true");
    const items = within(menu).getAllByRole("menuitem");
    expect(items.map((i) => i.textContent?.replace(/\s+/g, " ").trim())).toEqual([
      "Ada Lovelace ada@example.com",
      "Settings",
      "Log out Sign out of Ada's MacBook Pro",
    ]);
    expect(items[0]).toHaveFocus();
    await user.keyboard("{ArrowDown}");
    expect(items[1]).toHaveFocus();
    await user.keyboard("{ArrowDown}{ArrowDown}");
    expect(items[0]).toHaveFocus(); // wraps
    await user.keyboard("{ArrowUp}");
    expect(items[2]).toHaveFocus();
    await user.keyboard("{Home}");
    expect(items[0]).toHaveFocus();
    await expectNoAxeViolations();
    await user.keyboard("{Escape}");
    expect(screen.queryByRole("menu")).toBeNull();
    expect(profile).toHaveFocus();
    expect(profile).toHaveAttribute("aria-expanded", "false");
  });

  it("opens on the last item with ArrowUp", async () => {
    const { user } = await renderApp();
    screen.getByRole("button", { name: "Profile menu" }).focus();
    await user.keyboard("{ArrowUp}");
    expect(screen.getByRole("menuitem", { name: /log out/i })).toHaveFocus();
  });

  it("goes to Settings from the menu", async () => {
    const { user } = await renderApp();
    await user.click(screen.getByRole("button", { name: "Profile menu" }));
    await user.click(screen.getByRole("menuitem", { name: "Settings" }));
    expect(await screen.findByRole("heading", { level: 1, name: "General" })).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "General" })).toHaveAttribute("aria-current", "page");
  });

  it("goes to Account from the name in the menu", async () => {
    const { user } = await renderApp();
    await user.click(screen.getByRole("button", { name: "Profile menu" }));
    await user.click(screen.getByRole("menuitem", { name: /Ada Lovelace/ }));
    expect(await screen.findByRole("heading", { level: 1, name: "Account" })).toBeInTheDocument();
  });

  it("closes the menu on a click elsewhere", async () => {
    const { user } = await renderApp();
    await user.click(screen.getByRole("button", { name: "Profile menu" }));
    expect(screen.getByRole("menu")).toBeInTheDocument();
    await user.click(screen.getByRole("heading", { level: 1 }));
    expect(screen.queryByRole("menu")).toBeNull();
  });

  it("confirms Log out in a modal and does nothing on Cancel", async () => {
    const { fake, user } = await renderApp();
    const profile = screen.getByRole("button", { name: "Profile menu" });
    await user.click(profile);
    await user.click(screen.getByRole("menuitem", { name: /log out/i }));
    const dialog = await dialogs.asking("Log out of this device?", "Ada's MacBook Pro");
    expect(dialogs.button(dialog, "Cancel")).toHaveFocus();
    await expectNoAxeViolations();
    await user.click(dialogs.button(dialog, "Cancel"));
    dialogs.noneOpen();
    expect(fake.callsOf("log_out")).toHaveLength(0);
    expect(profile).toHaveFocus();
    expect(document.body.dataset.state).toBe("signed-in");
  });

  it("does nothing when the Log out modal is dismissed with Escape", async () => {
    const { fake, user } = await renderApp();
    const profile = await pressOn(user, "Profile menu", "{ArrowUp}{Enter}");
    await dialogs.open();
    await user.keyboard("{Escape}");
    dialogs.noneOpen();
    expect(fake.callsOf("log_out")).toHaveLength(0);
    expect(profile).toHaveFocus();
  });

  it("logs out after the confirmation, entirely by keyboard", async () => {
    const { fake, user } = await renderApp();
    screen.getByRole("button", { name: "Profile menu" }).focus();
    await user.keyboard("{ArrowUp}{Enter}");
    const dialog = await dialogs.open();
    expect(dialogs.button(dialog, "Cancel")).toHaveFocus();
    await user.keyboard("{Tab}");
    expect(dialogs.button(dialog, "Log out")).toHaveFocus();
    await user.keyboard("{Enter}");
    await waitFor(() => expect(document.body.dataset.state).toBe("signed-out"));
    expect(fake.callsOf("log_out")).toHaveLength(1);
    expect(screen.getByLabelText("Email address")).toBeInTheDocument();
  });

  it("navigates the settings pages from the sidebar", async () => {
    const { user } = await renderApp();
    const nav = screen.getByRole("navigation", { name: "Main" });
    await user.click(within(nav).getByRole("button", { name: /active sessions/i }));
    expect(await screen.findByRole("heading", { level: 1, name: "Active sessions" })).toHaveFocus();
    await user.click(within(nav).getByRole("button", { name: "Account" }));
    expect(await screen.findByRole("heading", { level: 1, name: "Account" })).toHaveFocus();
    await user.click(within(nav).getByRole("button", { name: "Overview" }));
    expect(await screen.findByRole("heading", { level: 1, name: /welcome back/i })).toHaveFocus();
  });

  it("follows auth-changed to the signed-out screen with the reason", async () => {
    const { fake } = await renderApp();
    await fake.emitAuth({
      state: "signed-out",
      notice: {
        reason: "terminated",
        by_device: "Pixel 8",
        at: "2025-03-01T09:13:00Z",
        message: "This device was terminated from Pixel 8 at 09:13",
      },
    });
    await waitFor(() => expect(document.body.dataset.state).toBe("signed-out"));
    expect(screen.getByRole("region", { name: /why you were signed out/i })).toHaveTextContent(
      "This device was terminated from Pixel 8 at 09:13",
    );
  });

  it("reports activity to Rust while signed in", async () => {
    const { fake, user } = await renderApp();
    await waitFor(() => expect(fake.callsOf("report_activity").length).toBeGreaterThan(0));
    window.dispatchEvent(new Event("blur"));
    await waitFor(() =>
      expect(fake.callsOf("report_activity").at(-1)?.args).toEqual({ active: false }),
    );
    await user.keyboard("a");
    await waitFor(() =>
      expect(fake.callsOf("report_activity").at(-1)?.args).toEqual({ active: true }),
    );
    // Throttled: more input right away sends nothing new.
    const count = fake.callsOf("report_activity").length;
    await user.keyboard("bcd");
    expect(fake.callsOf("report_activity")).toHaveLength(count);
  });

  it("says why a sign-in link opened while signed in changed nothing, until dismissed", async () => {
    const { fake, user } = await renderApp();
    await fake.emitDeepLinkError({
      code: "not_pending",
      message: "You're already signed in. To sign in as someone else, log out first.",
    });
    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent("That sign-in link wasn't used");
    expect(alert).toHaveTextContent("You're already signed in.");
    expect(document.body.dataset.state).toBe("signed-in");
    await expectNoAxeViolations();
    await user.click(within(alert).getByRole("button", { name: "Dismiss" }));
    expect(screen.queryByRole("alert")).toBeNull();
  });
});

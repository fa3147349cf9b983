import { screen, waitFor, within } from "@testing-library/svelte";
import { describe, expect, it } from "vitest";
import { seedSessions } from "../dev/seed";
import { dialogs, expectNoAxeViolations, renderApp, expectCalledOnce } from "./helpers";

const listedDevices = (dialog: HTMLElement) =>
  within(within(dialog).getByRole("list", { name: "Devices that will be signed out" }))
    .getAllByRole("listitem")
    .map((li) => li.querySelector(".name")?.textContent);

describe("account settings", () => {
  it("shows email, display name and member since", async () => {
    await renderApp({ page: "account" });
    expect(screen.getByRole("heading", { level: 1, name: "Account" })).toBeInTheDocument();
    expect(screen.getAllByText("ada@example.com").length).toBeGreaterThan(0);
    expect(screen.getByText("Display name")).toBeInTheDocument();
    expect(screen.getAllByText("Ada Lovelace").length).toBeGreaterThan(0);
    expect(screen.getByText("Member since")).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Log out of other devices" })).toBeEnabled();
    expect(screen.getByRole("button", { name: "Log out of all devices" })).toBeEnabled();
    await expectNoAxeViolations();
  });

  it("edits the display name inline", async () => {
    const { fake, user } = await renderApp({ page: "account" });
    await user.click(screen.getByRole("button", { name: "Edit display name" }));
    const field = screen.getByRole("textbox", { name: "Display name" });
    expect(field).toHaveFocus();
    await user.clear(field);
    await user.type(field, "Augusta King{Enter}");
    await waitFor(() => expectCalledOnce(fake, "rename_account", { name: "Augusta King" }));
    // The new initials reach the profile button too.
    await waitFor(() =>
      expect(
        screen.getByRole("button", { name: "Profile menu" }).querySelector("[data-initials]"),
      ).toHaveAttribute("data-initials", "AK"),
    );
    expect(screen.getByRole("button", { name: "Edit display name" })).toHaveFocus();
  });

  it("cancels a display-name edit with Escape", async () => {
    const { fake, user } = await renderApp({ page: "account" });
    await user.click(screen.getByRole("button", { name: "Edit display name" }));
    await user.type(screen.getByRole("textbox", { name: "Display name" }), "xyz{Escape}");
    expect(screen.queryByRole("textbox", { name: "Display name" })).toBeNull();
    expect(fake.callsOf("rename_account")).toHaveLength(0);
  });

  it("lists the other devices before logging them out, and says this one stays", async () => {
    const { fake, user } = await renderApp({ page: "account" });
    const opener = screen.getByRole("button", { name: "Log out of other devices" });
    await user.click(opener);
    const dialog = await dialogs.asking("Log out of other devices?");
    expect(listedDevices(dialog)).toEqual([
      "Pixel 8",
      "Home desktop",
      "iPad Air",
      "Firefox on Ubuntu",
      "Lab ThinkPad",
    ]);
    expect(dialog).toHaveTextContent("5 other devices will be signed out");
    expect(dialog).toHaveTextContent("This device (Ada's MacBook Pro) stays signed in.");
    await expectNoAxeViolations();
    await user.click(dialogs.button(dialog, "Log out 5 devices"));
    await waitFor(() => dialogs.noneOpen());
    expect(fake.callsOf("log_out_others")).toHaveLength(1);
    expect(await screen.findByText("5 devices signed out")).toBeInTheDocument();
    expect(document.body.dataset.state).toBe("signed-in");
    await expectNoAxeViolations();
    expect(screen.getByRole("button", { name: "Log out of other devices" })).toBeDisabled();
  });

  it("does not log out other devices on Cancel or Escape", async () => {
    const { fake, user } = await renderApp({ page: "account" });
    const opener = screen.getByRole("button", { name: "Log out of other devices" });
    await user.click(opener);
    await user.click(dialogs.button(await dialogs.open(), "Cancel"));
    dialogs.noneOpen();
    expect(opener).toHaveFocus();
    await user.keyboard("{Enter}");
    await dialogs.open();
    await user.keyboard("{Escape}");
    dialogs.noneOpen();
    expect(opener).toHaveFocus();
    expect(fake.callsOf("log_out_others")).toHaveLength(0);
  });

  it("lists every device, this one included, before logging out everywhere", async () => {
    const { fake, user } = await renderApp({ page: "account" });
    await user.click(screen.getByRole("button", { name: "Log out of all devices" }));
    const dialog = await dialogs.asking("Log out of all devices?");
    expect(listedDevices(dialog)).toEqual(seedSessions().map((s) => s.device_name));
    expect(dialog).toHaveTextContent("All 6 devices will be signed out, including this one");
    const thisDevice = within(dialog)
      .getAllByRole("listitem")
      .find((li) => li.textContent?.includes("Ada's MacBook Pro"));
    expect(thisDevice).toHaveTextContent("This device");
    await user.click(dialogs.button(dialog, "Log out everywhere"));
    await waitFor(() => expect(document.body.dataset.state).toBe("signed-out"));
    expect(fake.callsOf("log_out_everywhere")).toHaveLength(1);
    expect(await screen.findByText("6 devices signed out")).toBeInTheDocument();
    expect(screen.getByRole("region", { name: /why you were signed out/i })).toHaveTextContent(
      "You logged out of all devices from Ada's MacBook Pro",
    );
  });

  it("does not log out everywhere on Escape", async () => {
    const { fake, user } = await renderApp({ page: "account" });
    await user.click(screen.getByRole("button", { name: "Log out of all devices" }));
    await dialogs.open();
    await user.keyboard("{Escape}");
    dialogs.noneOpen();
    expect(fake.callsOf("log_out_everywhere")).toHaveLength(0);
    expect(document.body.dataset.state).toBe("signed-in");
  });

  it("shows a failed log-out-others in words, with a retry", async () => {
    const { fake, user } = await renderApp({ page: "account" });
    fake.failNext("log_out_others", "unreachable", "Can't reach accounts.example.com.");
    await user.click(screen.getByRole("button", { name: "Log out of other devices" }));
    const dialog = await dialogs.open();
    await user.click(dialogs.button(dialog, "Log out 5 devices"));
    expect(await within(dialog).findByRole("alert")).toHaveTextContent(
      "Can't reach accounts.example.com.",
    );
    await user.click(dialogs.button(dialog, "Try again"));
    await waitFor(() => dialogs.noneOpen());
    expect(fake.callsOf("log_out_others")).toHaveLength(2);
  });

  it("cuts a long device list short instead of scrolling it", async () => {
    const [current, other] = seedSessions();
    const many = Array.from({ length: 12 }, (_, i) => ({
      ...other,
      id: `s-${i}`,
      device_name: `Lab machine ${i + 1}`,
    }));
    const { user } = await renderApp({ page: "account", sessions: [current, ...many] });
    await user.click(screen.getByRole("button", { name: "Log out of other devices" }));
    const dialog = await dialogs.open();
    expect(dialog).toHaveTextContent("12 other devices will be signed out");
    expect(listedDevices(dialog).filter(Boolean)).toHaveLength(7);
    expect(within(dialog).getByText("and 5 more")).toBeInTheDocument();
    expect(dialogs.button(dialog, "Log out 12 devices")).toBeEnabled();
  });

  it("offers nothing to log out when this is the only device", async () => {
    await renderApp({ page: "account", sessions: [seedSessions()[0]] });
    expect(screen.getByRole("button", { name: "Log out of other devices" })).toBeDisabled();
    expect(screen.getByText("No other devices are signed in.")).toBeInTheDocument();
  });
});

import { screen, waitFor, within } from "@testing-library/svelte";
import type { UserEvent } from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { dialogs, expectNoAxeViolations, renderApp, expectCalledOnce } from "./helpers";

/** Opens a setting's in-place field with its button, types `text` over the
 * value and presses Enter. */
async function editInPlace(user: UserEvent, button: string, field: string, text: string) {
  await user.click(screen.getByRole("button", { name: button }));
  const input = screen.getByRole("textbox", { name: field });
  await user.clear(input);
  await user.type(input, `${text}{Enter}`);
}

describe("general settings", () => {
  it("shows theme, device name, server and the state of this computer", async () => {
    await renderApp({ page: "general" });
    expect(screen.getByRole("heading", { level: 1, name: "General" })).toBeInTheDocument();
    const theme = screen.getByRole("radiogroup", { name: "Theme" });
    expect(within(theme).getByRole("radio", { name: "System" })).toBeChecked();
    expect(screen.getByText("Ada's MacBook Pro")).toBeInTheDocument();
    expect(screen.getByText("https://accounts.example.com")).toBeInTheDocument();
    expect(screen.getByText("Registered")).toBeInTheDocument();
    expect(screen.queryByText(/credential store isn't available/i)).toBeNull();
    await expectNoAxeViolations();
  });

  it("follows the OS by default and applies a chosen theme", async () => {
    const { fake, user } = await renderApp({ page: "general" });
    expect(document.documentElement.dataset.theme).toBeUndefined();
    await user.click(screen.getByRole("radio", { name: "Dark" }));
    await waitFor(() => expect(document.documentElement.dataset.theme).toBe("dark"));
    expectCalledOnce(fake, "set_theme", { theme: "dark" });
    await user.click(screen.getByRole("radio", { name: "Light" }));
    await waitFor(() => expect(document.documentElement.dataset.theme).toBe("light"));
    await user.click(screen.getByRole("radio", { name: "System" }));
    await waitFor(() => expect(document.documentElement.dataset.theme).toBeUndefined());
  });

  it("starts in the saved theme", async () => {
    await renderApp({ page: "general", settings: { theme: "dark" } });
    expect(document.documentElement.dataset.theme).toBe("dark");
    expect(screen.getByRole("radio", { name: "Dark" })).toBeChecked();
  });

  it("renames this device", async () => {
    const { fake, user } = await renderApp({ page: "general" });
    await editInPlace(user, "Edit device name", "Device name", "Studio Mac");
    await waitFor(() => expectCalledOnce(fake, "set_device_name", { name: "Studio Mac" }));
    expect(await screen.findByText("Studio Mac")).toBeInTheDocument();
  });

  it("changes the server only after a confirmation that says it signs out", async () => {
    const { fake, user } = await renderApp({ page: "general" });
    await editInPlace(user, "Change server address", "Server address", "https://login.example.net");
    const dialog = await dialogs.confirmingFirst(
      fake,
      "set_server",
      "Change server and sign out?",
      "https://login.example.net",
      "signed out of ada@example.com on this device",
    );
    await user.click(dialogs.button(dialog, "Cancel"));
    dialogs.noneOpen();
    expect(fake.callsOf("set_server")).toHaveLength(0);

    await user.click(screen.getByRole("button", { name: "Change…" }));
    await user.click(dialogs.button(await dialogs.open(), "Change and sign out"));
    await waitFor(() => expect(document.body.dataset.state).toBe("signed-out"));
    expectCalledOnce(fake, "set_server", { url: "https://login.example.net" });
  });

  it("keeps this device signed in and says why when the new server is refused", async () => {
    const { fake, user } = await renderApp({ page: "general" });
    fake.failNext("set_server", "invalid_server", "That isn't a Latch server.");
    await editInPlace(user, "Change server address", "Server address", "https://example.net");
    const dialog = await dialogs.open();
    await user.click(dialogs.button(dialog, "Change and sign out"));
    expect(await within(dialog).findByRole("alert")).toHaveTextContent(
      "That isn't a Latch server.",
    );
    expect(document.body.dataset.state).toBe("signed-in");
  });

  it("warns when sign-ins are kept in a file, links can't open the app, or settings failed", async () => {
    await renderApp({
      page: "general",
      info: {
        credential_store: "file",
        credential_store_warning: "The Secret Service isn't running.",
        scheme_registered: false,
        scheme_warning: "Couldn't register app.latch: links.",
        settings_warning: "Settings couldn't be written to disk.",
      },
    });
    expect(screen.getByText("The system credential store isn't available")).toBeInTheDocument();
    expect(screen.getByText("The Secret Service isn't running.")).toBeInTheDocument();
    expect(screen.getByText("Links won't open Latch")).toBeInTheDocument();
    expect(screen.getByText("Couldn't register app.latch: links.")).toBeInTheDocument();
    expect(screen.getByText("Settings couldn't be written to disk.")).toBeInTheDocument();
    await expectNoAxeViolations();
  });

  it("shows a failed theme change in words", async () => {
    const { fake, user } = await renderApp({ page: "general" });
    fake.failNext("set_theme", "server_error", "Couldn't save settings.");
    await user.click(screen.getByRole("radio", { name: "Light" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("Couldn't save settings.");
  });

  it("says when a link opened elsewhere can't reach this window", async () => {
    await renderApp({
      page: "general",
      info: {
        link_forwarding_warning:
          "There is no D-Bus session bus. A sign-in link opened while Latch is running starts a second Latch instead of reaching this window: type the code from the email instead.",
      },
    });
    expect(screen.getByText("Link forwarding is unavailable")).toBeInTheDocument();
    expect(screen.getByText(/There is no D-Bus session bus/)).toBeInTheDocument();
    await expectNoAxeViolations();
  });

  it("shows no link-forwarding row when forwarding works", async () => {
    await renderApp({ page: "general" });
    expect(screen.queryByText("Link forwarding is unavailable")).toBeNull();
  });

  it("copies the diagnostics the Rust side writes to the clipboard", async () => {
    const { fake, user } = await renderApp({ page: "general" });
    await user.click(screen.getByRole("button", { name: "Copy diagnostics" }));
    await waitFor(() => expect(screen.getByRole("status")).toHaveTextContent("Diagnostics copied"));
    expect(fake.callsOf("get_diagnostics")).toHaveLength(1);
    const copied = await navigator.clipboard.readText();
    expect(copied).toContain("Latch diagnostics");
    expect(copied).toContain("Server            https://accounts.example.com");
    expect(screen.queryByRole("textbox", { name: "Diagnostics" })).toBeNull();
  });

  it("hands the clipboard a ClipboardItem during the click, before the text arrives", async () => {
    // WebKit refuses a clipboard write that comes after an await; the item
    // must be written while the click is still being handled.
    class FakeClipboardItem {
      constructor(readonly items: Record<string, Promise<Blob>>) {}
    }
    vi.stubGlobal("ClipboardItem", FakeClipboardItem);
    const written: FakeClipboardItem[] = [];
    const write = vi.spyOn(navigator.clipboard, "write").mockImplementation(async (items) => {
      written.push(...(items as unknown as FakeClipboardItem[]));
      await (items[0] as unknown as FakeClipboardItem).items["text/plain"];
    });
    try {
      const { fake, user } = await renderApp({ page: "general" });
      const release = fake.hold("get_diagnostics");
      await user.click(screen.getByRole("button", { name: "Copy diagnostics" }));
      expect(write).toHaveBeenCalledOnce();
      expect(screen.getByRole("button", { name: "Copy diagnostics" })).toBeDisabled();
      release();
      await waitFor(() =>
        expect(screen.getByRole("status")).toHaveTextContent("Diagnostics copied"),
      );
      const blob = await written[0].items["text/plain"];
      expect(blob.type).toBe("text/plain");
      const text = await new Promise<string>((resolve) => {
        const reader = new FileReader(); // jsdom's Blob has no text()
        reader.onload = () => resolve(String(reader.result));
        reader.readAsText(blob);
      });
      expect(text).toContain("Latch diagnostics");
    } finally {
      write.mockRestore();
      vi.unstubAllGlobals();
    }
  });

  it("shows the diagnostics selected when the clipboard refuses them", async () => {
    const { user } = await renderApp({ page: "general" });
    const writeText = vi
      .spyOn(navigator.clipboard, "writeText")
      .mockRejectedValue(new DOMException("Write permission denied.", "NotAllowedError"));
    await user.click(screen.getByRole("button", { name: "Copy diagnostics" }));
    const box = await screen.findByRole("textbox", { name: "Diagnostics" });
    expect(writeText).toHaveBeenCalledOnce();
    expect((box as HTMLTextAreaElement).value).toContain("Latch diagnostics");
    expect(box).toHaveFocus();
    expect(screen.getByRole("alert")).toHaveTextContent("couldn't copy to the clipboard");
    expect(screen.getByRole("status")).not.toHaveTextContent("Diagnostics copied");
    await expectNoAxeViolations();
    writeText.mockRestore();
  });

  it("says why when the diagnostics can't be gathered", async () => {
    const { fake, user } = await renderApp({ page: "general" });
    fake.failNext("get_diagnostics", "internal", "Latch couldn't gather its diagnostics.");
    await user.click(screen.getByRole("button", { name: "Copy diagnostics" }));
    expect(await screen.findByRole("alert")).toHaveTextContent(
      "Latch couldn't gather its diagnostics.",
    );
    expect(screen.getByRole("button", { name: "Copy diagnostics" })).toBeEnabled();
  });
});

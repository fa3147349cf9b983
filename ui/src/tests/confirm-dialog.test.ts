import { render, screen, waitFor, within } from "@testing-library/svelte";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi, type Mock } from "vitest";
import DialogHarness from "./DialogHarness.svelte";
import { dialogs, expectNoAxeViolations } from "./helpers";

async function setup(
  onconfirm: Mock<() => Promise<unknown>> = vi.fn(() => Promise.resolve<unknown>(null)),
) {
  const user = userEvent.setup();
  render(DialogHarness, { onconfirm });
  const opener = screen.getByRole("button", { name: "Open" });
  await user.click(opener);
  const dialog = await dialogs.open();
  return { user, opener, dialog, onconfirm };
}

describe("ConfirmDialog", () => {
  it("is a labelled, described modal that starts on Cancel", async () => {
    const { dialog } = await setup();
    expect(dialog.tagName).toBe("DIALOG");
    expect(dialog).toHaveAccessibleName("Terminate Pixel 8?");
    expect(dialog).toHaveAccessibleDescription(/Pixel 8 will be signed out/);
    expect(within(dialog).getByRole("button", { name: "Cancel" })).toHaveFocus();
    await expectNoAxeViolations();
  });

  it("keeps Tab inside the dialog, both ways", async () => {
    const { user, dialog } = await setup();
    const link = within(dialog).getByRole("link", { name: "Learn more" });
    const cancel = within(dialog).getByRole("button", { name: "Cancel" });
    const confirm = within(dialog).getByRole("button", { name: "Terminate" });
    expect(cancel).toHaveFocus();
    await user.tab();
    expect(confirm).toHaveFocus();
    await user.tab();
    expect(link).toHaveFocus(); // wrapped to the first
    await user.tab({ shift: true });
    expect(confirm).toHaveFocus(); // and back round to the last
  });

  it("cancels with Escape and gives focus back to the opener", async () => {
    const { user, opener, onconfirm } = await setup();
    await user.keyboard("{Escape}");
    dialogs.noneOpen();
    expect(opener).toHaveFocus();
    expect(onconfirm).not.toHaveBeenCalled();
  });

  it("runs the action once on confirm, then closes and returns focus", async () => {
    const { user, opener, dialog, onconfirm } = await setup();
    await user.click(within(dialog).getByRole("button", { name: "Terminate" }));
    await waitFor(() => dialogs.noneOpen());
    expect(onconfirm).toHaveBeenCalledTimes(1);
    expect(opener).toHaveFocus();
  });

  it("shows a failure in words and retries", async () => {
    const onconfirm = vi
      .fn<() => Promise<unknown>>()
      .mockRejectedValueOnce({ code: "unreachable", message: "Can't reach the server." })
      .mockResolvedValueOnce(null);
    const { user, dialog } = await setup(onconfirm);
    await user.click(within(dialog).getByRole("button", { name: "Terminate" }));
    expect(await within(dialog).findByRole("alert")).toHaveTextContent("Can't reach the server.");
    expect(dialog).toHaveAttribute("open");
    await user.click(within(dialog).getByRole("button", { name: "Try again" }));
    await waitFor(() => dialogs.noneOpen());
    expect(onconfirm).toHaveBeenCalledTimes(2);
  });
});

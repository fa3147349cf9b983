import { fireEvent, screen, waitFor } from "@testing-library/svelte";
import { describe, expect, it } from "vitest";
import { expectNoAxeViolations, renderApp, expectCalledOnce, refused } from "./helpers";

const codeField = () => screen.getByLabelText("Code from the email") as HTMLInputElement;

describe("awaiting link", () => {
  it("says where the link went and how this device will be named", async () => {
    await renderApp({ state: "awaiting-link" });
    expect(document.body.dataset.state).toBe("awaiting-link");
    expect(screen.getByRole("heading", { name: "Check your email" })).toHaveFocus();
    expect(screen.getByText("ada@example.com")).toBeInTheDocument();
    expect(screen.getByText(/the email will show this device as/i)).toHaveTextContent(
      "Ada's MacBook Pro",
    );
    expect(screen.getByRole("button", { name: "Enter code instead" })).toBeEnabled();
    expect(screen.getByRole("button", { name: "Use a different email" })).toBeEnabled();
    await expectNoAxeViolations();
  });

  it("counts down to when a resend is allowed, then resends", async () => {
    const { fake, user } = await renderApp({ state: "awaiting-link", resendInSeconds: 2 });
    const resend = screen.getByRole("button", { name: /^Resend in 0:0[12]$/ });
    expect(resend).toBeDisabled();
    await waitFor(() => expect(resend).toHaveTextContent("Resend in 0:01"), { timeout: 2500 });
    await waitFor(() => expect(resend).toHaveTextContent("Resend link"), { timeout: 2500 });
    expect(resend).toBeEnabled();
    await user.click(resend);
    await waitFor(() => expect(fake.callsOf("resend_link")).toHaveLength(1));
    expect(await screen.findByText("A new link is on its way.")).toBeInTheDocument();
    // The new flow has its own countdown.
    expect(screen.getByRole("button", { name: /^Resend in / })).toBeDisabled();
  });

  it("shows the code field on request and normalises what is typed", async () => {
    const { user } = await renderApp({ state: "awaiting-link" });
    const toggle = screen.getByRole("button", { name: "Enter code instead" });
    expect(toggle).toHaveAttribute("aria-expanded", "false");
    await user.click(toggle);
    expect(toggle).toHaveAttribute("aria-expanded", "true");
    expect(codeField()).toHaveFocus();
    await user.type(codeField(), "abcdefgh");
    expect(codeField()).toHaveValue("ABCD-EFGH");
    await user.clear(codeField());
    await user.type(codeField(), "abcd-EFGH");
    expect(codeField()).toHaveValue("ABCD-EFGH");
    await expectNoAxeViolations();
  });

  it("normalises a pasted code", async () => {
    const { user } = await renderApp({ state: "awaiting-link" });
    await user.click(screen.getByRole("button", { name: "Enter code instead" }));
    await fireEvent.input(codeField(), { target: { value: " wxyz 2345 " } });
    expect(codeField()).toHaveValue("WXYZ-2345");
  });

  it("submits the code and signs in", async () => {
    const { fake, user } = await renderApp({ state: "awaiting-link" });
    await user.click(screen.getByRole("button", { name: "Enter code instead" }));
    await user.type(codeField(), "abcdefgh{Enter}");
    await waitFor(() => expect(document.body.dataset.state).toBe("signed-in"));
    expectCalledOnce(fake, "submit_code", { code: "ABCD-EFGH" });
  });

  it("asks for all 8 characters before calling Rust", async () => {
    const { fake, user } = await renderApp({ state: "awaiting-link" });
    await user.click(screen.getByRole("button", { name: "Enter code instead" }));
    await user.type(codeField(), "abc{Enter}");
    await refused.unasked(fake, "submit_code", "Enter all 8 characters of the code.");
  });

  it("shows a wrong code next to the field", async () => {
    const { fake, user } = await renderApp({ state: "awaiting-link" });
    fake.failNext("submit_code", "invalid_code", "That code isn't right. Check the email.");
    await user.click(screen.getByRole("button", { name: "Enter code instead" }));
    await user.type(codeField(), "abcdefgh{Enter}");
    await refused.staying(codeField, "That code isn't right. Check the email.", "awaiting-link");
  });

  it.each([
    ["flow_expired", "This sign-in has expired", "This sign-in link has expired. Send a new one."],
    ["flow_locked", "Too many wrong codes", "Too many wrong codes. Send a new link."],
    ["flow_used", "This sign-in was already used", "This link was already used."],
  ] as const)("explains %s and offers a new link", async (code, title, message) => {
    const { fake, user } = await renderApp({ state: "awaiting-link", resendInSeconds: 0 });
    fake.failNext("submit_code", code, message);
    await user.click(screen.getByRole("button", { name: "Enter code instead" }));
    await user.type(codeField(), "abcdefgh{Enter}");
    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent(title);
    expect(alert).toHaveTextContent(message);
    await user.click(screen.getByRole("button", { name: "Send a new link" }));
    await waitFor(() => expect(fake.callsOf("resend_link")).toHaveLength(1));
    await waitFor(() => expect(screen.queryByRole("alert")).toBeNull());
  });

  it("goes back to the email form with Use a different email", async () => {
    const { fake, user } = await renderApp({ state: "awaiting-link" });
    await user.click(screen.getByRole("button", { name: "Use a different email" }));
    await waitFor(() => expect(document.body.dataset.state).toBe("signed-out"));
    expect(fake.callsOf("cancel_sign_in")).toHaveLength(1);
    expect(screen.getByLabelText("Email address")).toBeInTheDocument();
  });

  it("links to the dev mailbox in debug builds only", async () => {
    await renderApp({
      state: "awaiting-link",
      info: { debug: true, dev_mailbox_url: "http://127.0.0.1:8787/dev/mailbox" },
    });
    expect(screen.getByRole("link", { name: /open dev mailbox/i })).toHaveAttribute(
      "href",
      "http://127.0.0.1:8787/dev/mailbox",
    );
  });

  it("has no dev mailbox link in release builds", async () => {
    await renderApp({
      state: "awaiting-link",
      info: { debug: false, dev_mailbox_url: "http://127.0.0.1:8787/dev/mailbox" },
    });
    expect(screen.queryByRole("link", { name: /dev mailbox/i })).toBeNull();
  });

  it("follows an auth-changed event, e.g. the emailed link opened this app", async () => {
    const { fake } = await renderApp({ state: "awaiting-link" });
    const { seedAccount, seedSessions } = await import("../dev/seed");
    await fake.emitAuth({
      state: "signed-in",
      account: seedAccount(),
      session: seedSessions()[0],
    });
    await waitFor(() => expect(document.body.dataset.state).toBe("signed-in"));
    expect(await screen.findByRole("button", { name: "Profile menu" })).toBeInTheDocument();
  });

  it("says why a sign-in link opened from outside was refused, and stays put", async () => {
    const { fake } = await renderApp({ state: "awaiting-link" });
    await fake.emitDeepLinkError({
      code: "not_pending",
      message: "This link is from an older or different sign-in request.",
    });
    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent("This link is from an older or different sign-in request.");
    expect(document.body.dataset.state).toBe("awaiting-link");
    await expectNoAxeViolations();
  });
});

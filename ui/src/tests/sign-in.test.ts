import { screen, waitFor, within } from "@testing-library/svelte";
import { describe, expect, it } from "vitest";
import type { SignedOutNotice } from "../lib/types";
import { expectNoAxeViolations, renderApp, expectCalledOnce, refused } from "./helpers";

const terminated: SignedOutNotice = {
  reason: "terminated",
  by_device: "Pixel 8",
  at: "2025-03-01T09:13:00Z",
  message: "This device was terminated from Pixel 8 at 09:13",
};

describe("signed out", () => {
  it("shows the sign-in form with an email field", async () => {
    await renderApp({ state: "signed-out" });
    expect(document.body.dataset.state).toBe("signed-out");
    const email = screen.getByLabelText("Email address");
    expect(email).toHaveAttribute("type", "email");
    expect(email).toHaveFocus();
    expect(screen.getByRole("button", { name: "Send link" })).toBeInTheDocument();
    expect(screen.queryByRole("region", { name: /why you were signed out/i })).toBeNull();
    await expectNoAxeViolations();
  });

  it("says why this device was signed out, in Rust's words", async () => {
    await renderApp({ state: "signed-out", notice: terminated });
    const notice = screen.getByRole("region", { name: /why you were signed out/i });
    expect(notice).toHaveTextContent("This device was terminated from Pixel 8 at 09:13");
    expect(notice).toHaveTextContent("Signed out from another device");
    // Read out with the field, so screen-reader users hear it too.
    expect(screen.getByLabelText("Email address")).toHaveAccessibleDescription(
      /terminated from Pixel 8/,
    );
    await expectNoAxeViolations();
  });

  it.each([
    ["expired_idle", "Signed out after 14 days without use", "Your session expired"],
    [
      "logged_out_everywhere",
      "You logged out of all devices from Work laptop at 14:02",
      "Signed out everywhere",
    ],
  ] as const)("words a %s notice", async (reason, message, title) => {
    await renderApp({
      state: "signed-out",
      notice: { reason, message, by_device: null, at: "2025-03-01T14:02:00Z" },
    });
    const notice = screen.getByRole("region", { name: /why you were signed out/i });
    expect(notice).toHaveTextContent(message);
    expect(notice).toHaveTextContent(title);
  });

  it("sends a link and moves on to Check your email", async () => {
    const { fake, user } = await renderApp({ state: "signed-out" });
    await user.type(screen.getByLabelText("Email address"), "ada@example.com");
    await user.click(screen.getByRole("button", { name: "Send link" }));
    await waitFor(() => expect(document.body.dataset.state).toBe("awaiting-link"));
    expectCalledOnce(fake, "request_link", { email: "ada@example.com" });
    expect(screen.getByRole("heading", { name: "Check your email" })).toBeInTheDocument();
  });

  it("shows a refused email in words and stays put", async () => {
    const { user } = await renderApp({ state: "signed-out" });
    await user.type(screen.getByLabelText("Email address"), "not-an-email{Enter}");
    await refused.staying(
      "Email address",
      "Enter an email address like name@example.com.",
      "signed-out",
    );
  });

  it("shows a rate limit in words", async () => {
    const { fake, user } = await renderApp({ state: "signed-out" });
    fake.failNext("request_link", "rate_limited", "Too many links sent. Try again in 5 minutes.");
    await user.type(screen.getByLabelText("Email address"), "ada@example.com{Enter}");
    expect(await screen.findByRole("alert")).toHaveTextContent(
      "Too many links sent. Try again in 5 minutes.",
    );
  });

  it("asks for an email before calling Rust", () =>
    refused.whenEmpty("signed-out", "Send link", "request_link", "Enter your email address."));

  it("can change the server from the sign-in screen", async () => {
    const { fake, user } = await renderApp({ state: "signed-out" });
    expect(screen.getByText("accounts.example.com")).toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "Change server" }));
    const field = screen.getByLabelText("Server address");
    await user.clear(field);
    await user.type(field, "https://login.example.net");
    await user.click(screen.getByRole("button", { name: "Save" }));
    await waitFor(() =>
      expect(fake.callsOf("set_server")[0]?.args).toEqual({ url: "https://login.example.net" }),
    );
    expect(await screen.findByText("login.example.net")).toBeInTheDocument();
    expect(screen.getByRole("heading", { name: "Sign in to Latch" })).toBeInTheDocument();
  });

  it("can back out of changing the server", async () => {
    const { fake, user } = await renderApp({ state: "signed-out" });
    await user.click(screen.getByRole("button", { name: "Change server" }));
    const form = screen.getByLabelText("Server address").closest("form") as HTMLElement;
    await user.click(within(form).getByRole("button", { name: "Cancel" }));
    expect(screen.getByLabelText("Email address")).toBeInTheDocument();
    expect(fake.callsOf("set_server")).toHaveLength(0);
  });
});

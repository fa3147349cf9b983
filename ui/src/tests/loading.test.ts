import { render, screen, waitFor } from "@testing-library/svelte";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import App from "../App.svelte";
import { installFakeBackend } from "../dev/fake-backend";
import { ui } from "../lib/ui.svelte";
import { expectNoAxeViolations, renderApp } from "./helpers";

describe("loading and failing to start", () => {
  it("sets no state on the body until Rust has answered", async () => {
    const fake = installFakeBackend({ state: "signed-out" });
    const release = fake.hold("connect");
    render(App);
    await waitFor(() => expect(fake.callsOf("connect")).toHaveLength(1));
    expect(document.body.dataset.state).toBeUndefined();
    release();
    await waitFor(() => expect(document.body.dataset.state).toBe("signed-out"));
  });

  it("shows the session list loading, then the sessions", async () => {
    const fake = installFakeBackend({ state: "signed-in" });
    const release = fake.hold("list_sessions");
    render(App);
    await waitFor(() => expect(document.body.dataset.state).toBe("signed-in"));
    ui.page = "sessions";
    expect(await screen.findByLabelText("Loading sessions")).toHaveAttribute("aria-busy", "true");
    await expectNoAxeViolations();
    release();
    expect(await screen.findByRole("list", { name: "Signed-in devices" })).toBeInTheDocument();
  });

  it("says so in words when it can't start, and retries", async () => {
    const fake = installFakeBackend({ state: "signed-out" });
    fake.failNext("connect", "server_error", "Latch couldn't read its settings file.");
    const user = userEvent.setup();
    render(App);
    expect(await screen.findByRole("alert")).toHaveTextContent(
      "Latch couldn't read its settings file.",
    );
    await user.click(screen.getByRole("button", { name: "Try again" }));
    await waitFor(() => expect(document.body.dataset.state).toBe("signed-out"));
  });

  it("warns when the link has run out while waiting", async () => {
    const { fake } = await renderApp({ state: "awaiting-link", resendInSeconds: 0 });
    const past = new Date(Date.now() - 1000).toISOString();
    await fake.emitAuth({
      ...(fake.auth as Extract<typeof fake.auth, { state: "awaiting-link" }>),
      expires_at: past,
    });
    expect(await screen.findByText("This link has expired")).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Send a new link" })).toBeEnabled();
  });
});

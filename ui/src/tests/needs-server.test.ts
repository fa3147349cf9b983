import { screen, waitFor } from "@testing-library/svelte";
import { describe, expect, it } from "vitest";
import { expectNoAxeViolations, renderApp, expectCalledOnce, refused } from "./helpers";

describe("needs server", () => {
  it("asks for the server address first", async () => {
    await renderApp({ state: "needs-server" });
    expect(document.body.dataset.state).toBe("needs-server");
    expect(
      screen.getByRole("heading", { level: 1, name: /connect to your account server/i }),
    ).toBeInTheDocument();
    expect(screen.getByLabelText("Server address")).toHaveFocus();
    expect(screen.getByRole("button", { name: "Continue" })).toBeEnabled();
    await expectNoAxeViolations();
  });

  it("saves an address only after Rust accepts it, then moves on to sign-in", async () => {
    const { fake, user } = await renderApp({ state: "needs-server" });
    await user.type(screen.getByLabelText("Server address"), "https://accounts.example.com");
    await user.click(screen.getByRole("button", { name: "Continue" }));
    await waitFor(() => expect(document.body.dataset.state).toBe("signed-out"));
    expectCalledOnce(fake, "set_server", { url: "https://accounts.example.com" });
    expect(screen.getByRole("heading", { name: "Sign in to Latch" })).toBeInTheDocument();
  });

  it("shows Rust's words when the address is refused", async () => {
    const { fake, user } = await renderApp({ state: "needs-server" });
    fake.failNext(
      "set_server",
      "unreachable",
      "Can't reach accounts.example.org. Check the address.",
    );
    await user.type(screen.getByLabelText("Server address"), "https://accounts.example.org{Enter}");
    await refused.staying(
      "Server address",
      "Can't reach accounts.example.org. Check the address.",
      "needs-server",
    );
  });

  it("says so when the field is empty, without asking Rust", () =>
    refused.whenEmpty("needs-server", "Continue", "set_server", "Enter the server's address."));

  it("disables Continue while the address is being checked", async () => {
    const { fake, user } = await renderApp({ state: "needs-server" });
    const release = fake.hold("set_server");
    await user.type(screen.getByLabelText("Server address"), "https://a.example.com{Enter}");
    expect(await screen.findByRole("button", { name: /checking/i })).toBeDisabled();
    release();
    await waitFor(() => expect(document.body.dataset.state).toBe("signed-out"));
  });

  it("offers the local latchd address in debug builds", async () => {
    const { fake, user } = await renderApp({ state: "needs-server", info: { debug: true } });
    await user.click(screen.getByRole("button", { name: "Use http://127.0.0.1:8787" }));
    expect(screen.getByLabelText("Server address")).toHaveValue("http://127.0.0.1:8787");
    await user.click(screen.getByRole("button", { name: "Continue" }));
    await waitFor(() =>
      expect(fake.callsOf("set_server")[0]?.args).toEqual({ url: "http://127.0.0.1:8787" }),
    );
  });

  it("has no debug suggestion in release builds", async () => {
    await renderApp({ state: "needs-server" });
    expect(screen.queryByRole("button", { name: /use http/i })).toBeNull();
  });
});

// Preview harness (dev server only, never in the production build): the real
// app against the fake backend, in whatever state the query string asks for.
//
//   /preview.html?state=signed-in&view=sessions&theme=dark
//
//   state   needs-server | signed-out | awaiting-link | signed-in (default)
//   view    overview | general | account | sessions
//   theme   system | light | dark
//   notice  terminated | everywhere | expired     (signed-out)
//   dialog  logout | terminate | others | everywhere | server
//   menu    profile | row                        (opens a ⋮ / profile menu)
//   code    1: show the code field (awaiting-link); error: flow_expired …
//   stale   1: the server can't be reached, last known list
//   debug   1: debug build (dev mailbox link)
//   store   file: credential store fell back to a file
//   scheme  0: the app.latch: scheme isn't registered
//   latency milliseconds added to each command (default 250)
import { tick } from "svelte";
import { installFakeBackend, type StateName } from "./dev/fake-backend";
import type { Failure } from "./lib/errors";
import type { SignedOutNotice, Theme } from "./lib/types";

const q = new URLSearchParams(location.search);
const state = (q.get("state") ?? "signed-in") as StateName;

const notices: Record<string, SignedOutNotice> = {
  terminated: {
    reason: "terminated",
    by_device: "Pixel 8",
    at: new Date().toISOString(),
    message: "This device was terminated from Pixel 8 at 09:13",
  },
  everywhere: {
    reason: "logged_out_everywhere",
    by_device: "Work laptop",
    at: new Date().toISOString(),
    message: "You logged out of all devices from Work laptop at 14:02",
  },
  expired: {
    reason: "expired_idle",
    by_device: null,
    at: new Date().toISOString(),
    message: "Signed out after 14 days without use",
  },
};

const fake = installFakeBackend({
  state,
  notice: notices[q.get("notice") ?? ""] ?? null,
  stale: q.get("stale") === "1",
  latencyMs: Number(q.get("latency") ?? 250),
  settings: { theme: (q.get("theme") ?? "system") as Theme },
  info: {
    debug: q.get("debug") === "1",
    dev_mailbox_url: q.get("debug") === "1" ? "http://127.0.0.1:8787/dev/mailbox" : null,
    credential_store: q.get("store") === "file" ? "file" : "os",
    credential_store_warning:
      q.get("store") === "file"
        ? "The Secret Service isn't running, so your sign-in is kept in ~/.local/share/latch/credentials (readable only by you)."
        : null,
    scheme_registered: q.get("scheme") !== "0",
    scheme_warning:
      q.get("scheme") === "0"
        ? "Latch couldn't register app.latch: links on this computer. Use the code from the email instead."
        : null,
    link_forwarding_warning:
      q.get("forwarding") === "0"
        ? "There is no D-Bus session bus. A sign-in link opened while Latch is running starts a second Latch instead of reaching this window: type the code from the email instead."
        : null,
  },
});
// Handy from the devtools console: window.fake.emitSessions(), …
(window as unknown as { fake: typeof fake }).fake = fake;

await import("./main");
const { ui } = await import("./lib/ui.svelte");
const { latch } = await import("./lib/state.svelte");

async function until(check: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!check() && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
}

async function click(selector: string): Promise<void> {
  await until(() => document.querySelector(selector) !== null);
  document.querySelector<HTMLElement>(selector)?.click();
  await tick();
}

const byText = (text: string) =>
  [...document.querySelectorAll("button")].find((b) => b.textContent?.trim() === text) ?? null;

async function clickButton(text: string): Promise<void> {
  await until(() => byText(text) !== null);
  byText(text)?.click();
  await tick();
}

await until(() => document.body.dataset.state === state);

const view = q.get("view");
if (state === "signed-in") {
  if (view) ui.page = view as typeof ui.page;
  await until(() => latch.sessions !== null);
  const dialog = q.get("dialog");
  const pixel = latch.sessionList.find((s) => s.id === "s-pixel");
  if (dialog === "logout") ui.signOut = { kind: "this-device" };
  if (dialog === "terminate" && pixel) ui.signOut = { kind: "terminate", session: pixel };
  if (dialog === "others") ui.signOut = { kind: "others" };
  if (dialog === "everywhere") ui.signOut = { kind: "everywhere" };
  if (dialog === "server") {
    ui.page = "general";
    await click('[aria-label="Change server address"]');
    const input = document.querySelector<HTMLInputElement>('input[aria-label="Server address"]');
    if (input) {
      input.value = "https://accounts.example.org";
      input.dispatchEvent(new Event("input", { bubbles: true }));
    }
    await clickButton("Change…");
  }
  if (q.get("menu") === "profile") await click('[aria-label="Profile menu"]');
  if (q.get("menu") === "row") {
    ui.page = "sessions";
    await click('[aria-label="Actions for Pixel 8"]');
  }
}

if (state === "awaiting-link") {
  if (q.get("code") === "1") await clickButton("Enter code instead");
  const error = q.get("error");
  if (error) {
    fake.failNext(
      "submit_code",
      error as Failure["code"],
      "This sign-in link has expired. Send a new one.",
    );
    if (q.get("code") !== "1") await clickButton("Enter code instead");
    await until(() => document.querySelector("#app input") !== null);
    const input = document.querySelector<HTMLInputElement>("#app input");
    if (input) {
      input.value = "abcdefgh";
      input.dispatchEvent(new Event("input", { bubbles: true }));
      input.form?.requestSubmit();
    }
  }
}

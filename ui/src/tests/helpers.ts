import { render, screen, waitFor, within } from "@testing-library/svelte";
import userEvent, { type UserEvent } from "@testing-library/user-event";
import axe from "axe-core";
import { expect } from "vitest";
import App from "../App.svelte";
import { installFakeBackend, type FakeOptions } from "../dev/fake-backend";
import { latch } from "../lib/state.svelte";
import { ui, type Page } from "../lib/ui.svelte";

/** The whole app against the fake Rust side, settled in its first state. */
export async function renderApp(opts: FakeOptions & { page?: Page } = {}) {
  const fake = installFakeBackend(opts);
  const user = userEvent.setup();
  const result = render(App);
  const state = opts.state ?? "signed-in";
  await waitFor(() => expect(document.body.dataset.state).toBe(state));
  if (state === "signed-in") {
    await waitFor(() => expect(latch.sessions).not.toBeNull());
    // The list Rust had may show before the first refresh has answered.
    await waitFor(() => expect(latch.refreshing).toBe(false));
    if (opts.page) {
      ui.page = opts.page;
      await waitFor(() => expect(document.activeElement?.tagName).toBe("H1"));
      // Let the new page's own focus move (a queued microtask) land first.
      await new Promise((r) => setTimeout(r, 0));
    }
  }
  // Each view puts focus on its heading or first field as it opens; let that
  // happen before the test starts moving focus itself.
  await waitFor(() => expect(document.activeElement).not.toBe(document.body));
  return { fake, user, ...result };
}

/** The confirmation dialogs: the one open now, a button in it, and that
 * none is open. */
export const dialogs = {
  async open(): Promise<HTMLElement> {
    return waitFor(() => {
      const open = document.querySelector<HTMLElement>("dialog[open]");
      expect(open).not.toBeNull();
      return open as HTMLElement;
    });
  },
  /** The open one, once it is there, asking `name` and saying each of `texts`. */
  async asking(name: string, ...texts: string[]): Promise<HTMLElement> {
    const dialog = await dialogs.open();
    expect(dialog).toHaveAccessibleName(name);
    for (const text of texts) expect(dialog).toHaveTextContent(text);
    return dialog;
  },
  button(dialog: HTMLElement, name: string | RegExp): HTMLElement {
    return within(dialog).getByRole("button", { name });
  },
  /** As `asking`, and Rust has not been asked to `cmd` yet. */
  async confirmingFirst(
    fake: Fake,
    cmd: Parameters<Fake["callsOf"]>[0],
    name: string,
    ...texts: string[]
  ): Promise<HTMLElement> {
    const dialog = await dialogs.asking(name, ...texts);
    expect(fake.callsOf(cmd)).toHaveLength(0);
    await expectNoAxeViolations();
    return dialog;
  },
  noneOpen(): void {
    expect(document.querySelector("dialog[open]")).toBeNull();
  },
};

/** The toast that says `text` (its device names are <bdi>s of their own,
 * so the text spans several elements). */
export function findToast(text: string): Promise<HTMLElement> {
  return screen.findByText(
    (_, el) =>
      el?.classList.contains("message") === true &&
      el.closest(".toast") !== null &&
      el.textContent === text,
  );
}

/** The row of the session list that shows this device name. */
export function sessionRow(name: string): HTMLElement {
  const list = screen.getByRole("list", { name: /signed-in devices/i });
  const row = within(list)
    .getAllByRole("listitem")
    .find((li) => within(li).queryByText(name, { selector: ".name" }) !== null);
  if (!row) throw new Error(`no session row for ${name}`);
  return row;
}

/** axe-core on the whole document; jsdom can't compute colours, so the
 * contrast rule is left to the screenshots. */
export async function expectNoAxeViolations(): Promise<void> {
  const results = await axe.run(document, {
    rules: { "color-contrast": { enabled: false } },
  });
  const found = results.violations.map(
    (v) => `${v.id}: ${v.help} — ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`,
  );
  expect(found).toEqual([]);
}

type Fake = ReturnType<typeof installFakeBackend>;

/** Rust was asked to do `cmd` exactly once so far, with these arguments. */
export function expectCalledOnce(
  fake: Fake,
  cmd: Parameters<Fake["callsOf"]>[0],
  args: Record<string, unknown>,
): void {
  expect(fake.callsOf(cmd)).toEqual([{ cmd, args }]);
}

/** Puts focus on the button named `name` and presses `keys` there, as a
 * keyboard user would; returns the button. */
export async function pressOn(user: UserEvent, name: string, keys: string): Promise<HTMLElement> {
  const button = screen.getByRole("button", { name });
  button.focus();
  await user.keyboard(keys);
  return button;
}

/** An entry the page refuses, with its reason in an alert. */
export const refused = {
  /** The field (by its label, or found by `field`) is marked invalid, the
   * app is still in `state`, and axe finds nothing. */
  async staying(
    field: string | (() => HTMLElement),
    message: string,
    state: string,
  ): Promise<void> {
    expect(await screen.findByRole("alert")).toHaveTextContent(message);
    const input = typeof field === "string" ? screen.getByLabelText(field) : field();
    expect(input).toHaveAttribute("aria-invalid", "true");
    expect(document.body.dataset.state).toBe(state);
    await expectNoAxeViolations();
  },
  /** On a page in `state`, pressing `button` with the field empty is
   * refused before Rust is asked. */
  async whenEmpty(
    state: NonNullable<FakeOptions["state"]>,
    button: string,
    cmd: Parameters<Fake["callsOf"]>[0],
    message: string,
  ): Promise<void> {
    const { fake, user } = await renderApp({ state });
    await user.click(screen.getByRole("button", { name: button }));
    await refused.unasked(fake, cmd, message);
  },
  /** Refused before Rust is asked: no `cmd` was sent. */
  async unasked(fake: Fake, cmd: Parameters<Fake["callsOf"]>[0], message: string): Promise<void> {
    expect(await screen.findByRole("alert")).toHaveTextContent(message);
    expect(fake.callsOf(cmd)).toHaveLength(0);
  },
};

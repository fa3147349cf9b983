import "@testing-library/jest-dom/vitest";
import { clearMocks } from "@tauri-apps/api/mocks";
import { cleanup, configure } from "@testing-library/svelte";
import { afterEach, beforeEach } from "vitest";
import { ui } from "../lib/ui.svelte";

// jsdom has <dialog> but not its modal methods: enough of them for the UI.
if (typeof HTMLDialogElement.prototype.showModal !== "function") {
  HTMLDialogElement.prototype.showModal = function (this: HTMLDialogElement) {
    this.setAttribute("open", "");
  };
  HTMLDialogElement.prototype.close = function (this: HTMLDialogElement) {
    if (!this.hasAttribute("open")) return;
    this.removeAttribute("open");
    this.dispatchEvent(new Event("close"));
  };
}

// findBy*/waitFor give up after 1 s by default: too short on a shared
// 2-core CI machine under load (a cold CI run failed three tests so).
configure({ asyncUtilTimeout: 5000 });

beforeEach(() => {
  // What index.html provides in the app.
  document.documentElement.lang = "en";
  document.title = "Latch";
});

afterEach(() => {
  // Unmount (and so unlisten) while the IPC mock is still in place.
  cleanup();
  clearMocks();
  ui.reset();
  delete document.body.dataset.state;
  delete document.documentElement.dataset.theme;
});

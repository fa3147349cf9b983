// UI-only state that Rust knows nothing about: which page is open, which
// sign-out is waiting for confirmation, and the toasts on screen.
import type { SessionView } from "./types";

export type Page = "overview" | "general" | "account" | "sessions";

/** A sign-out the person asked for and has not confirmed yet. */
export type SignOutRequest =
  | { kind: "this-device" }
  | { kind: "terminate"; session: SessionView }
  | { kind: "others" }
  | { kind: "everywhere" };

export interface Toast {
  id: number;
  message: string;
  /** The device names in `message`, shown isolated. */
  names: string[];
}

const TOAST_MS = 6000;

class UiState {
  page = $state<Page>("overview");
  signOut = $state<SignOutRequest | null>(null);
  toasts = $state<Toast[]>([]);
  #nextId = 1;

  toast(message: string, names: string[] = []): void {
    const id = this.#nextId++;
    this.toasts = [...this.toasts, { id, message, names }];
    setTimeout(() => this.dismiss(id), TOAST_MS);
  }

  dismiss(id: number): void {
    this.toasts = this.toasts.filter((t) => t.id !== id);
  }

  reset(): void {
    this.page = "overview";
    this.signOut = null;
    this.toasts = [];
  }
}

export const ui = new UiState();

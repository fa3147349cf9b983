// Svelte actions shared by the views.

/** Moves focus to the element when it appears: a new view's heading or
 * first field, so keyboard and screen-reader users start in the right place. */
export function focusOnMount(node: HTMLElement): void {
  queueMicrotask(() => {
    if (node.isConnected && !node.closest("[inert]")) node.focus({ preventScroll: true });
  });
}

/** The elements Tab can reach inside `root`, in document order. */
export function focusableIn(root: HTMLElement): HTMLElement[] {
  return [...root.querySelectorAll<HTMLElement>("*")].filter((el) => {
    if (el.getAttribute("tabindex") === "-1") return false;
    if (
      el instanceof HTMLButtonElement ||
      el instanceof HTMLInputElement ||
      el instanceof HTMLSelectElement ||
      el instanceof HTMLTextAreaElement
    ) {
      return !el.disabled && !(el instanceof HTMLInputElement && el.type === "hidden");
    }
    if (el instanceof HTMLAnchorElement) return el.hasAttribute("href");
    return el.hasAttribute("tabindex");
  });
}

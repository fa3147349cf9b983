// Svelte actions shared by the views.

/** Moves focus to the element when it appears: a new view's heading or
 * first field, so keyboard and screen-reader users start in the right place. */
export function focusOnMount(node: HTMLElement): void {
  queueMicrotask(() => {
    if (node.isConnected && !node.closest("[inert]")) node.focus({ preventScroll: true });
  });
}

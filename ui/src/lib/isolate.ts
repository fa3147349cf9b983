// Device names are text someone else chose (another device, or a stolen
// token): a right-to-left override or an RTL name would otherwise reorder
// the words around it ("renamed from …", "Terminate …?"). Every name on
// screen is shown in bidi isolation, a <bdi> of its own; these split a
// sentence Rust or a component wrote around the names in it.

/** One run of a sentence: plain text, or a name to isolate. */
export interface Part {
  text: string;
  name: boolean;
}

/** `text` cut into runs, each occurrence of one of `names` a run of its own
 * (the longest name first where two start at the same place). */
export function splitNames(text: string, names: readonly (string | null | undefined)[]): Part[] {
  const wanted = [...new Set(names.filter((n): n is string => !!n))].sort(
    (a, b) => b.length - a.length,
  );
  const parts: Part[] = [];
  let plain = "";
  let i = 0;
  while (i < text.length) {
    const hit = wanted.find((n) => text.startsWith(n, i));
    if (hit) {
      if (plain) parts.push({ text: plain, name: false });
      plain = "";
      parts.push({ text: hit, name: true });
      i += hit.length;
    } else {
      plain += text[i];
      i += 1;
    }
  }
  if (plain) parts.push({ text: plain, name: false });
  return parts;
}

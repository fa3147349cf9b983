// The emailed one-time code: CODE_LENGTH (8) characters shown as ABCD-EFGH.
// People type or paste it in any case, with or without the hyphen or spaces.
import { CODE_LENGTH } from "./bindings";

export { CODE_LENGTH };

/** The hyphen goes in the middle. */
const HALF = CODE_LENGTH / 2;

/** The field's limit: the code and its hyphen. */
export const SHOWN_CODE_LENGTH = CODE_LENGTH + 1;

/** Upper-cases, drops everything but letters and digits, caps at
 * CODE_LENGTH and puts the hyphen in the middle. */
export function normalizeCode(raw: string): string {
  const chars = raw
    .toUpperCase()
    .replace(/[^A-Z0-9]/g, "")
    .slice(0, CODE_LENGTH);
  return chars.length > HALF ? `${chars.slice(0, HALF)}-${chars.slice(HALF)}` : chars;
}

export function isCompleteCode(code: string): boolean {
  return normalizeCode(code).replace("-", "").length === CODE_LENGTH;
}

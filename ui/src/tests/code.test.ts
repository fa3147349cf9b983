import { describe, expect, it } from "vitest";
import { isCompleteCode, normalizeCode } from "../lib/code";

describe("normalizeCode", () => {
  it.each([
    ["abcdefgh", "ABCD-EFGH"],
    ["ABCD-EFGH", "ABCD-EFGH"],
    ["abcd-efgh", "ABCD-EFGH"],
    [" ab cd ef gh ", "ABCD-EFGH"],
    ["abcd", "ABCD"],
    ["abcd-", "ABCD"],
    ["abcde", "ABCD-E"],
    ["ABCD-EFGH-XYZ", "ABCD-EFGH"],
    ["a.b_c/d–e f?g!h", "ABCD-EFGH"],
    ["", ""],
  ])("%j → %j", (raw, shown) => {
    expect(normalizeCode(raw)).toBe(shown);
  });

  it("knows a complete code from a partial one", () => {
    expect(isCompleteCode("abcdefgh")).toBe(true);
    expect(isCompleteCode("ABCD-EFGH")).toBe(true);
    expect(isCompleteCode("ABCD-EFG")).toBe(false);
    expect(isCompleteCode("")).toBe(false);
  });
});

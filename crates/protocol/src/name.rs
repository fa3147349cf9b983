//! The rule for every name and version a device reports (device name,
//! `display_name`, `os_version`, `app_version`): they all reach a sign-in
//! mail or a screen, so none may carry text a person can't see or that
//! reorders what they see.
//!
//! Refused anywhere in the value:
//! * control characters (Cc: U+0000–001F, U+007F–009F; tab and line feed too),
//! * the line and paragraph separators (Zl U+2028, Zp U+2029),
//! * every format character (Cf, as of Unicode 16), which covers the bidi
//!   controls (U+061C, U+200E, U+200F, U+202A–202E, U+2066–2069) and the
//!   invisible ones (U+00AD, U+180E, U+200B, U+2060–2064, U+FEFF, …),
//!   **except** ZWNJ U+200C and ZWJ U+200D, which emoji sequences
//!   ("👩‍💻") and some scripts need.
//! * tag characters (U+E0001, U+E0020–E007F), except inside the three
//!   emoji flag tag sequences Unicode recommends (England, Scotland, Wales:
//!   U+1F3F4, the tags of `gbeng`/`gbsct`/`gbwls`, U+E007F). Any other run of
//!   tags could spell hidden ASCII text, so it is refused.
//!
//! Variation selectors (U+FE00–FE0F, U+E0100–E01EF) are not format
//! characters and stay. Every run of space separators (Zs: U+0020, U+00A0,
//! U+2000–200A, U+3000, …) becomes one U+0020, and the ends are trimmed.

use std::fmt;

/// Most characters a device name, display name or version may have.
pub const MAX_NAME_CHARS: usize = 64;

/// Why a name or version was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameError {
    Empty,
    TooLong,
    /// A control character, a line break or a tab.
    Control(char),
    /// An invisible or text-direction character.
    Invisible(char),
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("must not be empty"),
            Self::TooLong => write!(f, "must be at most {MAX_NAME_CHARS} characters"),
            Self::Control(c) => write!(
                f,
                "must be one line of text, without line breaks, tabs or other control \
                 characters (it has U+{:04X})",
                u32::from(*c)
            ),
            Self::Invisible(c) => write!(
                f,
                "must not contain invisible or text-direction characters (it has U+{:04X}); \
                 retype it by hand",
                u32::from(*c)
            ),
        }
    }
}

impl std::error::Error for NameError {}

/// The format characters (Cf) of Unicode 16, inclusive ranges, outside the
/// tag block (handled on its own). ZWNJ and ZWJ (U+200C, U+200D) are
/// deliberately missing.
const FORMAT: &[(u32, u32)] = &[
    (0x00AD, 0x00AD),
    (0x0600, 0x0605),
    (0x061C, 0x061C),
    (0x06DD, 0x06DD),
    (0x070F, 0x070F),
    (0x0890, 0x0891),
    (0x08E2, 0x08E2),
    (0x180E, 0x180E),
    (0x200B, 0x200B),
    (0x200E, 0x200F),
    (0x202A, 0x202E),
    (0x2060, 0x2064),
    (0x2066, 0x206F),
    (0xFEFF, 0xFEFF),
    (0xFFF9, 0xFFFB),
    (0x110BD, 0x110BD),
    (0x110CD, 0x110CD),
    (0x13430, 0x1343F),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
];

const TAGS: (u32, u32) = (0xE0001, 0xE007F);
const BLACK_FLAG: char = '\u{1F3F4}';
const CANCEL_TAG: char = '\u{E007F}';
/// The subdivision flags Unicode recommends, as the letters their tags spell.
const FLAG_TAGS: [&str; 3] = ["gbeng", "gbsct", "gbwls"];

fn in_ranges(c: char, ranges: &[(u32, u32)]) -> bool {
    let c = u32::from(c);
    ranges.iter().any(|&(lo, hi)| (lo..=hi).contains(&c))
}

fn is_control(c: char) -> bool {
    c.is_control() || c == '\u{2028}' || c == '\u{2029}'
}

fn is_space(c: char) -> bool {
    matches!(
        c,
        ' ' | '\u{00A0}' | '\u{1680}' | '\u{2000}'
            ..='\u{200A}' | '\u{202F}' | '\u{205F}' | '\u{3000}'
    )
}

/// A name split into what the rule keeps, or the first character it refuses.
enum Piece<'a> {
    Keep(&'a str),
    Space,
    Refuse(NameError),
}

/// Walks `raw`, one piece at a time: a character, a whole flag tag
/// sequence, a space, or the refusal of a character.
fn pieces(raw: &str) -> impl Iterator<Item = Piece<'_>> {
    let mut rest = raw;
    std::iter::from_fn(move || {
        let c = rest.chars().next()?;
        let len = if c == BLACK_FLAG {
            c.len_utf8() + flag_tags_len(&rest[c.len_utf8()..])
        } else {
            c.len_utf8()
        };
        let (piece, tail) = rest.split_at(len);
        rest = tail;
        Some(if is_control(c) {
            Piece::Refuse(NameError::Control(c))
        } else if in_ranges(c, FORMAT) || in_ranges(c, &[TAGS]) {
            Piece::Refuse(NameError::Invisible(c))
        } else if is_space(c) {
            Piece::Space
        } else {
            Piece::Keep(piece)
        })
    })
}

/// The length in bytes of a recommended flag's tags (with the cancel tag)
/// at the start of `s`, or 0.
fn flag_tags_len(s: &str) -> usize {
    FLAG_TAGS
        .iter()
        .find_map(|letters| {
            let mut chars = s.chars();
            for letter in letters.chars() {
                let tag = char::from_u32(0xE0000 + u32::from(letter))?;
                (chars.next() == Some(tag)).then_some(())?;
            }
            (chars.next() == Some(CANCEL_TAG)).then(|| s.len() - chars.as_str().len())
        })
        .unwrap_or(0)
}

/// The name as the rule keeps it (spaces collapsed, ends trimmed), or why
/// it is refused; `Empty` and `TooLong` are the caller's to check.
fn collapse(raw: &str) -> Result<String, NameError> {
    let mut out = String::with_capacity(raw.len());
    let mut space = false;
    for piece in pieces(raw) {
        match piece {
            Piece::Refuse(e) => return Err(e),
            Piece::Space => space = true,
            Piece::Keep(s) => {
                if space && !out.is_empty() {
                    out.push(' ');
                }
                space = false;
                out.push_str(s);
            }
        }
    }
    Ok(out)
}

/// Checks a device name, display name or version against the rule above:
/// spaces collapsed and trimmed, then 1–64 characters.
pub fn normalize_name(raw: &str) -> Result<String, NameError> {
    let name = collapse(raw)?;
    if name.is_empty() {
        return Err(NameError::Empty);
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(NameError::TooLong);
    }
    Ok(name)
}

/// What a client makes of text it didn't choose (a host name, an OS
/// release file): the refused characters dropped and the rest clipped to
/// 64 characters, so it always passes [`normalize_name`] unless empty.
pub fn clean_name(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut space = false;
    let mut count = 0;
    for piece in pieces(raw) {
        match piece {
            Piece::Refuse(NameError::Control(_)) | Piece::Space => space = true,
            Piece::Refuse(_) => {}
            Piece::Keep(s) => {
                let add = s.chars().count() + usize::from(space && !out.is_empty());
                if count + add > MAX_NAME_CHARS {
                    break;
                }
                if space && !out.is_empty() {
                    out.push(' ');
                }
                space = false;
                out.push_str(s);
                count += add;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_names_pass_with_their_spaces_collapsed() {
        assert_eq!(normalize_name("  Pixel 8 ").unwrap(), "Pixel 8");
        assert_eq!(normalize_name("Work   laptop").unwrap(), "Work laptop");
        assert_eq!(
            normalize_name("Ada\u{00A0}\u{3000} Mac").unwrap(),
            "Ada Mac",
            "every space separator counts as a space"
        );
        assert_eq!(
            normalize_name("Ordinateur de Zoé").unwrap(),
            "Ordinateur de Zoé"
        );
        assert_eq!(normalize_name("לפטופ של דנה").unwrap(), "לפטופ של דנה");
        assert_eq!(normalize_name(" \u{2003} ").unwrap_err(), NameError::Empty);
    }

    #[test]
    fn emoji_sequences_keep_their_joiners_and_selectors() {
        for name in [
            "👩\u{200D}💻 Laptop",
            "❤\u{FE0F} phone",
            "👍🏽 tablet",
            "🏳\u{FE0F}\u{200D}🌈 desk",
            "葛\u{E0100} PC",
            "\u{1F3F4}\u{E0067}\u{E0062}\u{E0073}\u{E0063}\u{E0074}\u{E007F} Glasgow",
            "\u{1F3F4} plain black flag",
            "میز\u{200C}کار",
        ] {
            assert_eq!(normalize_name(name).as_deref(), Ok(name), "{name:?}");
        }
    }

    #[test]
    fn controls_and_separators_are_refused() {
        for c in [
            '\t', '\n', '\r', '\0', '\u{1B}', '\u{7F}', '\u{85}', '\u{9F}', '\u{2028}', '\u{2029}',
        ] {
            let name = format!("Laptop{c}Visit https://evil.example");
            assert_eq!(normalize_name(&name), Err(NameError::Control(c)), "{c:?}");
        }
        assert_eq!(
            normalize_name("Laptop\n"),
            Err(NameError::Control('\n')),
            "refused at the ends too, not trimmed away"
        );
    }

    #[test]
    fn bidi_and_invisible_characters_are_refused() {
        let refused = [
            '\u{061C}',
            '\u{200E}',
            '\u{200F}',
            '\u{202A}',
            '\u{202B}',
            '\u{202C}',
            '\u{202D}',
            '\u{202E}',
            '\u{2066}',
            '\u{2067}',
            '\u{2068}',
            '\u{2069}',
            '\u{00AD}',
            '\u{180E}',
            '\u{200B}',
            '\u{2060}',
            '\u{2061}',
            '\u{2062}',
            '\u{2063}',
            '\u{2064}',
            '\u{FEFF}',
            '\u{FFF9}',
            '\u{FFFA}',
            '\u{FFFB}',
            '\u{0600}',
            '\u{206F}',
            '\u{1343F}',
            '\u{E0001}',
            '\u{E0020}',
            '\u{E0041}',
            '\u{E007F}',
        ];
        for c in refused {
            let name = format!("Lap{c}top");
            assert_eq!(
                normalize_name(&name),
                Err(NameError::Invisible(c)),
                "U+{:04X}",
                u32::from(c)
            );
        }
    }

    #[test]
    fn tags_pass_only_as_a_recommended_flag() {
        let tags = |s: &str| -> String {
            s.chars()
                .filter_map(|c| char::from_u32(0xE0000 + u32::from(c)))
                .collect()
        };
        let flag = |letters: &str| format!("\u{1F3F4}{}\u{E007F}", tags(letters));
        for ok in ["gbeng", "gbsct", "gbwls"] {
            assert!(normalize_name(&flag(ok)).is_ok(), "{ok}");
        }
        // Hidden text spelled in tags, with or without a flag in front.
        assert!(normalize_name(&flag("ignore previous")).is_err());
        assert!(normalize_name(&flag("gbeng2")).is_err());
        assert!(normalize_name(&format!("\u{1F3F4}{}", tags("gbeng"))).is_err());
        assert!(normalize_name(&format!("Laptop{}", tags("hi"))).is_err());
    }

    #[test]
    fn length_is_counted_after_collapsing() {
        assert!(normalize_name(&"é".repeat(64)).is_ok());
        assert_eq!(normalize_name(&"x".repeat(65)), Err(NameError::TooLong));
        let spaced = format!("{}{}{}", "a".repeat(30), " ".repeat(40), "b".repeat(30));
        assert_eq!(normalize_name(&spaced).unwrap().chars().count(), 61);
    }

    #[test]
    fn errors_tell_a_person_what_to_change() {
        let e = normalize_name("a\nb").unwrap_err().to_string();
        assert!(e.contains("line breaks") && e.contains("U+000A"), "{e}");
        let e = normalize_name("a\u{202E}b").unwrap_err().to_string();
        assert!(e.contains("invisible") && e.contains("U+202E"), "{e}");
    }

    #[test]
    fn clean_name_always_gives_a_valid_name() {
        assert_eq!(clean_name("ada-laptop"), "ada-laptop");
        assert_eq!(clean_name(" Debian\t12\n"), "Debian 12");
        assert_eq!(clean_name("Lap\u{202E}top\u{200B}"), "Laptop");
        assert_eq!(clean_name(&"x".repeat(100)), "x".repeat(64));
        assert_eq!(clean_name("\u{FEFF}"), "");
        let long = format!("{} {}", "a".repeat(63), "b");
        assert_eq!(clean_name(&long), "a".repeat(63));
        for raw in ["a\u{85}b", "👩\u{200D}💻", &"é ".repeat(50)] {
            let cleaned = clean_name(raw);
            assert_eq!(normalize_name(&cleaned).as_deref(), Ok(cleaned.as_str()));
        }
    }
}

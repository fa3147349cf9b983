//! The one-time code: 8 characters of a 32-letter alphabet (40 bits), shown
//! as `ABCD-EFGH`, accepted in any case with or without the hyphen.

use std::fmt;

/// No `0`/`O`, `1`/`I`: nothing a person can misread.
pub const CODE_ALPHABET: &str = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
pub const CODE_LEN: usize = 8;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeError {
    /// Not 8 characters once the hyphen and surrounding spaces are gone.
    Length,
    /// A character outside [`CODE_ALPHABET`].
    Character,
}

impl fmt::Display for CodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Length => f.write_str("the code has 8 characters, like ABCD-EFGH"),
            Self::Character => {
                f.write_str("the code has only the letters A–Z (no I or O) and the digits 2–9")
            }
        }
    }
}

impl std::error::Error for CodeError {}

/// The canonical 8 upper-case characters of a typed code.
pub fn normalize_code(typed: &str) -> Result<String, CodeError> {
    let trimmed = typed.trim();
    let compact: String = match trimmed.split_once('-') {
        Some((a, b)) if a.chars().count() == 4 && b.chars().count() == 4 => format!("{a}{b}"),
        Some(_) => return Err(CodeError::Length),
        None => trimmed.to_owned(),
    };
    if compact.chars().count() != CODE_LEN {
        return Err(CodeError::Length);
    }
    let upper = compact.to_ascii_uppercase();
    if upper.chars().all(|c| CODE_ALPHABET.contains(c)) {
        Ok(upper)
    } else {
        Err(CodeError::Character)
    }
}

/// `ABCDEFGH` → `ABCD-EFGH`. Input that is not 8 characters comes back as is.
pub fn format_code(canonical: &str) -> String {
    if canonical.len() == CODE_LEN && canonical.is_ascii() {
        format!("{}-{}", &canonical[..4], &canonical[4..])
    } else {
        canonical.to_owned()
    }
}

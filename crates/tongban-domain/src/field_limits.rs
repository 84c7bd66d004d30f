//! 输入长度限制: the size limits of request fields. Each service keeps one table of
//! [`FieldLimit`]s (every string and repeated field of its requests, documented the same way in
//! its `.proto` comments); a handler checks a value against its entry and reports the field by
//! its path, with the index of a repeated element (`checklist[2].note`). Pure: the service turns
//! an [`Exceeded`] into its `BadRequest` field violation.

use std::fmt;

use crate::i18n::{Lang, Localized};

/// What a field may hold at most.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// A string: at most this many characters (Unicode scalar values, so 字 counts as one).
    Chars(usize),
    /// A repeated field: at most this many elements.
    Items(usize),
}

/// The limit of one request field. `path` names the field as the caller sees it; `[]` stands
/// for the index of a repeated element (`checklist[].note`) and is filled in when a violation
/// is reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldLimit {
    /// The field's path, `[]` where an index goes.
    pub path: &'static str,
    /// What it may hold.
    pub limit: Limit,
}

/// A field over its limit: its path (with indices) and what was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exceeded {
    /// The field's path with its indices, e.g. `checklist[2].note`.
    pub field: String,
    /// The limit it broke.
    pub limit: Limit,
    /// Characters or elements found.
    pub found: usize,
    /// For a string within its length: the position (1-based, in characters) of a NUL
    /// character, which no text field may hold (PostgreSQL text cannot store it, and no
    /// legitimate value carries it).
    pub nul_at: Option<usize>,
}

/// The `<path>: at most <max>` lines of `table` that `proto` does not hold: every limit a
/// service checks must stand, with the same number, in the comments of its proto.
#[must_use]
pub fn undocumented(table: &[FieldLimit], proto: &str) -> Vec<String> {
    table
        .iter()
        .map(|limit| format!("{}: at most {}", limit.path, limit.max()))
        .filter(|line| !proto.contains(line.as_str()))
        .collect()
}

impl FieldLimit {
    /// A string field of at most `max` characters.
    #[must_use]
    pub const fn chars(path: &'static str, max: usize) -> Self {
        Self {
            path,
            limit: Limit::Chars(max),
        }
    }

    /// A repeated field of at most `max` elements.
    #[must_use]
    pub const fn items(path: &'static str, max: usize) -> Self {
        Self {
            path,
            limit: Limit::Items(max),
        }
    }

    /// The largest count allowed (characters or elements).
    #[must_use]
    pub const fn max(&self) -> usize {
        match self.limit {
            Limit::Chars(max) | Limit::Items(max) => max,
        }
    }

    /// The field's path with `indices` put in its `[]`s, in order (`checklist[].note` with
    /// `[2]` is `checklist[2].note`). Missing indices leave `[]`.
    #[must_use]
    pub fn field(&self, indices: &[usize]) -> String {
        let mut out = String::with_capacity(self.path.len() + 4);
        let mut indices = indices.iter();
        let mut rest = self.path;
        while let Some(at) = rest.find("[]") {
            out.push_str(&rest[..at]);
            match indices.next() {
                Some(i) => out.push_str(&format!("[{i}]")),
                None => out.push_str("[]"),
            }
            rest = &rest[at + 2..];
        }
        out.push_str(rest);
        out
    }

    /// Checks a string `value` of the element at `indices`. The count stops at one past the
    /// limit, so an oversize value costs no more than the limit to check.
    ///
    /// # Errors
    /// [`Exceeded`] when it is longer than the limit (or the entry is not a string limit), or
    /// holds a NUL character ([`Exceeded::nul_at`]).
    pub fn check_chars(&self, value: &str, indices: &[usize]) -> Result<(), Exceeded> {
        let max = self.max();
        let found = value.chars().take(max.saturating_add(1)).count();
        if matches!(self.limit, Limit::Chars(_)) && found <= max {
            let Some(nul_at) = value.chars().position(|c| c == '\0') else {
                return Ok(());
            };
            return Err(Exceeded {
                field: self.field(indices),
                limit: self.limit,
                found,
                nul_at: Some(nul_at + 1),
            });
        }
        Err(Exceeded {
            field: self.field(indices),
            limit: self.limit,
            found: value.chars().count(),
            nul_at: None,
        })
    }

    /// Checks a repeated field of `count` elements.
    ///
    /// # Errors
    /// [`Exceeded`] when it has more elements than the limit (or the entry is not a count).
    pub fn check_items(&self, count: usize, indices: &[usize]) -> Result<(), Exceeded> {
        if matches!(self.limit, Limit::Items(_)) && count <= self.max() {
            return Ok(());
        }
        Err(Exceeded {
            field: self.field(indices),
            limit: self.limit,
            found: count,
            nul_at: None,
        })
    }
}

impl Localized for Exceeded {
    fn text(&self, lang: Lang) -> String {
        if let Some(at) = self.nul_at {
            return match lang {
                Lang::Zh => format!("不能包含 NUL 字符（第 {at} 个字符）"),
                Lang::En => format!("must not contain a NUL character (character {at})"),
            };
        }
        match (self.limit, lang) {
            (Limit::Chars(max), Lang::Zh) => {
                format!("超过长度限制：最多 {max} 个字符，收到 {} 个", self.found)
            }
            (Limit::Chars(max), Lang::En) => {
                format!("too long: at most {max} characters, got {}", self.found)
            }
            (Limit::Items(max), Lang::Zh) => {
                format!("超过数量限制：最多 {max} 项，收到 {} 项", self.found)
            }
            (Limit::Items(max), Lang::En) => {
                format!("too many: at most {max} items, got {}", self.found)
            }
        }
    }
}

impl fmt::Display for Exceeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.text(Lang::default()))
    }
}

impl std::error::Error for Exceeded {}

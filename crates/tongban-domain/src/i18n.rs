//! Languages for user-facing text. Clerks read Simplified Chinese by default; every message also
//! has an English alternative, chosen by the caller's language tag.

/// A language for user-facing text (中文 by default).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Lang {
    /// 简体中文 (the default).
    #[default]
    Zh,
    /// English.
    En,
}

impl Lang {
    /// Reads a BCP 47 language tag such as `"en"`, `"en-US"` or `"EN"` (case-insensitive);
    /// anything that is not English, including an empty or malformed tag, gives [`Lang::Zh`].
    /// An `Accept-Language` style list (`"en-US,en;q=0.9"`) is read by its first entry.
    pub fn from_tag(tag: &str) -> Lang {
        let first = tag.split([',', ';']).next().unwrap_or_default();
        let primary = first.trim().split(['-', '_']).next().unwrap_or_default();
        if primary.eq_ignore_ascii_case("en") {
            Lang::En
        } else {
            Lang::Zh
        }
    }

    /// The BCP 47 tag of this language (`"zh-CN"` or `"en"`).
    pub fn tag(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }

    /// Picks the text for this language from a Chinese and an English alternative.
    pub fn pick<'a>(self, zh: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }
}

/// A message meant for clerks, reviewers and operators, available in Chinese and English.
pub trait Localized {
    /// The message in `lang`. It names the reason and never contains personal data.
    fn text(&self, lang: Lang) -> String;
}

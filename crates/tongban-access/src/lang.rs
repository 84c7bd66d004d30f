//! The caller's language, from the `accept-language` request header.

use tongban_domain::i18n::Lang;
use tonic::metadata::MetadataMap;

/// The language a request asks for: the first tag of its `accept-language` header
/// (`en`, `en-US`, `en_GB`, … → English); Chinese (简体中文) when the header is absent, cannot be
/// read, or names any other language.
pub fn request_lang(metadata: &MetadataMap) -> Lang {
    metadata
        .get("accept-language")
        .and_then(|value| value.to_str().ok())
        .map(Lang::from_tag)
        .unwrap_or(Lang::Zh)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lang_for(header: Option<&str>) -> Lang {
        let mut metadata = MetadataMap::new();
        if let Some(header) = header {
            metadata.insert("accept-language", header.parse().unwrap());
        }
        request_lang(&metadata)
    }

    #[test]
    fn first_tag_decides() {
        assert!(matches!(lang_for(None), Lang::Zh));
        assert!(matches!(lang_for(Some("en")), Lang::En));
        assert!(matches!(lang_for(Some("EN-us, zh;q=0.5")), Lang::En));
        assert!(matches!(lang_for(Some("en_GB")), Lang::En));
        assert!(matches!(lang_for(Some("zh-CN,en;q=0.9")), Lang::Zh));
        assert!(matches!(lang_for(Some("fr")), Lang::Zh));
        assert!(matches!(lang_for(Some("")), Lang::Zh));
    }
}

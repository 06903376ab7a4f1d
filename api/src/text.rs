//! Text rules at the edge, beyond the core's length and control-character checks.
//!
//! A single-line field (a title, a name, a takeover reason) is shown in lists, headers and
//! name tags. Unicode format characters there can reorder what a reader sees (U+202E turns
//! "txt.exe" around), hide text (U+200B, U+2060) or smuggle invisible tags, and line and
//! paragraph separators (U+2028, U+2029) break a line the field promises not to have. They
//! are refused here, before anything is proposed; the categories come from
//! `unicode-properties`, not from a table of our own.
//!
//! Two format characters are allowed: the zero-width joiner and non-joiner (U+200D, U+200C).
//! Emoji sequences (a family, a flag with a modifier) and Persian, Indic and other scripts
//! need them in ordinary text, and they reorder nothing.
//!
//! Not in the state machine: a newer Unicode version could move a character between
//! categories, and replicas running different versions must never disagree on an entry.

use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

const ZERO_WIDTH_NON_JOINER: char = '\u{200C}';
const ZERO_WIDTH_JOINER: char = '\u{200D}';

/// `value` holds no format, line-separator or paragraph-separator character (but the
/// joiners), or why not.
pub fn check_single_line(what: &str, value: &str) -> Result<(), String> {
    match value.chars().find(|c| is_refused(*c)) {
        None => Ok(()),
        Some(c) => Err(format!(
            "{what} holds an invisible formatting or line-separator character (U+{:04X}); remove it",
            u32::from(c)
        )),
    }
}

/// `value` as display text: the characters [`check_single_line`] and the core refuse dropped,
/// cut to `chars_max` characters. For text a person did not type here (a name from the
/// identity provider), where refusing would lock them out.
pub fn display_text(value: &str, chars_max: usize) -> String {
    value.chars().filter(|c| !is_refused(*c) && !c.is_control()).take(chars_max).collect::<String>().trim().to_owned()
}

/// The characters a single-line field refuses, as ranges over the code space, for the
/// OpenAPI document's patterns: [`check_single_line`]'s and the core's control characters.
pub fn single_line_refused_ranges() -> Vec<(char, char)> {
    ranges_where(|c| is_refused(c) || c.is_control())
}

/// The characters the core refuses in multi-line text (controls but tab and line feed).
pub fn multi_line_refused_ranges() -> Vec<(char, char)> {
    ranges_where(|c| c.is_control() && c != '\n' && c != '\t')
}

/// The characters the core refuses in any text it bounds (drafts keep the rest as typed).
pub fn control_ranges() -> Vec<(char, char)> {
    ranges_where(char::is_control)
}

fn ranges_where(refused: impl Fn(char) -> bool) -> Vec<(char, char)> {
    let mut ranges: Vec<(char, char)> = Vec::new();
    for c in (0..=char::MAX as u32).filter_map(char::from_u32).filter(|c| refused(*c)) {
        match ranges.last_mut() {
            Some((_, end)) if u32::from(*end) + 1 == u32::from(c) => *end = c,
            _ => ranges.push((c, c)),
        }
    }
    ranges
}

fn is_refused(c: char) -> bool {
    match c.general_category() {
        GeneralCategory::Format => c != ZERO_WIDTH_JOINER && c != ZERO_WIDTH_NON_JOINER,
        GeneralCategory::LineSeparator | GeneralCategory::ParagraphSeparator => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reordering_hiding_and_separator_characters_are_refused() {
        for bad in
            ["\u{202E}exe.txt", "a\u{2066}b", "zero\u{200B}width", "line\u{2028}break", "para\u{2029}", "\u{FEFF}bom"]
        {
            assert!(check_single_line("title", bad).is_err(), "{bad:?} was accepted");
        }
        assert!(check_single_line("title", "\u{E0041}tag").is_err(), "tag characters hide text");
    }

    #[test]
    fn ordinary_text_in_any_script_and_emoji_sequences_pass() {
        for good in [
            "Checkup with Dr. Müller",
            "\u{0645}\u{06CC}\u{200C}\u{062E}\u{0648}\u{0627}\u{0647}\u{0645}", // Persian, with ZWNJ
            "\u{1F468}\u{200D}\u{1F469}\u{200D}\u{1F467}",                      // family emoji, with ZWJ
            "東京の会議",
            "Room 1 · 2nd floor",
            "",
        ] {
            assert_eq!(check_single_line("title", good), Ok(()), "{good:?}");
        }
    }
}

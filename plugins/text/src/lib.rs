//! `text-tools`: everyday text utilities as a Switchboard plugin.
//!
//! Tools: `word_count`, `convert_case`, `slugify`, `truncate`, `replace`,
//! `wrap`. All are pure computations (read-only, idempotent, closed world).
//! Lengths are counted in Unicode scalar values ("characters").
//!
//! Build: `cargo build --target wasm32-wasip2 --release -p text-tools`
//! (writes `text_tools.wasm`).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use switchboard_sdk::{Context, Json, Plugin, Tool, ToolError, ToolSet, export_plugin};

/// The plugin.
pub struct TextTools;

impl Plugin for TextTools {
    fn tools() -> ToolSet {
        ToolSet::new()
            .tool(
                Tool::new(
                    "word_count",
                    "Count words, lines, characters, bytes and paragraphs in a text.",
                    word_count,
                )
                .title("Word count")
                .pure(),
            )
            .tool(
                Tool::new(
                    "convert_case",
                    "Convert text to upper, lower, title or sentence case, or turn it into an \
                     identifier in snake_case, kebab-case, camelCase, PascalCase or CONSTANT_CASE \
                     (words are split on spaces, punctuation and camelCase boundaries).",
                    convert_case,
                )
                .title("Convert case")
                .pure(),
            )
            .tool(
                Tool::new(
                    "slugify",
                    "Make a URL slug: lowercase ASCII words joined by a separator, with common \
                     accented letters transliterated (\"Crème Brûlée!\" -> \"creme-brulee\").",
                    slugify,
                )
                .title("Slugify")
                .pure(),
            )
            .tool(
                Tool::new(
                    "truncate",
                    "Shorten text to at most `max_chars` characters (ellipsis included), \
                     preferably at a word boundary. Text that already fits is returned unchanged.",
                    truncate,
                )
                .title("Truncate")
                .pure(),
            )
            .tool(
                Tool::new(
                    "replace",
                    "Find and replace literal text (no regular expressions), optionally ignoring \
                     case and limiting the number of replacements. Returns the new text and how \
                     many replacements were made.",
                    replace,
                )
                .title("Find and replace")
                .pure(),
            )
            .tool(
                Tool::new(
                    "wrap",
                    "Wrap each line of a text to a maximum width in characters, breaking at \
                     spaces. Existing line breaks and blank lines are kept.",
                    wrap,
                )
                .title("Wrap lines")
                .pure(),
            )
    }
}

export_plugin!(TextTools);

// ---------------------------------------------------------------- word_count

/// Arguments of `word_count`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WordCountArgs {
    /// The text to measure.
    pub text: String,
}

/// What `word_count` returns.
#[derive(Debug, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Counts {
    /// Whitespace-separated words.
    pub words: usize,
    /// Lines (a trailing newline does not start a new line; empty text has 0).
    pub lines: usize,
    /// Unicode scalar values.
    pub characters: usize,
    /// Characters that are not whitespace.
    pub characters_without_spaces: usize,
    /// UTF-8 bytes.
    pub bytes: usize,
    /// Blocks of non-blank lines separated by blank lines.
    pub paragraphs: usize,
}

/// Count words, lines, characters, bytes and paragraphs.
pub fn word_count(args: WordCountArgs, _cx: &Context) -> Result<Json<Counts>, ToolError> {
    Ok(Json(count(&args.text)))
}

fn count(text: &str) -> Counts {
    let mut paragraphs = 0;
    let mut in_paragraph = false;
    for line in text.lines() {
        let blank = line.trim().is_empty();
        if !blank && !in_paragraph {
            paragraphs += 1;
        }
        in_paragraph = !blank;
    }
    Counts {
        words: text.split_whitespace().count(),
        lines: text.lines().count(),
        characters: text.chars().count(),
        characters_without_spaces: text.chars().filter(|c| !c.is_whitespace()).count(),
        bytes: text.len(),
        paragraphs,
    }
}

// -------------------------------------------------------------- convert_case

/// Target case for `convert_case`.
#[derive(Clone, Copy, Debug, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Case {
    /// ALL CAPS, text otherwise unchanged.
    Upper,
    /// all lowercase, text otherwise unchanged.
    Lower,
    /// Every Word Capitalized, punctuation and spacing kept.
    Title,
    /// First letter of each sentence capitalized, the rest lowercase.
    Sentence,
    /// words_joined_by_underscores
    Snake,
    /// words-joined-by-hyphens
    Kebab,
    /// firstWordLowerThenCapitalized
    Camel,
    /// EveryWordCapitalized
    Pascal,
    /// UPPER_SNAKE_CASE
    Constant,
}

/// Arguments of `convert_case`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConvertCaseArgs {
    /// The text to convert.
    pub text: String,
    /// The case to convert to.
    pub case: Case,
}

/// Convert text between cases.
pub fn convert_case(args: ConvertCaseArgs, _cx: &Context) -> Result<String, ToolError> {
    Ok(to_case(&args.text, args.case))
}

fn to_case(text: &str, case: Case) -> String {
    match case {
        Case::Upper => text.to_uppercase(),
        Case::Lower => text.to_lowercase(),
        Case::Title => title_case(text),
        Case::Sentence => sentence_case(text),
        Case::Snake => split_words(text)
            .iter()
            .map(|w| w.to_lowercase())
            .collect::<Vec<_>>()
            .join("_"),
        Case::Kebab => split_words(text)
            .iter()
            .map(|w| w.to_lowercase())
            .collect::<Vec<_>>()
            .join("-"),
        Case::Constant => split_words(text)
            .iter()
            .map(|w| w.to_uppercase())
            .collect::<Vec<_>>()
            .join("_"),
        Case::Pascal => split_words(text).iter().map(|w| capitalize(w)).collect(),
        Case::Camel => split_words(text)
            .iter()
            .enumerate()
            .map(|(i, w)| {
                if i == 0 {
                    w.to_lowercase()
                } else {
                    capitalize(w)
                }
            })
            .collect(),
    }
}

/// First character uppercase, the rest lowercase.
fn capitalize(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first
            .to_uppercase()
            .chain(chars.flat_map(char::to_lowercase))
            .collect(),
        None => String::new(),
    }
}

fn is_apostrophe(c: char) -> bool {
    c == '\'' || c == '\u{2019}'
}

/// Split into words for identifiers: runs of letters and digits, also split
/// at `lowerUpper` and `ACRONYMWord` boundaries; apostrophes are dropped.
fn split_words(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().filter(|c| !is_apostrophe(*c)).collect();
    let mut words = Vec::new();
    let mut current = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_alphanumeric() {
            if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            continue;
        }
        if !current.is_empty() && i > 0 {
            let prev = chars[i - 1];
            let next_is_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            let boundary = (prev.is_lowercase() || prev.is_numeric()) && c.is_uppercase()
                || prev.is_uppercase() && c.is_uppercase() && next_is_lower;
            if boundary {
                words.push(std::mem::take(&mut current));
            }
        }
        current.push(c);
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

fn title_case(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut at_word_start = true;
    for c in text.chars() {
        if c.is_alphanumeric() {
            if at_word_start {
                out.extend(c.to_uppercase());
            } else {
                out.extend(c.to_lowercase());
            }
            at_word_start = false;
        } else {
            out.push(c);
            at_word_start = !is_apostrophe(c);
        }
    }
    out
}

fn sentence_case(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut at_sentence_start = true;
    for c in text.chars() {
        if c.is_alphanumeric() {
            if at_sentence_start {
                out.extend(c.to_uppercase());
            } else {
                out.extend(c.to_lowercase());
            }
            at_sentence_start = false;
        } else {
            out.push(c);
            if matches!(c, '.' | '!' | '?') {
                at_sentence_start = true;
            }
        }
    }
    out
}

// ------------------------------------------------------------------- slugify

/// Arguments of `slugify`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SlugifyArgs {
    /// The text to turn into a slug.
    pub text: String,
    /// Separator between words (default "-").
    #[serde(default)]
    pub separator: Option<String>,
    /// Maximum slug length in characters; the slug is cut at a word boundary
    /// when possible.
    #[serde(default)]
    pub max_length: Option<usize>,
}

/// Make a URL slug.
pub fn slugify(args: SlugifyArgs, _cx: &Context) -> Result<String, ToolError> {
    let separator = args.separator.as_deref().unwrap_or("-");
    if separator.chars().any(|c| c.is_alphanumeric()) {
        return Err(ToolError::invalid_arguments(
            "`separator` must not contain letters or digits",
        ));
    }
    let mut ascii = String::with_capacity(args.text.len());
    for c in args.text.chars() {
        match transliterate(c) {
            Some(s) => ascii.push_str(s),
            None if c.is_ascii_alphanumeric() => ascii.push(c.to_ascii_lowercase()),
            None => ascii.push(' '),
        }
    }
    let words: Vec<&str> = ascii.split_whitespace().collect();
    let mut slug = words.join(separator);
    if let Some(max) = args.max_length
        && slug.chars().count() > max
    {
        let mut cut = String::new();
        for word in &words {
            let extra = if cut.is_empty() {
                0
            } else {
                separator.chars().count()
            };
            if cut.chars().count() + extra + word.chars().count() > max {
                break;
            }
            if !cut.is_empty() {
                cut.push_str(separator);
            }
            cut.push_str(word);
        }
        if cut.is_empty() {
            // The first word alone is too long: cut it.
            cut = slug.chars().take(max).collect();
        }
        slug = cut;
    }
    Ok(slug)
}

/// ASCII for common Latin letters with diacritics (lowercase).
fn transliterate(c: char) -> Option<&'static str> {
    Some(match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' | 'À' | 'Á' | 'Â' | 'Ã' | 'Ä' | 'Å'
        | 'Ā' | 'Ă' | 'Ą' => "a",
        'æ' | 'Æ' => "ae",
        'ç' | 'ć' | 'č' | 'Ç' | 'Ć' | 'Č' => "c",
        'ď' | 'đ' | 'ð' | 'Ď' | 'Đ' | 'Ð' => "d",
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ė' | 'ę' | 'ě' | 'È' | 'É' | 'Ê' | 'Ë' | 'Ē' | 'Ė' | 'Ę'
        | 'Ě' => "e",
        'ğ' | 'Ğ' => "g",
        'ì' | 'í' | 'î' | 'ï' | 'ī' | 'į' | 'ı' | 'Ì' | 'Í' | 'Î' | 'Ï' | 'Ī' | 'Į' | 'İ' => {
            "i"
        }
        'ł' | 'ľ' | 'ĺ' | 'Ł' | 'Ľ' | 'Ĺ' => "l",
        'ñ' | 'ń' | 'ň' | 'Ñ' | 'Ń' | 'Ň' => "n",
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ő' | 'Ò' | 'Ó' | 'Ô' | 'Õ' | 'Ö' | 'Ø' | 'Ō'
        | 'Ő' => "o",
        'œ' | 'Œ' => "oe",
        'ř' | 'ŕ' | 'Ř' | 'Ŕ' => "r",
        'ś' | 'š' | 'ş' | 'ș' | 'Ś' | 'Š' | 'Ş' | 'Ș' => "s",
        'ß' => "ss",
        'ť' | 'ţ' | 'ț' | 'Ť' | 'Ţ' | 'Ț' => "t",
        'þ' | 'Þ' => "th",
        'ù' | 'ú' | 'û' | 'ü' | 'ū' | 'ů' | 'ű' | 'ų' | 'Ù' | 'Ú' | 'Û' | 'Ü' | 'Ū' | 'Ů' | 'Ű'
        | 'Ų' => "u",
        'ý' | 'ÿ' | 'Ý' | 'Ÿ' => "y",
        'ź' | 'ż' | 'ž' | 'Ź' | 'Ż' | 'Ž' => "z",
        '&' => " and ",
        '\'' | '\u{2019}' => "",
        _ => return None,
    })
}

// ------------------------------------------------------------------ truncate

/// Arguments of `truncate`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TruncateArgs {
    /// The text to shorten.
    pub text: String,
    /// Maximum length of the result in characters, ellipsis included.
    pub max_chars: usize,
    /// Appended when the text is cut (default "…"; use "" for none).
    #[serde(default)]
    pub ellipsis: Option<String>,
    /// Cut at the last space before the limit when there is one (default true).
    #[serde(default)]
    pub at_word_boundary: Option<bool>,
}

/// Shorten text to a maximum number of characters.
pub fn truncate(args: TruncateArgs, _cx: &Context) -> Result<String, ToolError> {
    let ellipsis = args.ellipsis.as_deref().unwrap_or("…");
    let text = args.text;
    if text.chars().count() <= args.max_chars {
        return Ok(text);
    }
    let ellipsis_len = ellipsis.chars().count();
    if ellipsis_len > args.max_chars {
        return Err(ToolError::invalid_arguments(format!(
            "`max_chars` ({}) is shorter than the ellipsis ({ellipsis_len} characters)",
            args.max_chars
        )));
    }
    let keep = args.max_chars - ellipsis_len;
    let end = text.char_indices().nth(keep).map_or(text.len(), |(i, _)| i);
    let mut cut = &text[..end];
    let next_is_space = text[end..].chars().next().is_some_and(char::is_whitespace);
    if args.at_word_boundary.unwrap_or(true)
        && !next_is_space
        && let Some(space) = cut.rfind(char::is_whitespace)
        && space > 0
    {
        cut = &cut[..space];
    }
    Ok(format!("{}{ellipsis}", cut.trim_end()))
}

// ------------------------------------------------------------------- replace

/// Arguments of `replace`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplaceArgs {
    /// The text to search in.
    pub text: String,
    /// The literal text to find (not a regular expression); must not be empty.
    pub find: String,
    /// What to put in its place (may be empty to delete).
    pub replace: String,
    /// Match regardless of letter case (default false).
    #[serde(default)]
    pub ignore_case: Option<bool>,
    /// Replace at most this many occurrences, from the start (default: all).
    #[serde(default)]
    pub max_replacements: Option<usize>,
}

/// What `replace` returns.
#[derive(Debug, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Replaced {
    /// The text after replacement.
    pub text: String,
    /// How many occurrences were replaced.
    pub replacements: usize,
}

/// Find and replace literal text.
pub fn replace(args: ReplaceArgs, _cx: &Context) -> Result<Json<Replaced>, ToolError> {
    if args.find.is_empty() {
        return Err(ToolError::invalid_arguments("`find` must not be empty"));
    }
    let limit = args.max_replacements.unwrap_or(usize::MAX);
    let ignore_case = args.ignore_case.unwrap_or(false);
    let mut out = String::with_capacity(args.text.len());
    let mut replacements = 0;
    let mut rest = args.text.as_str();
    while replacements < limit {
        let found = if ignore_case {
            find_ignore_case(rest, &args.find)
        } else {
            rest.find(&args.find)
                .map(|start| (start, start + args.find.len()))
        };
        let Some((start, end)) = found else { break };
        out.push_str(&rest[..start]);
        out.push_str(&args.replace);
        rest = &rest[end..];
        replacements += 1;
    }
    out.push_str(rest);
    Ok(Json(Replaced {
        text: out,
        replacements,
    }))
}

/// The byte range of the first case-insensitive match of `needle` in
/// `haystack` (character by character, with full Unicode lowercase mapping).
fn find_ignore_case(haystack: &str, needle: &str) -> Option<(usize, usize)> {
    let needle: Vec<char> = needle.chars().flat_map(char::to_lowercase).collect();
    for (start, _) in haystack.char_indices() {
        let mut matched = 0;
        for (offset, c) in haystack[start..].char_indices() {
            for lower in c.to_lowercase() {
                if needle.get(matched) != Some(&lower) {
                    matched = usize::MAX;
                    break;
                }
                matched += 1;
            }
            if matched == usize::MAX {
                break;
            }
            if matched == needle.len() {
                return Some((start, start + offset + c.len_utf8()));
            }
        }
    }
    None
}

// ---------------------------------------------------------------------- wrap

/// Arguments of `wrap`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WrapArgs {
    /// The text to wrap.
    pub text: String,
    /// Maximum line width in characters (at least 1).
    pub width: usize,
    /// Split words longer than `width` (default true); otherwise they stay
    /// whole on a line of their own.
    #[serde(default)]
    pub break_long_words: Option<bool>,
}

/// Wrap lines to a width.
pub fn wrap(args: WrapArgs, _cx: &Context) -> Result<String, ToolError> {
    if args.width == 0 {
        return Err(ToolError::invalid_arguments("`width` must be at least 1"));
    }
    let break_long = args.break_long_words.unwrap_or(true);
    let lines: Vec<String> = args
        .text
        .split('\n')
        .map(|line| wrap_line(line.trim_end_matches('\r'), args.width, break_long))
        .collect();
    Ok(lines.join("\n"))
}

fn wrap_line(line: &str, width: usize, break_long: bool) -> String {
    let indent_end = line.len() - line.trim_start().len();
    let indent = &line[..indent_end];
    let indent_len = indent.chars().count();
    // An indent as wide as the line would leave no room: drop it.
    let (indent, indent_len) = if indent_len >= width {
        ("", 0)
    } else {
        (indent, indent_len)
    };
    let room = width - indent_len;
    let mut out: Vec<String> = Vec::new();
    let mut current = String::new();
    let mut current_len = 0;
    for word in line.split_whitespace() {
        let mut word = word.to_owned();
        let mut word_len = word.chars().count();
        let needed = if current_len == 0 {
            word_len
        } else {
            current_len + 1 + word_len
        };
        if needed <= room {
            if current_len > 0 {
                current.push(' ');
            }
            current.push_str(&word);
            current_len = needed;
            continue;
        }
        if current_len > 0 {
            out.push(std::mem::take(&mut current));
        }
        if break_long {
            while word_len > room {
                let split = word.char_indices().nth(room).map_or(word.len(), |(i, _)| i);
                out.push(word[..split].to_owned());
                word = word[split..].to_owned();
                word_len -= room;
            }
        }
        current = word;
        current_len = word_len;
    }
    if current_len > 0 || out.is_empty() {
        out.push(current);
    }
    if out.len() == 1 && out[0].is_empty() {
        return String::new();
    }
    out.iter()
        .map(|l| format!("{indent}{l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};
    use switchboard_sdk::testing::MockHost;

    fn call(tool: &str, args: Value) -> Result<switchboard_sdk::CallResult, ToolError> {
        TextTools::tools().call_json(tool, &args, &MockHost::new().context(tool))
    }

    fn text(tool: &str, args: Value) -> String {
        match call(tool, args) {
            Ok(r) => r.first_text().unwrap_or_default().to_owned(),
            Err(e) => panic!("{tool}: {e}"),
        }
    }

    #[test]
    fn lists_six_tools_with_object_schemas() {
        let tools = TextTools::tools().list();
        let names: Vec<_> = tools.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "word_count",
                "convert_case",
                "slugify",
                "truncate",
                "replace",
                "wrap"
            ]
        );
        for t in &tools {
            assert_eq!(t.input_schema["type"], "object", "{}", t.name);
            assert_eq!(t.annotations.and_then(|a| a.read_only), Some(true));
        }
        assert!(tools[0].output_schema.is_some());
        assert!(tools[4].output_schema.is_some());
        assert_eq!(
            tools[0].input_schema["properties"]["text"]["description"],
            "The text to measure."
        );
    }

    #[test]
    fn word_count_structured() {
        let r = call(
            "word_count",
            json!({"text": "Hello world.\nSecond line\n\nNew para é\n"}),
        )
        .expect("ok");
        assert_eq!(
            r.structured_content,
            Some(json!({
                "words": 7, "lines": 4, "characters": 37, "characters_without_spaces": 29,
                "bytes": 38, "paragraphs": 2
            }))
        );
        assert_eq!(count("").lines, 0);
        assert_eq!(count("").paragraphs, 0);
    }

    #[test]
    fn cases() {
        let cases = [
            ("upper", "Hello wörld", "HELLO WÖRLD"),
            ("lower", "Hello WÖRLD", "hello wörld"),
            (
                "title",
                "the cat's HAT-trick, again",
                "The Cat's Hat-Trick, Again",
            ),
            (
                "sentence",
                "HELLO there. how ARE you? fine",
                "Hello there. How are you? Fine",
            ),
            ("snake", "parseHTTPResponse v2", "parse_http_response_v2"),
            ("kebab", "Hello, World! It's me", "hello-world-its-me"),
            ("camel", "user_id-value", "userIdValue"),
            ("pascal", "xml http request", "XmlHttpRequest"),
            ("constant", "maxRetryCount", "MAX_RETRY_COUNT"),
            ("snake", "version2Beta", "version2_beta"),
        ];
        for (case, input, want) in cases {
            assert_eq!(
                text("convert_case", json!({"text": input, "case": case})),
                want,
                "{case}"
            );
        }
        assert!(matches!(
            call("convert_case", json!({"text": "x", "case": "shouty"})),
            Err(ToolError::InvalidArguments(m)) if m.contains("unknown variant")
        ));
    }

    #[test]
    fn slugs() {
        assert_eq!(
            text("slugify", json!({"text": "Crème Brûlée: the BEST recipe!"})),
            "creme-brulee-the-best-recipe"
        );
        assert_eq!(
            text(
                "slugify",
                json!({"text": "Rock & Roll's  Äge", "separator": "_"})
            ),
            "rock_and_rolls_age"
        );
        assert_eq!(
            text("slugify", json!({"text": "one two three", "max_length": 9})),
            "one-two"
        );
        assert_eq!(
            text("slugify", json!({"text": "abcdefghij", "max_length": 4})),
            "abcd"
        );
        assert_eq!(text("slugify", json!({"text": "日本語"})), "");
        assert!(matches!(
            call("slugify", json!({"text": "a", "separator": "x"})),
            Err(ToolError::InvalidArguments(_))
        ));
    }

    #[test]
    fn truncation() {
        assert_eq!(
            text("truncate", json!({"text": "short", "max_chars": 10})),
            "short"
        );
        assert_eq!(
            text(
                "truncate",
                json!({"text": "The quick brown fox", "max_chars": 12})
            ),
            "The quick…"
        );
        assert_eq!(
            text(
                "truncate",
                json!({"text": "The quick brown fox", "max_chars": 12, "at_word_boundary": false})
            ),
            "The quick b…"
        );
        assert_eq!(
            text(
                "truncate",
                json!({"text": "The quick brown fox", "max_chars": 10, "ellipsis": "..."})
            ),
            "The..."
        );
        assert_eq!(
            text("truncate", json!({"text": "héllo wörld", "max_chars": 6})),
            "héllo…"
        );
        assert_eq!(
            text(
                "truncate",
                json!({"text": "abcdef", "max_chars": 3, "ellipsis": ""})
            ),
            "abc"
        );
        assert!(matches!(
            call(
                "truncate",
                json!({"text": "abcdef", "max_chars": 2, "ellipsis": "..."})
            ),
            Err(ToolError::InvalidArguments(_))
        ));
    }

    #[test]
    fn replacing() {
        let r = call(
            "replace",
            json!({"text": "a-b-c", "find": "-", "replace": "+"}),
        )
        .expect("ok");
        assert_eq!(
            r.structured_content,
            Some(json!({"text": "a+b+c", "replacements": 2}))
        );
        let r = call(
            "replace",
            json!({"text": "Straße STRASSE straße", "find": "STRAßE", "replace": "x", "ignore_case": true}),
        )
        .expect("ok");
        assert_eq!(
            r.structured_content,
            Some(json!({"text": "x STRASSE x", "replacements": 2}))
        );
        let r = call(
            "replace",
            json!({"text": "aaa", "find": "a", "replace": "", "max_replacements": 2}),
        )
        .expect("ok");
        assert_eq!(
            r.structured_content,
            Some(json!({"text": "a", "replacements": 2}))
        );
        let r = call(
            "replace",
            json!({"text": "Hello HELLO", "find": "hello", "replace": "bye"}),
        )
        .expect("ok");
        assert_eq!(
            r.structured_content,
            Some(json!({"text": "Hello HELLO", "replacements": 0}))
        );
        assert!(matches!(
            call("replace", json!({"text": "a", "find": "", "replace": "b"})),
            Err(ToolError::InvalidArguments(_))
        ));
    }

    #[test]
    fn wrapping() {
        assert_eq!(
            text(
                "wrap",
                json!({"text": "The quick brown fox jumps over the lazy dog", "width": 10})
            ),
            "The quick\nbrown fox\njumps over\nthe lazy\ndog"
        );
        assert_eq!(
            text(
                "wrap",
                json!({"text": "  indented words here\n\nnext", "width": 10})
            ),
            "  indented\n  words\n  here\n\nnext"
        );
        assert_eq!(
            text("wrap", json!({"text": "abcdefghij", "width": 4})),
            "abcd\nefgh\nij"
        );
        assert_eq!(
            text(
                "wrap",
                json!({"text": "a abcdefghij b", "width": 4, "break_long_words": false})
            ),
            "a\nabcdefghij\nb"
        );
        assert!(matches!(
            call("wrap", json!({"text": "x", "width": 0})),
            Err(ToolError::InvalidArguments(_))
        ));
    }

    #[test]
    fn bad_arguments_are_invalid_arguments() {
        assert!(matches!(
            call("word_count", json!({})),
            Err(ToolError::InvalidArguments(m)) if m.contains("missing field `text`")
        ));
        assert!(matches!(
            call("nope", json!({})),
            Err(ToolError::NotFound(_))
        ));
    }
}

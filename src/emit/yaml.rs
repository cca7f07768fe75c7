//! A YAML writer for a `serde_yaml_ng::Value` tree that keeps every string a
//! string for every YAML reader: YAML 1.1 (PyYAML, older tools) as well as
//! YAML 1.2 (go-yaml in Docker Compose, ruamel).
//!
//! `serde_yaml_ng::to_string` decides quoting by YAML 1.2 rules only, so it
//! writes `yes`, `on`, `22:22`, `2001-12-14` and `<<` plain — which YAML 1.1
//! readers turn into a boolean, a sexagesimal number, a date and a merge key —
//! and it leaves U+2028 raw inside quotes, where YAML 1.1 folds it. Here every
//! string value is written double-quoted with escapes, and keys are written
//! plain only when they cannot mean anything but themselves.

use serde_yaml_ng::Value;
use std::fmt::Write;

mod typed;
pub use typed::{Dollars, typed_entry};

/// Keys longer than this are written as explicit keys (`? key`): YAML limits
/// implicit keys to 1024 characters.
const IMPLICIT_KEY_LIMIT: usize = 1000;

/// Writes `value` as a block-style YAML document (after `comment` lines, each
/// prefixed with `# `). Line breaks in the comment become spaces.
pub fn document(comment: &[String], value: &Value) -> String {
    let mut out = String::new();
    comment_lines(&mut out, comment);
    match value {
        Value::Mapping(m) if !m.is_empty() => mapping(&mut out, m, 0, false),
        Value::Sequence(s) if !s.is_empty() => sequence(&mut out, s, 0),
        other => {
            write_scalar(&mut out, other);
            out.push('\n');
        }
    }
    out
}

/// A block-style YAML document whose top-level mapping is written an entry
/// at a time, in order: the same text as [`document`] of the whole mapping,
/// but its largest entries are never trees, nor texts apart, all at once.
pub struct Document(String);

impl Document {
    /// A document that starts with `comment` lines, as [`document`]'s,
    /// with room for `bytes` reserved (not touched): a text grown by
    /// doubling copies itself and faults in fresh pages at each step.
    pub fn new(comment: &[String], bytes: usize) -> Self {
        let mut out = String::with_capacity(bytes);
        comment_lines(&mut out, comment);
        Document(out)
    }

    /// The next top-level entry.
    pub fn entry(&mut self, k: &Value, v: &Value) {
        entry(&mut self.0, k, v, 0);
    }

    /// The next top-level entry, a mapping whose own entries `write` writes
    /// with [`entry`] or [`entry_after`] at level 2; none writes it as an
    /// empty mapping.
    pub fn entries(&mut self, k: &Value, write: impl FnOnce(&mut String)) {
        write_key(&mut self.0, k);
        self.0.push(':');
        let start = self.0.len();
        self.0.push('\n');
        write(&mut self.0);
        if self.0.len() == start + 1 {
            self.0.truncate(start);
            self.0.push_str(" {}\n");
        }
    }

    pub fn finish(self) -> String {
        self.0
    }
}

fn comment_lines(out: &mut String, comment: &[String]) {
    for line in comment {
        out.push_str("# ");
        out.push_str(&one_line(line));
        out.push('\n');
    }
}

/// Text for a comment or a single line of another format: every character
/// that any YAML version (or a shell, or HAProxy) treats as a line break, and
/// every other control character, becomes a space.
pub fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}') {
                ' '
            } else {
                c
            }
        })
        .collect()
}

fn indent(out: &mut String, n: usize) {
    const SPACES: &str = "                                ";
    let mut left = n;
    while left > 0 {
        let step = left.min(SPACES.len());
        out.push_str(&SPACES[..step]);
        left -= step;
    }
}

/// The value after `key:` or `- `, on the same line for scalars, below for collections.
fn value_after(out: &mut String, v: &Value, level: usize) {
    match v {
        Value::Mapping(m) if !m.is_empty() => {
            out.push('\n');
            mapping(out, m, level + 2, false);
        }
        Value::Sequence(s) if !s.is_empty() => {
            out.push('\n');
            sequence(out, s, level + 2);
        }
        Value::Tagged(t) => value_after(out, &t.value, level),
        Value::String(s) => string_after(out, s, level),
        other => {
            out.push(' ');
            write_scalar(out, other);
            out.push('\n');
        }
    }
}

/// A string after `key:` or `- `: a literal block where it reads the same
/// in one, else double-quoted on the same line.
fn string_after(out: &mut String, s: &str, level: usize) {
    if literal(s) {
        out.push_str(if s.ends_with('\n') { " |\n" } else { " |-\n" });
        for line in s.strip_suffix('\n').unwrap_or(s).split('\n') {
            if !line.is_empty() {
                indent(out, level + 2);
                out.push_str(line);
            }
            out.push('\n');
        }
    } else {
        out.push(' ');
        quote_into(out, s);
        out.push('\n');
    }
}

/// A block mapping at `level`; when `continued`, the first line's indentation
/// was already written (after `- `).
fn mapping(out: &mut String, m: &serde_yaml_ng::Mapping, level: usize, continued: bool) {
    for (i, (k, v)) in m.iter().enumerate() {
        if i == 0 && continued {
            entry_here(out, k, v, level);
        } else {
            entry(out, k, v, level);
        }
    }
}

/// One entry of a block mapping at `level`, as [`document`] writes it.
pub fn entry(out: &mut String, k: &Value, v: &Value, level: usize) {
    indent(out, level);
    entry_here(out, k, v, level);
}

/// [`entry`] after its indentation.
fn entry_here(out: &mut String, k: &Value, v: &Value, level: usize) {
    key_here(out, k, level);
    value_after(out, v, level);
}

/// What [`entry`] writes after `key:` for `v` at `level`: the same for every
/// entry with that value, so made once for many keys ([`entry_after`]).
pub fn after_key(v: &Value, level: usize) -> String {
    let mut out = String::new();
    value_after(&mut out, v, level);
    out
}

/// [`entry`], the value's text made by [`after_key`] at the same level.
pub fn entry_after(out: &mut String, k: &Value, after: &str, level: usize) {
    indent(out, level);
    key_here(out, k, level);
    out.push_str(after);
}

/// `key:`, after the entry's indentation.
fn key_here(out: &mut String, k: &Value, level: usize) {
    key_written_here(out, |out| write_key(out, k), level);
}

/// `key:` for a string key, after the entry's indentation.
fn str_key_here(out: &mut String, k: &str, level: usize) {
    key_written_here(
        out,
        |out| {
            if plain_key(k) {
                out.push_str(k);
            } else {
                quote_into(out, k);
            }
        },
        level,
    );
}

/// `key:`, the key written by `write`.
fn key_written_here(out: &mut String, write: impl FnOnce(&mut String), level: usize) {
    // Written in place; a key past the limit (counted in characters only
    // when its bytes are) is turned into an explicit one after.
    let start = out.len();
    write(out);
    if out.len() - start > IMPLICIT_KEY_LIMIT && out[start..].chars().count() > IMPLICIT_KEY_LIMIT {
        out.insert_str(start, "? ");
        out.push('\n');
        indent(out, level);
    }
    out.push(':');
}

fn sequence(out: &mut String, s: &[Value], level: usize) {
    for item in s {
        indent(out, level);
        out.push('-');
        match item {
            Value::Mapping(m) if !m.is_empty() => {
                out.push(' ');
                mapping(out, m, level + 2, true);
            }
            v => value_after(out, v, level),
        }
    }
}

/// Whether a multi-line string reads the same in a literal block (`|`) in
/// every YAML version: only characters that stay as they are in double quotes,
/// line feeds between lines (no `\r`, which YAML normalizes), a first line that
/// starts with neither white space nor nothing (it sets the block's
/// indentation), no white space at the end of a line (editors strip it) and
/// at most one final line feed (chomping would change more).
fn literal(s: &str) -> bool {
    let body = s.strip_suffix('\n').unwrap_or(s);
    body.contains('\n')
        && !body.ends_with('\n')
        && !body.starts_with([' ', '\t', '\n'])
        && body
            .split('\n')
            .all(|line| !line.ends_with([' ', '\t']) && line.chars().all(|c| c == '\t' || raw(c)))
}

/// A mapping key: plain when it is an identifier-like word no YAML version
/// resolves to anything but a string, else double-quoted.
fn write_key(out: &mut String, k: &Value) {
    match k {
        Value::String(s) if plain_key(s) => out.push_str(s),
        other => write_scalar(out, other),
    }
}

fn plain_key(s: &str) -> bool {
    const WORDS: [&str; 9] = ["y", "n", "yes", "no", "on", "off", "true", "false", "null"];
    // Bytes, not characters: any byte of a character beyond ASCII fails the
    // test as the character does. No word is longer than five letters.
    const PLAIN: [bool; 256] = {
        let mut plain = [false; 256];
        let mut b = 0;
        while b < 256 {
            let c = b as u8;
            plain[b] = c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.' | b'/');
            b += 1;
        }
        plain
    };
    let bytes = s.as_bytes();
    matches!(bytes.first(), Some(c) if c.is_ascii_alphabetic() || *c == b'_')
        && bytes.iter().all(|&c| PLAIN[usize::from(c)])
        && (bytes.len() > 5 || !WORDS.iter().any(|w| w.eq_ignore_ascii_case(s)))
}

/// A scalar: `null`, `true`/`false`, a number, or a double-quoted string.
fn write_scalar(out: &mut String, v: &Value) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => match (n.as_i64(), n.as_u64()) {
            // Integers (ports, counts) written straight in, not through a string.
            (Some(i), _) => {
                let _ = write!(out, "{i}");
            }
            (None, Some(u)) => {
                let _ = write!(out, "{u}");
            }
            _ => out.push_str(&number(n)),
        },
        Value::String(s) => quote_into(out, s),
        Value::Tagged(t) => write_scalar(out, &t.value),
        Value::Mapping(_) => out.push_str("{}"),
        Value::Sequence(_) => out.push_str("[]"),
    }
}

/// Integers as digits; floats always with a `.` (YAML 1.1 needs one) and
/// never in exponent form.
fn number(n: &serde_yaml_ng::Number) -> String {
    if let Some(i) = n.as_i64() {
        return i.to_string();
    }
    if let Some(u) = n.as_u64() {
        return u.to_string();
    }
    n.as_f64().map_or_else(|| String::from("null"), float)
}

/// A float as [`number`] writes it.
fn float(f: f64) -> String {
    if f.is_nan() {
        String::from(".nan")
    } else if f.is_infinite() {
        String::from(if f > 0.0 { ".inf" } else { "-.inf" })
    } else {
        let text = format!("{f}");
        if text.contains('.') {
            text
        } else {
            format!("{text}.0")
        }
    }
}

/// A double-quoted YAML string. Printable characters stay as they are; quotes,
/// backslashes, control characters, the line and paragraph separators, the byte
/// order mark and anything YAML does not allow raw are escaped.
pub fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    quote_into(&mut out, s);
    out
}

/// [`quoted`], written into `out`: runs of characters that stay as they are
/// are copied at once.
fn quote_into(out: &mut String, s: &str) {
    out.push('"');
    // Most strings are printable ASCII with nothing to escape: one pass over
    // the bytes, then one copy.
    // The scan has no early exit, so it runs on whole vectors of bytes.
    let escaped = |b: u8| !matches!(b, b' '..=b'~') || b == b'"' || b == b'\\';
    if !s.bytes().fold(false, |seen, b| seen | escaped(b)) {
        out.push_str(s);
        out.push('"');
        return;
    }
    let mut run = 0;
    for (i, c) in s.char_indices() {
        if c != '"' && c != '\\' && raw(c) {
            continue;
        }
        out.push_str(&s[run..i]);
        run = i + c.len_utf8();
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\0' => out.push_str("\\0"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{b}' => out.push_str("\\v"),
            '\u{c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            '\u{1b}' => out.push_str("\\e"),
            c if (c as u32) <= 0xff => {
                let _ = write!(out, "\\x{:02X}", c as u32);
            }
            c => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
        }
    }
    out.push_str(&s[run..]);
    out.push('"');
}

/// Characters written as they are: printable ASCII and the printable
/// non-ASCII ranges, except the line and paragraph separators and the byte
/// order mark (YAML 1.1 treats the first two as line breaks).
fn raw(c: char) -> bool {
    match c {
        ' '..='~' => true,
        '\u{a0}'..='\u{d7ff}' => !matches!(c, '\u{2028}' | '\u{2029}'),
        '\u{e000}'..='\u{fffd}' => c != '\u{feff}',
        '\u{10000}'.. => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(k: &Value) -> String {
        let mut out = String::new();
        write_key(&mut out, k);
        out
    }

    fn map(entries: &[(&str, Value)]) -> Value {
        let mut m = serde_yaml_ng::Mapping::new();
        for (k, v) in entries {
            m.insert(Value::String((*k).to_string()), v.clone());
        }
        Value::Mapping(m)
    }

    #[test]
    fn strings_are_always_double_quoted_and_escaped() {
        assert_eq!(quoted("yes"), "\"yes\"");
        assert_eq!(quoted("22:22"), "\"22:22\"");
        assert_eq!(quoted("a\"b\\c"), "\"a\\\"b\\\\c\"");
        assert_eq!(quoted("l1\nl2\r\t"), "\"l1\\nl2\\r\\t\"");
        assert_eq!(
            quoted("a\u{2028}b\u{85}c\u{feff}"),
            "\"a\\u2028b\\x85c\\uFEFF\""
        );
        assert_eq!(quoted("é ü 日本"), "\"é ü 日本\"");
    }

    #[test]
    fn keys_are_plain_only_when_unambiguous() {
        assert_eq!(key(&Value::String("services".into())), "services");
        assert_eq!(
            key(&Value::String("org.bomc.source".into())),
            "org.bomc.source"
        );
        assert_eq!(key(&Value::String("on".into())), "\"on\"");
        assert_eq!(key(&Value::String("No".into())), "\"No\"");
        // The longest reserved word, and one letter more; a letter beyond
        // ASCII anywhere.
        assert_eq!(key(&Value::String("FALSE".into())), "\"FALSE\"");
        assert_eq!(key(&Value::String("falsey".into())), "falsey");
        assert_eq!(key(&Value::String("ab_é".into())), "\"ab_é\"");
        assert_eq!(key(&Value::String("é".into())), "\"é\"");
        assert_eq!(key(&Value::String("<<".into())), "\"<<\"");
        assert_eq!(key(&Value::String("0755".into())), "\"0755\"");
        assert_eq!(key(&Value::String("a: b".into())), "\"a: b\"");
    }

    #[test]
    fn block_layout() {
        let doc = map(&[
            ("name", Value::String("x".into())),
            (
                "list",
                Value::Sequence(vec![
                    Value::String("a".into()),
                    map(&[
                        ("k", Value::Number(1.into())),
                        ("m", map(&[("ok", Value::Bool(true))])),
                    ]),
                    Value::Sequence(vec![Value::String("nested".into())]),
                ]),
            ),
            ("empty", Value::Mapping(serde_yaml_ng::Mapping::new())),
            ("f", Value::Number(2.0.into())),
        ]);
        let text = document(&["head\nline".into()], &doc);
        assert_eq!(
            text,
            "# head line\nname: \"x\"\nlist:\n  - \"a\"\n  - k: 1\n    m:\n      ok: true\n  -\n    - \"nested\"\nempty: {}\nf: 2.0\n"
        );
    }

    #[test]
    fn a_document_with_entries_made_apart_is_the_whole_document() {
        let inner = |n: i64| map(&[("k", Value::Number(n.into())), ("on", Value::Null)]);
        let whole = |entries: &[(&str, Value)]| {
            map(&[
                ("name", Value::String("x".into())),
                ("services", map(entries)),
                ("z", Value::Sequence(vec![Value::String("a".into())])),
            ])
        };
        let entries = [
            ("a", inner(1)),
            ("b", Value::String("s".into())),
            ("c", inner(2)),
        ];
        let apart = entries.iter().map(|(k, v)| {
            let mut text = String::new();
            entry(&mut text, &Value::String((*k).to_string()), v, 2);
            text
        });
        // The same entries, each value's text made once and written after
        // its key.
        let after: Vec<String> = entries
            .iter()
            .map(|(k, v)| {
                let mut text = String::new();
                entry_after(
                    &mut text,
                    &Value::String((*k).to_string()),
                    &after_key(v, 2),
                    2,
                );
                text
            })
            .collect();
        assert_eq!(after, apart.clone().collect::<Vec<_>>());
        let comment = [String::from("c")];
        let apart_document = |entries: &[String]| {
            let mut doc = Document::new(&comment, 0);
            doc.entry(&Value::String("name".into()), &Value::String("x".into()));
            doc.entries(&Value::String("services".into()), |out| {
                entries.iter().for_each(|e| out.push_str(e))
            });
            doc.entry(
                &Value::String("z".into()),
                &Value::Sequence(vec![Value::String("a".into())]),
            );
            doc.finish()
        };
        assert_eq!(
            apart_document(&apart.collect::<Vec<_>>()),
            document(&comment, &whole(&entries))
        );
        assert_eq!(apart_document(&[]), document(&comment, &whole(&[])));
        assert!(document(&comment, &whole(&[])).contains("\nservices: {}\n"));
    }

    #[test]
    fn multi_line_strings_are_literal_blocks_only_when_exact() {
        let doc = map(&[
            ("a", Value::String("one\n# two\n\n---\n".into())),
            ("b", Value::String("x\ny".into())),
            ("c", Value::String("x\r\ny".into())),
            ("d", Value::String(" x\ny".into())),
            ("d2", Value::String("x\n  y\n\tz".into())),
            ("e", Value::String("x \ny".into())),
            ("f", Value::String("x\ny\n\n".into())),
        ]);
        assert_eq!(
            document(&[], &doc),
            "a: |\n  one\n  # two\n\n  ---\nb: |-\n  x\n  y\nc: \"x\\r\\ny\"\nd: \" x\\ny\"\nd2: |-\n  x\n    y\n  \tz\ne: \"x \\ny\"\nf: \"x\\ny\\n\\n\"\n"
        );
    }

    #[test]
    fn long_keys_are_explicit() {
        let long = "K".repeat(1200);
        let text = document(&[], &map(&[(&long, Value::String("v".into()))]));
        assert_eq!(text, format!("? {long}\n: \"v\"\n"));
    }
}

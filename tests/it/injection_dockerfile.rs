//! Injection into Dockerfiles, as a property: arbitrary strings go into
//! every string setting of an image definition that reaches its Dockerfile
//! (a build argument, a label's key and value, a step, the entrypoint, the
//! command, an `onbuild` RUN) and into the health command of the component
//! built from it. Read back by a strict reader that follows Docker's parser
//! (BuildKit's `parser` and `shell` packages), each Dockerfile has the same
//! instructions as with a harmless string and each value comes back
//! unchanged — or bomc refuses the value with a diagnostic, exactly when
//! Docker could not read it back (a line break or control character in a
//! LABEL or ARG, an `=` in a label key, what hadolint misreads).

use super::injection::{literal, text};
use proptest::prelude::*;
use std::collections::BTreeMap;

/// An instruction's arguments as Docker reads them.
#[derive(Clone, Debug, PartialEq)]
enum Args {
    /// An exec-form JSON array.
    Exec(Vec<String>),
    /// Shell form or plain words, kept as written.
    Text(String),
    /// `NAME=value` pairs (LABEL, ARG), keys and values unquoted.
    Pairs(Vec<(String, String)>),
    /// HEALTHCHECK: its options and its command.
    Health(Vec<String>, Box<Args>),
    /// ONBUILD: the instruction it holds.
    Onbuild(Box<Instruction>),
}

#[derive(Clone, Debug, PartialEq)]
struct Instruction {
    keyword: String,
    args: Args,
}

impl Instruction {
    /// The keyword, and the nested one of an ONBUILD.
    fn kind(&self) -> String {
        match &self.args {
            Args::Onbuild(i) => format!("ONBUILD {}", i.kind()),
            _ => self.keyword.clone(),
        }
    }
}

use crate::build_dockerfile::KEYWORDS;

/// Characters Docker's parser treats as a line end or that no Dockerfile
/// line should hold (the emitter's own rule).
fn unsafe_char(c: char) -> bool {
    c.is_control() || matches!(c, '\u{2028}' | '\u{2029}')
}

/// Reads a Dockerfile as BuildKit's parser does: lines split at `\n`;
/// comment lines dropped, also inside a continuation; a line ending in `\`
/// (then blanks) continues on the next. Strict: a `\r`, a parser directive,
/// an unknown keyword or an argument bomc would not write is an error.
fn read(text: &str) -> Result<Vec<Instruction>, String> {
    if text.contains('\r') {
        return Err(String::from("a carriage return"));
    }
    let mut out = Vec::new();
    let mut current: Option<String> = None;
    for (n, raw) in text.split('\n').enumerate() {
        let line = raw.trim_start();
        if let Some(comment) = line.strip_prefix('#') {
            if n == 0 || out.is_empty() {
                // Before the first instruction, `# name=value` is a directive.
                let d = comment.trim_start();
                if let Some((name, _)) = d.split_once('=')
                    && !name.trim().is_empty()
                    && name.trim().chars().all(|c| c.is_ascii_alphabetic())
                {
                    return Err(format!("a parser directive: {raw:?}"));
                }
            }
            continue;
        }
        if line.is_empty() && current.is_none() {
            continue;
        }
        let body = line.trim_end_matches([' ', '\t']);
        let (body, continued) = match body.strip_suffix('\\') {
            Some(b) => (b, true),
            None => (line, false),
        };
        current.get_or_insert_with(String::new).push_str(body);
        if !continued {
            let whole = current.take().unwrap_or_default();
            out.push(instruction(whole.trim())?);
        }
    }
    if current.is_some() {
        return Err(String::from("the file ends inside a continuation"));
    }
    Ok(out)
}

fn instruction(line: &str) -> Result<Instruction, String> {
    let (keyword, rest) = line
        .split_once(|c: char| c.is_whitespace())
        .unwrap_or((line, ""));
    let rest = rest.trim();
    if !KEYWORDS.contains(&keyword) {
        return Err(format!("unknown instruction {keyword:?} in {line:?}"));
    }
    let args = match keyword {
        "LABEL" => Args::Pairs(
            words(rest)?
                .iter()
                .map(|w| {
                    // Docker cuts every word at its first `=`, quoted or not.
                    let (k, v) = w.split_once('=').ok_or(format!("no `=` in {w:?}"))?;
                    Ok((unquote(k)?, unquote(v)?))
                })
                .collect::<Result<_, String>>()?,
        ),
        "ARG" => Args::Pairs(
            words(rest)?
                .iter()
                .map(|w| {
                    let (k, v) = w.split_once('=').unwrap_or((w, ""));
                    if !k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                        return Err(format!("ARG name {k:?}"));
                    }
                    Ok((k.to_string(), unquote(v)?))
                })
                .collect::<Result<_, String>>()?,
        ),
        "RUN" | "CMD" | "ENTRYPOINT" if rest.starts_with('[') => Args::Exec(exec(rest)?),
        "HEALTHCHECK" if rest != "NONE" => {
            let mut options = Vec::new();
            let mut tail = rest;
            while let Some(option) = tail.strip_prefix("--") {
                let (word, after) = option.split_once(' ').ok_or("HEALTHCHECK without CMD")?;
                options.push(word.to_string());
                tail = after.trim_start();
            }
            let cmd = tail
                .strip_prefix("CMD ")
                .ok_or(format!("HEALTHCHECK {rest:?}"))?;
            Args::Health(options, Box::new(Args::Exec(exec(cmd)?)))
        }
        "ONBUILD" => Args::Onbuild(Box::new(instruction(rest)?)),
        _ => Args::Text(rest.to_string()),
    };
    Ok(Instruction {
        keyword: keyword.to_string(),
        args,
    })
}

/// An exec form: a JSON array of strings, or an error (Docker would run the
/// text through a shell instead).
fn exec(rest: &str) -> Result<Vec<String>, String> {
    serde_json::from_str(rest).map_err(|e| format!("{rest:?} is not a JSON array: {e}"))
}

/// BuildKit's `parseWords`: words split at whitespace outside quotes, the
/// quotes and escapes kept for the shell lexer.
fn words(rest: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quote: Option<char> = None;
    let mut in_word = false;
    let mut chars = rest.chars().peekable();
    while let Some(c) = chars.next() {
        match quote {
            None if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
                continue;
            }
            None => {
                in_word = true;
                if c == '"' || c == '\'' {
                    quote = Some(c);
                }
                if c == '\\' {
                    // A backslash ending the text is dropped.
                    if let Some(n) = chars.next() {
                        word.push(c);
                        word.push(n);
                    }
                    continue;
                }
            }
            Some(q) => {
                if c == q {
                    quote = None;
                } else if c == '\\' && q != '\'' {
                    word.push(c);
                    if let Some(n) = chars.next() {
                        word.push(n);
                    }
                    continue;
                }
            }
        }
        word.push(c);
    }
    if quote.is_some() {
        return Err(format!("an unclosed quote in {rest:?}"));
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

/// The shell lexer on one word, as bomc writes them: a double-quoted word
/// (`\"`, `\\` and `\$` stand for the character; any other backslash stays)
/// or plain characters. Anything Docker would expand (`$`) or a quote
/// left open is an error.
fn unquote(word: &str) -> Result<String, String> {
    let Some(inner) = word.strip_prefix('"') else {
        if word.contains(['$', '"', '\'', '\\']) {
            return Err(format!("an unquoted word Docker would interpret: {word:?}"));
        }
        return Ok(word.to_string());
    };
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                let rest: String = chars.collect();
                return if rest.is_empty() {
                    Ok(out)
                } else {
                    Err(format!("text after the closing quote in {word:?}"))
                };
            }
            '$' => return Err(format!("Docker would expand `$` in {word:?}")),
            '\\' => match chars.next() {
                Some(n @ ('"' | '\\' | '$')) => out.push(n),
                Some(n) => {
                    out.push('\\');
                    out.push(n);
                }
                None => return Err(format!("a backslash at the end of {word:?}")),
            },
            c => out.push(c),
        }
    }
    Err(format!("an unclosed quote in {word:?}"))
}

/// The landscape: `value` in every setting written as an exec-form array,
/// `word` as a build argument and a label's value, `key` as the label's key.
fn source(value: &str, word: &str, key: &str) -> String {
    let lit = literal(value);
    let word = literal(word);
    let onbuild = serde_json::to_string(&["/bin/sh", "-c", value]).expect("JSON");
    let onbuild = literal(&format!("RUN {onbuild}"));
    let key = literal(key);
    format!(
        "landscape inject {{
  service app {{
    build = img
    ports {{ http = 8080 }}
    health {{ command = [\"/bin/check\", {lit}] }}
  }}
}}

image base_img {{
  from = \"debian:12.5-slim\"
  onbuild = [{onbuild}]
}}

image img {{
  from = base_img
  args {{ A = {word} }}
  labels {{ {key} = {word} }}
  steps = [{lit}]
  entrypoint = [\"/bin/app\", {lit}]
  command = [{lit}]
}}
"
    )
}

/// The Dockerfiles of the landscape (image name → text), or the
/// diagnostics' text.
fn dockerfiles(value: &str, word: &str, key: &str) -> Result<BTreeMap<String, String>, String> {
    let source = source(value, word, key);
    let plan = crate::injection::plan_of(&source);
    let targets = [bomc::emit::Target::Dockerfile];
    match bomc::build(&plan, &targets, &bomc::emit::EmitOptions::default()) {
        Ok(artifacts) => Ok(artifacts
            .into_iter()
            .filter_map(|a| {
                let name = a
                    .path
                    .strip_prefix("images/")?
                    .strip_suffix("/Dockerfile")?;
                Some((name.to_string(), a.contents))
            })
            .collect()),
        Err(diags) => Err(diags
            .iter()
            .map(|d| format!("{}: {}", d.code.code(), d.message))
            .collect::<Vec<_>>()
            .join("\n")),
    }
}

/// Whether Docker (or hadolint, which bomc's Dockerfiles pass) could not
/// read the label back as written: what bomc must refuse.
fn unreadable_label(key: &str, value: &str) -> bool {
    let lintable = |s: &str| !s.ends_with('\\') && !s.contains("\\\"");
    key.trim().is_empty()
        || key.starts_with("org.bomc.")
        || key.contains('=')
        || key.chars().chain(value.chars()).any(unsafe_char)
        || !lintable(key)
        || !lintable(value)
}

/// Any text half the time; else without what a label cannot hold, so that
/// most cases get past the refusals to the reading back.
fn one_line() -> impl Strategy<Value = String> {
    prop_oneof![
        text(),
        text().prop_map(|s| s
            .chars()
            .filter(|c| !unsafe_char(*c) && *c != '=')
            .collect()),
    ]
}

fn all<'a>(text: &'a [Instruction], keyword: &'a str) -> impl Iterator<Item = &'a Args> {
    text.iter()
        .filter(move |i| i.keyword == keyword)
        .map(|i| &i.args)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_strings_stay_data_in_dockerfiles(value in text(), word in one_line(), key in one_line()) {
        let reference = dockerfiles("v", "w", "k").expect("the harmless landscape builds");
        let files = match dockerfiles(&value, &word, &key) {
            Ok(files) => files,
            Err(errors) => {
                prop_assert!(
                    unreadable_label(&key, &word),
                    "refused a value Docker reads back:\n{}", errors
                );
                let arg_refused = word.chars().any(unsafe_char);
                prop_assert!(
                    errors.lines().all(|l| l.starts_with("E0316: ")
                        && (l.contains("label") || (arg_refused && l.contains("build argument `A`")))),
                    "{}", errors
                );
                prop_assert_eq!(errors.contains("build argument `A`"), arg_refused, "{}", errors);
                return Ok(());
            }
        };
        prop_assert!(!unreadable_label(&key, &word), "accepted a label Docker cannot read back");
        prop_assert_eq!(files.keys().collect::<Vec<_>>(), reference.keys().collect::<Vec<_>>());
        for (image, text) in &files {
            let got = read(text).map_err(|e| TestCaseError::fail(format!("{image}: {e}\n{text}")))?;
            let want = read(&reference[image]).expect("the reference reads");
            let kinds = |i: &[Instruction]| i.iter().map(Instruction::kind).collect::<Vec<_>>();
            prop_assert_eq!(kinds(&got), kinds(&want), "{}:\n{}", image, text);
        }

        let base = read(&files["base_img"]).expect("read");
        let onbuild: Vec<&Args> = all(&base, "ONBUILD").collect();
        let planted = Args::Onbuild(Box::new(Instruction {
            keyword: "RUN".into(),
            args: Args::Exec(vec!["/bin/sh".into(), "-c".into(), value.clone()]),
        }));
        prop_assert!(onbuild.contains(&&planted), "{:?}", onbuild);

        let img = read(&files["img"]).expect("read");
        let labels: BTreeMap<String, String> = all(&img, "LABEL")
            .flat_map(|a| match a {
                Args::Pairs(p) => p.clone(),
                _ => Vec::new(),
            })
            .collect();
        prop_assert_eq!(labels.get(&key), Some(&word));
        prop_assert_eq!(
            all(&img, "ARG").cloned().collect::<Vec<_>>(),
            vec![Args::Pairs(vec![("A".into(), word.clone())])]
        );
        prop_assert!(
            all(&img, "RUN").any(|a| *a == Args::Exec(vec!["/bin/sh".into(), "-c".into(), value.clone()])),
            "the step is not a RUN"
        );
        prop_assert_eq!(
            all(&img, "ENTRYPOINT").cloned().collect::<Vec<_>>(),
            vec![Args::Exec(vec!["/bin/app".into(), value.clone()])]
        );
        prop_assert_eq!(
            all(&img, "CMD").cloned().collect::<Vec<_>>(),
            vec![Args::Exec(vec![value.clone()])]
        );
        let health: Vec<&Args> = all(&img, "HEALTHCHECK").collect();
        prop_assert!(
            matches!(health.as_slice(), [Args::Health(_, cmd)] if **cmd == Args::Exec(vec!["/bin/check".into(), value.clone()])),
            "{:?}", health
        );
    }
}

#[test]
fn the_reader_is_strict() {
    // What the property relies on the reader to catch.
    assert!(read("FROM a\nLABEL \"a=b\"=\"c\"\n").is_err());
    assert!(read("FROM a\nLABEL \"a\"=\"$HOME\"\n").is_err());
    assert!(read("FROM a\nARG A=\"x\ny\"\n").is_err());
    assert!(read("# escape=`\nFROM a\n").is_err());
    assert!(read("FROM a\nRUN [\"a\", \n").is_err());
    assert!(read("FROM a\nCURL x\n").is_err());
    assert_eq!(
        read("FROM a\nLABEL \"k \\\"q\\\\\"=\"v\\$ \\n\"\n").expect("reads")[1].args,
        Args::Pairs(vec![("k \"q\\".into(), "v$ \\n".into())])
    );
}

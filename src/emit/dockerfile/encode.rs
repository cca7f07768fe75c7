//! Encoding values from `.bom` files so they stay data in a Dockerfile (and
//! in the build script): JSON arrays for commands, quoted labels and args,
//! checked ONBUILD instructions, shell quoting.

// ---------------------------------------------------------------------------
// Values from the .bom file

pub(super) fn is_identifier(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `1.22.1`, `3.3.0-bookworm`: starts with a digit; letters, digits, `._-`.
pub(super) fn is_version(s: &str) -> bool {
    s.len() <= 128
        && s.starts_with(|c: char| c.is_ascii_digit())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// A pinned image reference made only of characters with no meaning to a
/// Dockerfile (no `$`, quotes, spaces, `#` or `\`).
pub(super) fn base_reference(s: &str) -> bool {
    s.len() <= 512
        && s.starts_with(|c: char| c.is_ascii_alphanumeric())
        && s.chars().all(|c| {
            c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '/' | ':' | '@' | '+')
        })
        && crate::check::types::is_pinned(s)
}

/// A path in an `onbuild` COPY or WORKDIR: no `$`, quotes, `\` or spaces,
/// which COPY and WORKDIR would interpret.
pub(super) fn is_plain_path(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with('-')
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "._/*?@+=:,~%-".contains(c))
}

/// One `onbuild` entry as a safe instruction (without `ONBUILD`), or a help line.
pub(super) fn onbuild_instruction(text: &str) -> Result<String, String> {
    const SUPPORTED: &str =
        "`onbuild` takes RUN, COPY, WORKDIR, ENV and EXPOSE instructions, one per entry";
    let text = text.trim();
    if text.chars().any(char::is_control) {
        return Err(String::from(
            "an `onbuild` entry is one instruction on one line",
        ));
    }
    let (keyword, rest) = text.split_once(char::is_whitespace).unwrap_or((text, ""));
    let rest = rest.trim();
    if rest.is_empty() {
        return Err(format!("{SUPPORTED}, each with its arguments"));
    }
    match keyword.to_ascii_uppercase().as_str() {
        "RUN" => {
            let argv = if rest.starts_with('[') {
                serde_json::from_str::<Vec<String>>(rest)
                    .map_err(|_| String::from("`RUN [...]` takes a JSON array of strings"))?
            } else {
                vec![
                    String::from("/bin/sh"),
                    String::from("-c"),
                    rest.to_string(),
                ]
            };
            if argv.is_empty() {
                return Err(String::from("`RUN []` runs nothing"));
            }
            Ok(format!("RUN {}", json_array(&argv)))
        }
        "COPY" => {
            let (flags, paths): (Vec<String>, Vec<String>) = if rest.starts_with('[') {
                let paths = serde_json::from_str::<Vec<String>>(rest)
                    .map_err(|_| String::from("`COPY [...]` takes a JSON array of strings"))?;
                (Vec::new(), paths)
            } else {
                let words: Vec<&str> = rest.split_whitespace().collect();
                let n = words.iter().take_while(|w| w.starts_with("--")).count();
                (
                    words[..n].iter().map(|w| w.to_string()).collect(),
                    words[n..].iter().map(|w| w.to_string()).collect(),
                )
            };
            for flag in &flags {
                if !copy_flag(flag) {
                    return Err(format!(
                        "COPY flag {flag:?} is not supported here: use `--chown=UID:GID`, `--chmod=0755` or `--link`"
                    ));
                }
            }
            if paths.len() < 2 {
                return Err(String::from(
                    "COPY takes at least a source and a destination",
                ));
            }
            if let Some(bad) = paths.iter().find(|p| !is_plain_path(p)) {
                return Err(format!(
                    "COPY path {bad:?} holds characters a Dockerfile would interpret: use letters, digits and `._/*?@+=:,~%-`"
                ));
            }
            let mut out = String::from("COPY ");
            for flag in &flags {
                out.push_str(flag);
                out.push(' ');
            }
            out.push_str(&json_array(&paths));
            Ok(out)
        }
        "WORKDIR" => {
            if rest.starts_with('/') && is_plain_path(rest) {
                Ok(format!("WORKDIR {rest}"))
            } else {
                Err(String::from(
                    "WORKDIR takes an absolute path of letters, digits and `._/*?@+=:,~%-`",
                ))
            }
        }
        "ENV" => {
            let (key, value) = match rest.split_once('=') {
                Some((k, v)) if !k.contains(char::is_whitespace) => (k, v),
                _ => rest.split_once(char::is_whitespace).unwrap_or((rest, "")),
            };
            if !is_identifier(key) {
                return Err(String::from(
                    "ENV takes `NAME=value`, NAME of letters, digits and `_`",
                ));
            }
            let value = value.trim();
            let value = value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(value);
            if !lintable(value) {
                return Err(String::from(
                    "an ENV value with a backslash before a quote or at the end is misread by hadolint: drop the backslash",
                ));
            }
            Ok(format!("ENV {key}={}", quoted(value)))
        }
        "EXPOSE" => {
            let ports: Vec<&str> = rest.split_whitespace().collect();
            let ok = ports.iter().all(|p| {
                let (n, proto) = p.split_once('/').unwrap_or((p, "tcp"));
                matches!(proto, "tcp" | "udp") && n.parse::<u16>().is_ok_and(|n| n > 0)
            });
            if ok {
                Ok(format!("EXPOSE {}", ports.join(" ")))
            } else {
                Err(String::from(
                    "EXPOSE takes port numbers, optionally with `/tcp` or `/udp`",
                ))
            }
        }
        _ => Err(SUPPORTED.to_string()),
    }
}

pub(super) fn copy_flag(flag: &str) -> bool {
    if flag == "--link" {
        return true;
    }
    if let Some(owner) = flag.strip_prefix("--chown=") {
        let mut parts = owner.split(':');
        let ok = |p: Option<&str>| {
            p.is_some_and(|p| {
                !p.is_empty() && p.len() <= 10 && p.chars().all(|c| c.is_ascii_digit())
            })
        };
        let (u, g, extra) = (parts.next(), parts.next(), parts.next());
        return ok(u) && (g.is_none() || ok(g)) && extra.is_none();
    }
    if let Some(mode) = flag.strip_prefix("--chmod=") {
        return (3..=4).contains(&mode.len()) && mode.chars().all(|c| ('0'..='7').contains(&c));
    }
    false
}

// ---------------------------------------------------------------------------
// Encoding

/// Characters a Dockerfile line cannot hold: controls and Unicode line breaks.
pub(super) fn unsafe_char(c: char) -> bool {
    c.is_control() || matches!(c, '\u{2028}' | '\u{2029}')
}

/// `a line break (U+000A)`: a character a line cannot hold, for a diagnostic.
pub(super) fn char_name(c: char) -> String {
    let what = match c {
        '\n' | '\r' | '\u{2028}' | '\u{2029}' | '\u{85}' => "a line break",
        '\t' => "a tab",
        _ => "a control character",
    };
    format!("{what} (U+{:04X})", c as u32)
}

/// `\n`, `\u0007`: the JSON escape text of a character a line cannot hold.
pub(super) fn escape_text(c: char, out: &mut String) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c => {
            let mut buf = [0u16; 2];
            for unit in c.encode_utf16(&mut buf) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
}

/// A JSON string for an exec-form array. Docker reads it with a JSON decoder
/// and no shell, so no character in it means anything to the Dockerfile; a
/// backslash is written `\u005c`, which hadolint also reads correctly.
pub(super) fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\u005c"),
            c if unsafe_char(c) => escape_text(c, &mut out),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `["a", "b"]`: an exec-form argument list.
pub(super) fn json_array(items: &[String]) -> String {
    let parts: Vec<String> = items.iter().map(|s| json_string(s)).collect();
    format!("[{}]", parts.join(", "))
}

/// A double-quoted Dockerfile word (LABEL, ARG, ENV): Docker reads `\"`, `\\`
/// and `\$` as the characters themselves and expands nothing. Characters a
/// line cannot hold are refused before a value gets here (Docker would keep
/// escape text as its characters, not as a newline); writing them as escape
/// text is only the guard that keeps the line whole.
pub(super) fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' | '\\' | '$' => {
                out.push('\\');
                out.push(c);
            }
            c if unsafe_char(c) => escape_text(c, &mut out),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Whether hadolint reads `quoted(s)` in a LABEL or ENV line as Docker does:
/// it misreads an escaped backslash right before a quote (`"a\\"`, `"\\\""`).
pub(super) fn lintable(s: &str) -> bool {
    !s.ends_with('\\') && !s.contains("\\\"")
}

/// Text for a comment line: one line, and no linter directives.
pub(super) fn comment(s: &str) -> String {
    let line: String = s
        .chars()
        .map(|c| if unsafe_char(c) { ' ' } else { c })
        .collect();
    let line = line
        .replace("checkov:", "checkov :")
        .replace("hadolint ", "hadolint: ");
    line.trim_end()
        .trim_end_matches('\\')
        .trim_end()
        .to_string()
}

/// A single-quoted shell word.
pub(super) fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

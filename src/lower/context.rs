//! A build context as Docker sends it, reduced to a digest: every file,
//! symbolic link and directory under the context folder that `.dockerignore`
//! does not exclude, in sorted order, with its contents. Image tags hash it
//! (see `image.rs`), so a change to anything the build can see changes the
//! tag, and nothing else does.
//!
//! `.dockerignore` follows Docker's rules ("Dockerfile reference",
//! *.dockerignore file*): one pattern per line, `#` starts a comment, a
//! leading `/` is ignored, `*` and `?` match within one path segment,
//! `[...]` is a character class, `**` matches any number of directories,
//! `!` re-includes, the last matching line wins, and a pattern that matches a
//! directory excludes everything under it.

use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// One `.dockerignore` line.
struct Pattern {
    negate: bool,
    segments: Vec<String>,
}

fn patterns(text: &str) -> Vec<Pattern> {
    let mut out = Vec::new();
    for line in text.lines() {
        if line.starts_with('#') {
            continue;
        }
        let mut line = line.trim();
        let negate = line.starts_with('!');
        if negate {
            line = line[1..].trim();
        }
        let segments: Vec<String> = line
            .split('/')
            .filter(|s| !s.is_empty() && *s != ".")
            .map(String::from)
            .collect();
        if segments.is_empty() {
            continue;
        }
        out.push(Pattern { negate, segments });
    }
    out
}

/// Glob match of one path segment: `*`, `?`, `[...]` (with `^` or `!`
/// negation and ranges) and `\` escapes.
fn segment_matches(pattern: &[char], text: &[char]) -> bool {
    match pattern.first() {
        None => text.is_empty(),
        Some('*') => {
            let rest = &pattern[1..];
            (0..=text.len()).any(|i| segment_matches(rest, &text[i..]))
        }
        Some('?') => !text.is_empty() && segment_matches(&pattern[1..], &text[1..]),
        Some('[') => {
            let Some(&c) = text.first() else {
                return false;
            };
            let mut i = 1;
            let negated = matches!(pattern.get(1), Some('^' | '!'));
            if negated {
                i += 1;
            }
            let mut matched = false;
            let mut first = true;
            while i < pattern.len() && (first || pattern[i] != ']') {
                first = false;
                let lo = pattern[i];
                if pattern.get(i + 1) == Some(&'-') && pattern.get(i + 2).is_some_and(|h| *h != ']')
                {
                    let hi = pattern[i + 2];
                    matched |= lo <= c && c <= hi;
                    i += 3;
                } else {
                    matched |= lo == c;
                    i += 1;
                }
            }
            if i >= pattern.len() {
                // No closing bracket: Docker rejects the pattern; match nothing.
                return false;
            }
            matched != negated && segment_matches(&pattern[i + 1..], &text[1..])
        }
        Some('\\') if pattern.len() > 1 => {
            text.first() == Some(&pattern[1]) && segment_matches(&pattern[2..], &text[1..])
        }
        Some(p) => text.first() == Some(p) && segment_matches(&pattern[1..], &text[1..]),
    }
}

fn path_matches(pattern: &[String], path: &[&str]) -> bool {
    match pattern.first() {
        None => path.is_empty(),
        Some(s) if s == "**" => (0..=path.len()).any(|i| path_matches(&pattern[1..], &path[i..])),
        Some(s) => {
            let Some(first) = path.first() else {
                return false;
            };
            let p: Vec<char> = s.chars().collect();
            let t: Vec<char> = first.chars().collect();
            segment_matches(&p, &t) && path_matches(&pattern[1..], &path[1..])
        }
    }
}

/// Whether `.dockerignore` excludes the path (`/`-separated, relative to the
/// context): the last pattern matching it or one of its parent folders decides.
fn excluded(patterns: &[Pattern], path: &str) -> bool {
    let segments: Vec<&str> = path.split('/').collect();
    let mut out = false;
    for p in patterns {
        let hit = (1..=segments.len()).any(|n| path_matches(&p.segments, &segments[..n]));
        if hit {
            out = !p.negate;
        }
    }
    out
}

/// An entry of the context.
enum Entry {
    Dir,
    File {
        executable: bool,
        digest: String,
        len: u64,
    },
    Link(String),
    Unreadable,
    /// Not a regular file, a folder or a link: listed, never opened.
    Special,
}

fn file_digest(path: &Path) -> Option<(String, u64)> {
    use std::io::Read;
    let mut file = std::fs::File::open(path).ok()?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 64 * 1024];
    let mut len = 0u64;
    loop {
        let n = file.read(&mut buffer).ok()?;
        if n == 0 {
            break;
        }
        len += n as u64;
        hasher.update(&buffer[..n]);
    }
    Some((hex(&hasher.finalize()), len))
}

/// The bytes of `path` if it is a regular file (after links): never opens a
/// FIFO or a device, which could block or never end.
pub(super) fn regular_file(path: &Path) -> Option<Vec<u8>> {
    if !std::fs::metadata(path).ok()?.is_file() {
        return None;
    }
    std::fs::read(path).ok()
}

pub(super) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(unix)]
fn is_executable(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o111 != 0
}

#[cfg(not(unix))]
fn is_executable(_: &std::fs::Metadata) -> bool {
    false
}

fn walk(
    dir: &Path,
    prefix: &str,
    ignore: &[Pattern],
    skip: &[PathBuf],
    out: &mut Vec<(String, Entry)>,
) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let negations = ignore.iter().any(|p| p.negate);
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let rel = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        let path = entry.path();
        if skip.iter().any(|s| same_file(s, &path)) {
            continue;
        }
        let is_excluded = excluded(ignore, &rel);
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            if !is_excluded {
                out.push((rel, Entry::Unreadable));
            }
            continue;
        };
        if meta.file_type().is_symlink() {
            if !is_excluded {
                let target = std::fs::read_link(&path)
                    .map(|t| t.to_string_lossy().into_owned())
                    .unwrap_or_default();
                out.push((rel, Entry::Link(target)));
            }
        } else if meta.is_dir() {
            // An excluded folder can still hold re-included files.
            if !is_excluded {
                out.push((rel.clone(), Entry::Dir));
            }
            if !is_excluded || negations {
                walk(&path, &rel, ignore, skip, out);
            }
        } else if !is_excluded && !meta.is_file() {
            // A FIFO, socket or device: opening one can block or never end.
            out.push((rel, Entry::Special));
        } else if !is_excluded {
            let entry = match file_digest(&path) {
                Some((digest, len)) => Entry::File {
                    executable: is_executable(&meta),
                    digest,
                    len,
                },
                None => Entry::Unreadable,
            };
            out.push((rel, entry));
        }
    }
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// The digest text of a build context folder: one line per entry Docker
/// would send, sorted by path. `skip` lists folders left out (bomc's own
/// output folder, whose files name the tags being computed). A folder that
/// does not exist is one line saying so.
pub(super) fn digest(dir: &Path, skip: &[PathBuf]) -> String {
    if !dir.is_dir() {
        return String::from("missing\n");
    }
    let ignore = regular_file(&dir.join(".dockerignore"))
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .map(|text| patterns(&text))
        .unwrap_or_default();
    let mut entries = Vec::new();
    walk(dir, "", &ignore, skip, &mut entries);
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    let mut text = String::new();
    for (path, entry) in entries {
        let path = path.escape_debug();
        match entry {
            Entry::Dir => text.push_str(&format!("dir {path}\n")),
            Entry::File {
                executable,
                digest,
                len,
            } => text.push_str(&format!(
                "file {path} {len} {} {digest}\n",
                if executable { "x" } else { "-" }
            )),
            Entry::Link(target) => {
                text.push_str(&format!("link {path} {}\n", target.escape_debug()))
            }
            Entry::Unreadable => text.push_str(&format!("unreadable {path}\n")),
            Entry::Special => text.push_str(&format!("special {path}\n")),
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ignored(rules: &str, path: &str) -> bool {
        excluded(&patterns(rules), path)
    }

    #[test]
    fn dockerignore_follows_dockers_rules() {
        assert!(ignored("*.md", "README.md"));
        assert!(!ignored("*.md", "docs/a.md"));
        assert!(ignored("**/*.md", "docs/a.md"));
        assert!(ignored("**/*.md", "a.md"));
        assert!(ignored("node_modules", "node_modules/x/y.js"));
        assert!(ignored("/tmp", "tmp/a"));
        assert!(ignored("*.md\n!README.md\n", "CHANGES.md"));
        assert!(!ignored("*.md\n!README.md\n", "README.md"));
        assert!(ignored("!README.md\n*.md\n", "README.md"));
        assert!(ignored("temp?", "temp1"));
        assert!(!ignored("temp?", "temp12"));
        assert!(ignored("[a-c]x", "bx"));
        assert!(!ignored("[!a-c]x", "bx"));
        assert!(!ignored("# comment\n", "# comment"));
        assert!(ignored(".git\n", ".git/HEAD"));
        assert!(ignored("a/**/b", "a/b"));
        assert!(ignored("a/**/b", "a/x/y/b"));
    }

    #[test]
    fn digest_lists_what_docker_sends() {
        let dir = std::env::temp_dir().join(format!("bomc-context-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("src")).expect("dir");
        std::fs::create_dir_all(dir.join("out/x")).expect("dir");
        std::fs::write(dir.join("src/main.go"), "package main\n").expect("write");
        std::fs::write(dir.join("notes.md"), "x").expect("write");
        std::fs::write(dir.join(".dockerignore"), "*.md\n").expect("write");
        let text = digest(&dir, &[dir.join("out")]);
        assert!(text.contains("file src/main.go 13 "), "{text}");
        assert!(text.contains("dir src\n"), "{text}");
        assert!(!text.contains("notes.md"), "{text}");
        assert!(!text.contains("out"), "{text}");
        let before = text;
        std::fs::write(dir.join("notes.md"), "changed").expect("write");
        assert_eq!(digest(&dir, &[dir.join("out")]), before);
        std::fs::write(dir.join("src/main.go"), "package main // changed\n").expect("write");
        assert_ne!(digest(&dir, &[dir.join("out")]), before);
        assert_eq!(digest(&dir.join("nothing"), &[]), "missing\n");
        let _ = std::fs::remove_dir_all(&dir);
    }
}

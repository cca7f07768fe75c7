//! Source files and spans. Every AST node and every diagnostic points into a
//! [`SourceMap`] through a small, copyable [`Span`].

use std::path::{Component as PathPart, Path, PathBuf};

/// Index of a file in the [`SourceMap`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct FileId(pub u32);

/// A byte range in one source file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Span {
    pub file: FileId,
    pub start: u32,
    pub end: u32,
}

impl Span {
    pub fn new(file: FileId, start: usize, end: usize) -> Self {
        Span {
            file,
            start: start as u32,
            end: end as u32,
        }
    }

    pub fn len(&self) -> usize {
        (self.end - self.start) as usize
    }

    pub fn is_empty(&self) -> bool {
        self.end == self.start
    }

    /// The smallest span covering both.
    pub fn to(self, other: Span) -> Span {
        Span {
            file: self.file,
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }
}

/// A value with the span it came from.
#[derive(Clone, Debug, PartialEq)]
pub struct Spanned<T> {
    pub node: T,
    pub span: Span,
}

impl<T> Spanned<T> {
    pub fn new(node: T, span: Span) -> Self {
        Spanned { node, span }
    }
}

/// One loaded file: its display name (as the user wrote or as `stdlib/<name>.bom`)
/// and its text.
#[derive(Debug)]
pub struct SourceFile {
    pub name: String,
    pub path: Option<PathBuf>,
    pub text: String,
    /// Where each line starts, found the first time a position is asked
    /// for: scanned from the file's start each time, a position per graph
    /// edge made `bomc graph --format json` quadratic (81 s at N = 10,000).
    line_starts: std::sync::OnceLock<Vec<u32>>,
}

/// All files of one compilation.
#[derive(Debug, Default)]
pub struct SourceMap {
    files: Vec<SourceFile>,
}

impl SourceMap {
    pub fn add(&mut self, name: String, path: Option<PathBuf>, text: String) -> FileId {
        self.files.push(SourceFile {
            name,
            path,
            text,
            line_starts: std::sync::OnceLock::new(),
        });
        FileId((self.files.len() - 1) as u32)
    }

    pub fn get(&self, id: FileId) -> &SourceFile {
        &self.files[id.0 as usize]
    }

    pub fn text(&self, span: Span) -> &str {
        let text = &self.get(span.file).text;
        text.get(span.start as usize..span.end as usize)
            .unwrap_or("")
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, file: FileId, offset: u32) -> (usize, usize) {
        let source = self.get(file);
        let text = &source.text;
        let offset = (offset as usize).min(text.len());
        let starts = source.line_starts.get_or_init(|| {
            std::iter::once(0)
                .chain(
                    text.bytes()
                        .enumerate()
                        .filter(|&(_, b)| b == b'\n')
                        .map(|(i, _)| i as u32 + 1),
                )
                .collect()
        });
        // The last line starting at or before the offset.
        let line = starts.partition_point(|&start| start as usize <= offset);
        let line_start = starts[line - 1] as usize;
        let col = text
            .get(line_start..offset)
            .map_or(0, |before| before.chars().count())
            + 1;
        (line, col)
    }
}

// Paths as compose and the `.bom` file name them: joined and made relative
// lexically, so output does not depend on the machine.

/// Removes `.` and resolves `..` lexically, as compose does with the paths
/// it joins (`..` above the root stays at the root).
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            PathPart::CurDir => {}
            PathPart::ParentDir => match out.components().next_back() {
                Some(PathPart::Normal(_)) => {
                    out.pop();
                }
                Some(PathPart::RootDir | PathPart::Prefix(_)) => {}
                _ => out.push(".."),
            },
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// `path` made absolute from the working directory (lexically: symbolic
/// links stay as they are), and normalized.
pub fn absolute(path: &Path) -> PathBuf {
    let path = if path.as_os_str().is_empty() {
        Path::new(".")
    } else {
        path
    };
    normalize(&std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()))
}

/// `path` relative to `base` (both absolute and normalized), `/`-separated;
/// `path` itself when they share no root (another drive).
pub fn relative(path: &Path, base: &Path) -> String {
    let path_parts: Vec<PathPart> = path.components().collect();
    let base_parts: Vec<PathPart> = base.components().collect();
    if path_parts.first() != base_parts.first() {
        return path.to_string_lossy().into_owned();
    }
    let common = path_parts
        .iter()
        .zip(&base_parts)
        .take_while(|(a, b)| a == b)
        .count();
    let parts: Vec<String> = std::iter::repeat_n(String::from(".."), base_parts.len() - common)
        .chain(
            path_parts[common..]
                .iter()
                .map(|p| p.as_os_str().to_string_lossy().into_owned()),
        )
        .collect();
    if parts.is_empty() {
        String::from(".")
    } else {
        parts.join("/")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_of_every_offset() {
        let text = "landscape x {\r\n  // é ü\n\n  service a { image = \"ä:1\" }\n}";
        let mut map = SourceMap::default();
        let file = map.add(String::from("x.bom"), None, text.to_string());
        for (offset, _) in text.char_indices().chain([(text.len(), ' ')]) {
            let before = &text[..offset];
            let line = before.matches('\n').count() + 1;
            let start = before.rfind('\n').map_or(0, |i| i + 1);
            let column = before[start..].chars().count() + 1;
            assert_eq!(
                map.line_col(file, offset as u32),
                (line, column),
                "{offset}"
            );
        }
        assert_eq!(
            map.line_col(file, u32::MAX),
            map.line_col(file, text.len() as u32)
        );
    }
}

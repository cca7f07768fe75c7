//! Where a large file can be parsed in two halves, one per core.
//!
//! pest spends some 850 instructions per byte, a fifth of `bomc build` and
//! more of `bomc check` on a large landscape, and nearly all of a large file
//! is the body of one definition. That body's members after a line break are
//! a second half: the parser reads it on its own (as `members`), and reads
//! the rest of the file with that half turned into a comment of the same
//! length, so every offset stays the file's. Only a line break between two
//! whole members is a place to cut; where one is not (a setting continued on
//! the next line), either half fails to parse and the file is parsed whole.

/// Files smaller than this are parsed whole: a second thread costs more than
/// it saves.
pub(super) const HALVES_FROM: usize = 64 * 1024;

/// The second half of a file: `start..end` of the body of the definition
/// whose block opens at `open`; `end` is its closing brace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Half {
    pub open: usize,
    pub start: usize,
    pub end: usize,
}

/// The bytes that give `text` its shape (brackets and line breaks) with their
/// offsets, outside strings and comments, which the grammar does not descend
/// into.
pub(super) struct Structure<'t> {
    text: &'t str,
    at: usize,
}

impl<'t> Structure<'t> {
    pub(super) fn new(text: &'t str) -> Self {
        Structure { text, at: 0 }
    }
}

impl Iterator for Structure<'_> {
    type Item = (usize, u8);

    fn next(&mut self) -> Option<(usize, u8)> {
        let bytes = self.text.as_bytes();
        loop {
            // Most bytes are none of these: passed over a table look-up each.
            let at = self.at
                + bytes
                    .get(self.at..)?
                    .iter()
                    .position(|&b| NOTABLE[usize::from(b)])?;
            let byte = bytes[at];
            self.at = at + 1;
            match byte {
                b'"' => {
                    // A string ends at its closing quote, or where the grammar
                    // refuses it: at a line break.
                    let mut i = at + 1;
                    while i < bytes.len() && !matches!(bytes[i], b'"' | b'\n') {
                        i += if bytes[i] == b'\\' { 2 } else { 1 };
                    }
                    self.at = i + 1;
                }
                b'/' if bytes.get(at + 1) == Some(&b'/') => {
                    self.at = self.text[at..].find('\n').map_or(bytes.len(), |n| at + n);
                }
                b'/' if bytes.get(at + 1) == Some(&b'*') => {
                    self.at = self.text[at + 2..]
                        .find("*/")
                        .map_or(bytes.len(), |end| at + 2 + end + 2);
                }
                b'{' | b'[' | b'(' | b'<' | b'}' | b']' | b')' | b'>' | b'\n' => {
                    return Some((at, byte));
                }
                _ => {}
            }
        }
    }
}

/// The bytes [`Structure`] stops at: those it reports, and those that open a
/// string or a comment.
static NOTABLE: [bool; 256] = {
    let mut table = [false; 256];
    let notable = b"{[(<}])>\n\"/";
    let mut i = 0;
    while i < notable.len() {
        table[notable[i] as usize] = true;
        i += 1;
    }
    table
};

/// What one pass over a file's structure finds before pest reads it.
pub(super) struct Survey {
    /// Where the file first nests deeper than allowed.
    pub too_deep: Option<usize>,
    /// Where it can be cut in two, if it is large enough.
    pub half: Option<Half>,
}

/// Surveys `text`: where it first nests deeper than `max_depth` (blocks,
/// lists, calls and type arguments, counted as the grammar recurses), and
/// else its second half: the members of its largest definition after the
/// line break nearest to where about half of the file's bytes follow.
pub(super) fn survey(text: &str, max_depth: usize) -> Survey {
    // The largest top-level block, and the line breaks at its own level: each
    // one a place where a member may start.
    // A file too small to cut (and the formatter's check of its nesting)
    // needs neither.
    let cut = text.len() >= HALVES_FROM;
    let (mut depth, mut open) = (0usize, 0);
    let (mut breaks, mut largest) = (Vec::new(), None::<(usize, usize, Vec<usize>)>);
    for (at, byte) in Structure::new(text) {
        match (byte, depth) {
            _ if !cut => {}
            (b'{', 0) => {
                open = at;
                breaks.clear();
            }
            (b'\n', 1) => breaks.push(at + 1),
            (b'}', 1) if largest.as_ref().is_none_or(|(o, e, _)| at - open > e - o) => {
                largest = Some((open, at, std::mem::take(&mut breaks)));
            }
            _ => {}
        }
        match byte {
            b'{' | b'[' | b'(' | b'<' => {
                depth += 1;
                if depth > max_depth {
                    return Survey {
                        too_deep: Some(at),
                        half: None,
                    };
                }
            }
            b'}' | b']' | b')' | b'>' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    let half = largest.and_then(|(open, end, breaks)| second_half(text, open, end, &breaks));
    Survey {
        too_deep: None,
        half,
    }
}

/// The second half of the block `open..=end` of `text`, starting at one of
/// its line `breaks`.
fn second_half(text: &str, open: usize, end: usize, breaks: &[usize]) -> Option<Half> {
    // The second half holds about half of the file's bytes.
    let wanted = end.saturating_sub(text.len() / 2);
    let nearest = breaks.partition_point(|&start| start < wanted);
    // Not after a doc comment, which belongs to the member below it.
    let after_docs = |start: usize| {
        text[..start - 1]
            .rsplit('\n')
            .next()
            .is_some_and(|line| line.trim_start().starts_with("///"))
    };
    let start = (nearest..breaks.len())
        .chain((0..nearest).rev())
        .map(|i| breaks[i])
        .find(|&start| !after_docs(start))?;
    // A comment of the same length takes the half's place: `/*`, `*/` and
    // something between.
    (end - start >= HALVES_FROM / 4).then_some(Half { open, start, end })
}

/// `text` with `half` turned into a comment of the same length.
pub(super) fn without(text: &str, half: Half) -> String {
    let mut first = String::with_capacity(text.len());
    first.push_str(&text[..half.start]);
    first.push_str("/*");
    first.extend(std::iter::repeat_n(' ', half.end - half.start - 4));
    first.push_str("*/");
    first.push_str(&text[half.end..]);
    first
}

#[cfg(test)]
mod tests {
    use super::*;

    fn landscape(members: usize) -> String {
        let mut text = String::from("import \"postgres\"\n\n/// Docs.\nlandscape big {\n");
        for i in 0..members {
            text.push_str(&format!(
                "  /// Service {i}.\n  service svc{i} {{\n    image = \"nginx:1.27\"\n    env {{ A = \"{{not a brace\" }}\n  }}\n"
            ));
        }
        text.push_str("}\n\nenvironment production {\n  svc0.replicas = 2\n}\n");
        text
    }

    #[test]
    fn small_files_are_parsed_whole() {
        assert_eq!(survey(&landscape(10), 64).half, None);
    }

    #[test]
    fn the_half_starts_at_a_member_of_the_largest_body_near_the_middle() {
        let text = landscape(2_000);
        let half = survey(&text, 64).half.expect("a second half");
        assert_eq!(&text[half.open..half.open + 1], "{");
        assert!(text[..half.open].ends_with("landscape big "));
        assert_eq!(&text[half.end..half.end + 1], "}");
        assert!(text[half.end + 1..].starts_with("\n\nenvironment"));
        // After a member's closing line, with the member's docs in the half.
        assert!(
            text[..half.start].ends_with("  }\n"),
            "{}",
            &text[half.start - 20..half.start]
        );
        assert!(text[half.start..].starts_with("  /// Service "));
        let second = half.end - half.start;
        assert!(
            second.abs_diff(text.len() / 2) < 200,
            "{second} of {}",
            text.len()
        );
    }

    #[test]
    fn the_first_half_keeps_every_offset() {
        let text = landscape(2_000);
        let half = survey(&text, 64).half.expect("a second half");
        let first = without(&text, half);
        assert_eq!(first.len(), text.len());
        assert_eq!(&first[..half.start], &text[..half.start]);
        assert_eq!(&first[half.end..], &text[half.end..]);
        assert!(first[half.start..half.end].starts_with("/*"));
        assert!(first[half.start..half.end].ends_with("*/"));
    }

    #[test]
    fn brackets_in_strings_and_comments_are_not_structure() {
        let text = "a { \"{[(\" // {\n /* } */ b }\n";
        let found: Vec<(usize, u8)> = Structure::new(text).collect();
        assert_eq!(
            found,
            [(2, b'{'), (14, b'\n'), (26, b'}'), (27, b'\n')],
            "{text}"
        );
    }
}

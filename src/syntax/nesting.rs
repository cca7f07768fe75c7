//! How deeply a file nests, counted before any parser reads it: the
//! recursion of both parsers (pest's and `fast`'s) is bounded by this count.

/// The bytes that give `text` its shape (its brackets) with their
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
                b'{' | b'[' | b'(' | b'<' | b'}' | b']' | b')' | b'>' => {
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
    let notable = b"{[(<}])>\"/";
    let mut i = 0;
    while i < notable.len() {
        table[notable[i] as usize] = true;
        i += 1;
    }
    table
};

/// Where `text` first nests deeper than `max_depth`: blocks, lists, calls
/// and type arguments, counted as the grammar recurses.
pub(super) fn too_deep(text: &str, max_depth: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (at, byte) in Structure::new(text) {
        match byte {
            b'{' | b'[' | b'(' | b'<' => {
                depth += 1;
                if depth > max_depth {
                    return Some(at);
                }
            }
            b'}' | b']' | b')' | b'>' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brackets_in_strings_and_comments_are_not_structure() {
        let text = "a { \"{[(\" // {\n /* } */ b }\n";
        let found: Vec<(usize, u8)> = Structure::new(text).collect();
        assert_eq!(found, [(2, b'{'), (26, b'}')], "{text}");
    }
}

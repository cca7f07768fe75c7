//! `bomc fmt`: the canonical layout of a `.bom` file.
//!
//! The rules (docs/language.md, "Formatting"):
//! - two spaces of indentation per block, one member per line, `a = b`,
//!   `param name: type = default`;
//! - a block, list or call stays on one line (`{ a = 1, b = 2 }`, `[a, b]`) when it
//!   was written with its first element on the line of its opening bracket, holds
//!   no comment and no doc line, and fits in 100 columns; otherwise it is one
//!   element per line, lists and calls with a trailing comma. A call whose last
//!   argument is a block or list that breaks keeps the other arguments on its
//!   line: `merge(base, {` … `})`;
//! - blank lines between members, items and comments are kept, runs collapsed to
//!   one; none after an opening bracket or before a closing one;
//! - every comment is kept where it was: a comment after code stays at the end
//!   of that line, a comment on its own line stays on its own line.
//!
//! Only layout changes: tokens are printed exactly as written, so the parsed
//! file is the same before and after, and formatting twice changes nothing.

use crate::diag::Diagnostic;
use crate::source::FileId;
use crate::syntax::tree::{Node, NodeKind, Token};

/// Longest line the one-line forms may make.
const WIDTH: usize = 100;
const INDENT: &str = "  ";

/// Formats one file's text. A file that does not parse is returned as the
/// syntax diagnostic (for file 0) and nothing is formatted.
pub fn format_source(text: &str) -> Result<String, Diagnostic> {
    format_file(FileId(0), text)
}

/// As [`format_source`], with diagnostics pointing into `file`.
pub fn format_file(file: FileId, text: &str) -> Result<String, Diagnostic> {
    let tree = crate::syntax::parse_tree(file, text)?;
    let mut printer = Printer {
        source: text,
        comments: comments(text, &tree),
        next_comment: 0,
        out: String::new(),
        indent: 0,
        last_end: 0,
        opened: false,
    };
    printer.file(&tree);
    Ok(printer.finish())
}

/// A comment as written: `// …` (also `//// …`) or `/* … */`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Comment {
    pub start: usize,
    pub end: usize,
    pub text: String,
}

/// Every comment of a file that parses, in order. Comments live only between
/// tokens, so only the gaps between tokens are scanned: a `//` inside a string
/// is never mistaken for one.
pub fn comments(source: &str, tree: &Node) -> Vec<Comment> {
    let mut out = Vec::new();
    let mut from = 0;
    for token in tree.tokens() {
        scan_gap(source, from, token.start, &mut out);
        from = token.end;
    }
    scan_gap(source, from, source.len(), &mut out);
    out
}

fn scan_gap(source: &str, start: usize, end: usize, out: &mut Vec<Comment>) {
    let gap = source.get(start..end).unwrap_or("");
    let mut i = 0;
    while let Some(found) = gap[i..].find('/') {
        let at = i + found;
        let rest = &gap[at..];
        let len = if rest.starts_with("//") {
            rest.find('\n').unwrap_or(rest.len())
        } else if let Some(body) = rest.strip_prefix("/*") {
            body.find("*/").map_or(rest.len(), |e| e + 4)
        } else {
            i = at + 1;
            continue;
        };
        out.push(Comment {
            start: start + at,
            end: start + at + len,
            text: rest[..len].trim_end().to_string(),
        });
        i = at + len;
    }
}

struct Printer<'s> {
    source: &'s str,
    comments: Vec<Comment>,
    next_comment: usize,
    out: String,
    indent: usize,
    /// Where in the source the last printed token or comment ends.
    last_end: usize,
    /// The current line opened a block, list or call: no blank line follows it.
    opened: bool,
}

impl Printer<'_> {
    fn finish(mut self) -> String {
        while self.out.ends_with('\n') || self.out.ends_with(' ') {
            self.out.pop();
        }
        if !self.out.is_empty() {
            self.out.push('\n');
        }
        self.out
    }

    // ---- output primitives

    fn at_line_start(&self) -> bool {
        self.out.is_empty() || self.out.ends_with('\n')
    }

    fn write(&mut self, text: &str) {
        if self.at_line_start() {
            for _ in 0..self.indent {
                self.out.push_str(INDENT);
            }
        }
        self.out.push_str(text);
        self.opened = false;
    }

    fn space(&mut self) {
        if !self.at_line_start() && !self.out.ends_with(' ') {
            self.out.push(' ');
        }
    }

    fn newline(&mut self) {
        while self.out.ends_with(' ') {
            self.out.pop();
        }
        if !self.at_line_start() {
            self.out.push('\n');
        }
    }

    fn blank_line(&mut self) {
        if !self.out.is_empty() && !self.opened && !self.out.ends_with("\n\n") {
            self.newline();
            self.out.push('\n');
        }
    }

    fn column(&self) -> usize {
        match self.out.rfind('\n') {
            _ if self.at_line_start() => self.indent * INDENT.len(),
            Some(nl) => self.out[nl + 1..].chars().count(),
            None => self.out.chars().count(),
        }
    }

    fn fits(&self, text: &str) -> bool {
        self.column() + text.chars().count() <= WIDTH
    }

    // ---- comments

    fn pending_before(&self, pos: usize) -> Option<&Comment> {
        self.comments
            .get(self.next_comment)
            .filter(|c| c.start < pos)
    }

    fn has_comment_in(&self, node: &Node) -> bool {
        let first = self.comments.partition_point(|c| c.start < node.start);
        self.comments.get(first).is_some_and(|c| c.start < node.end)
    }

    fn print_comment(&mut self) {
        let comment = self.comments[self.next_comment].clone();
        self.next_comment += 1;
        self.space();
        self.write(&comment.text);
        self.last_end = comment.end;
    }

    /// Comments written between tokens of one line (`a = /* why */ 1`): kept in
    /// place; a `//` comment there ends the line.
    fn inline_comments(&mut self, before: usize) {
        while let Some(comment) = self.pending_before(before) {
            let line = comment.text.starts_with("//");
            self.print_comment();
            if line {
                self.newline();
            } else {
                self.space();
            }
        }
    }

    fn blank_in_source(&self, from: usize, to: usize) -> bool {
        let gap = self.source.get(from.min(to)..to).unwrap_or("");
        let lines: Vec<&str> = gap.split('\n').collect();
        lines.len() > 2
            && lines[1..lines.len() - 1]
                .iter()
                .any(|l| l.trim().is_empty())
    }

    /// Ends the current line before the element that starts at `next`: comments
    /// that followed the last token on its line stay there, comments on lines of
    /// their own come next, each on its own line, with the blank lines around
    /// them (not before a closing bracket: `closing`).
    fn break_line(&mut self, next: usize, closing: bool) {
        let opened = self.opened;
        while let Some(comment) = self.pending_before(next) {
            let between = self
                .source
                .get(self.last_end.min(comment.start)..comment.start)
                .unwrap_or("");
            if between.contains('\n') {
                break;
            }
            self.print_comment();
        }
        self.opened = opened;
        self.newline();
        while let Some(comment) = self.pending_before(next) {
            if self.blank_in_source(self.last_end, comment.start) {
                self.blank_line();
            }
            self.print_comment();
            self.newline();
        }
        if !closing && self.blank_in_source(self.last_end, next) {
            self.blank_line();
        }
    }

    // ---- tokens and punctuation

    fn token(&mut self, node: &Node) {
        self.inline_comments(node.start);
        let text = node.text(self.source);
        // `///` lines and strings keep their text; trailing blanks of a doc line go.
        let text = if node.kind == NodeKind::Token(Token::Doc) {
            text.trim_end()
        } else {
            text
        };
        self.write(text);
        self.last_end = node.end;
    }

    /// Punctuation at a known source position (brackets).
    fn punct(&mut self, at: usize, text: &str) {
        self.inline_comments(at);
        self.write(text);
        self.last_end = at + text.len();
    }

    // ---- the grammar, rule by rule

    fn file(&mut self, file: &Node) {
        for item in &file.children {
            if item.kind == NodeKind::EndOfFile {
                continue;
            }
            self.break_line(item.start, false);
            self.member(item);
        }
        self.break_line(self.source.len(), true);
    }

    /// Doc lines, each on its own line, then the line of the member itself.
    fn docs(&mut self, docs: &Node, next: usize) {
        for (i, doc) in docs.children.iter().enumerate() {
            if i > 0 {
                self.break_line(doc.start, false);
            }
            self.token(doc);
        }
        if !docs.children.is_empty() {
            self.break_line(next, false);
        }
    }

    /// Imports, definitions and every block member.
    fn member(&mut self, node: &Node) {
        let Some((docs, parts)) = node.children.split_first() else {
            return;
        };
        if docs.kind == NodeKind::Docs {
            self.docs(docs, parts.first().map_or(node.end, |p| p.start));
        }
        match (node.kind, parts) {
            (NodeKind::Import, [target]) => {
                self.write("import ");
                self.token(target);
            }
            (NodeKind::Definition, [keyword, name, body]) => {
                self.token(keyword);
                self.space();
                self.token(name);
                self.space();
                self.block(body);
            }
            (NodeKind::Param, [name, ty, default @ ..]) => {
                self.write("param ");
                self.token(name);
                self.write(": ");
                self.token(ty);
                if let [default] = default {
                    self.write(" = ");
                    self.expr(default);
                }
            }
            (NodeKind::Let, [name, value]) => {
                self.write("let ");
                self.token(name);
                self.write(" = ");
                self.expr(value);
            }
            (NodeKind::Component, [kind, name, body]) => {
                self.token(kind);
                self.space();
                self.token(name);
                self.space();
                self.block(body);
            }
            (NodeKind::BlockField, [key, body]) => {
                self.token(key);
                self.space();
                self.block(body);
            }
            (NodeKind::Assignment, [path, value]) => {
                self.token(path);
                self.write(" = ");
                self.expr(value);
            }
            // A shape the grammar does not produce: printed as written.
            _ => {
                for child in &node.children {
                    self.token(child);
                }
            }
        }
    }

    fn expr(&mut self, node: &Node) {
        match node.kind {
            NodeKind::Block => self.block(node),
            NodeKind::List => self.list(node),
            NodeKind::Call => self.call(node),
            _ => self.token(node),
        }
    }

    /// Writes `node` on the current line if it may and fits there.
    fn try_one_line(&mut self, node: &Node) -> bool {
        match self.one_line(node) {
            Some(text) if self.fits(&text) => {
                self.inline_comments(node.start);
                self.write(&text);
                self.last_end = node.end;
                true
            }
            _ => false,
        }
    }

    fn block(&mut self, node: &Node) {
        if self.try_one_line(node) {
            return;
        }
        self.punct(node.start, "{");
        self.opened = true;
        self.indent += 1;
        for member in &node.children {
            self.break_line(member.start, false);
            self.member(member);
        }
        self.break_line(node.end - 1, true);
        self.indent -= 1;
        self.punct(node.end - 1, "}");
    }

    fn list(&mut self, node: &Node) {
        if self.try_one_line(node) {
            return;
        }
        self.punct(node.start, "[");
        self.one_per_line(node, &node.children);
        self.punct(node.end - 1, "]");
    }

    /// Elements after an opening bracket, one per line with a trailing comma,
    /// up to the closing bracket at the end of `node`.
    fn one_per_line(&mut self, node: &Node, elements: &[Node]) {
        self.opened = true;
        self.indent += 1;
        for element in elements {
            self.break_line(element.start, false);
            self.expr(element);
            self.write(",");
        }
        self.break_line(node.end - 1, true);
        self.indent -= 1;
    }

    fn call(&mut self, node: &Node) {
        if self.try_one_line(node) {
            return;
        }
        let Some((name, args)) = node.children.split_first() else {
            return;
        };
        self.token(name);
        self.write("(");
        let hug = match args.split_last() {
            Some((last, leading)) => {
                matches!(last.kind, NodeKind::Block | NodeKind::List)
                    && !self.source_breaks(name.end, last.start)
                    && leading.iter().all(|a| self.one_line(a).is_some())
            }
            None => false,
        };
        if let (true, Some((last, leading))) = (hug, args.split_last()) {
            for arg in leading {
                self.expr(arg);
                self.write(", ");
            }
            self.expr(last);
        } else {
            self.one_per_line(node, args);
        }
        self.punct(node.end - 1, ")");
    }

    /// Whether the source breaks the line, or holds a comment, between two positions.
    fn source_breaks(&self, from: usize, to: usize) -> bool {
        let gap = self.source.get(from..to).unwrap_or("");
        gap.contains('\n') || gap.contains("//") || gap.contains("/*")
    }

    /// The one-line form of `node`, if it has one (see the module's rules).
    fn one_line(&self, node: &Node) -> Option<String> {
        if self.has_comment_in(node) {
            return None;
        }
        let parts = |nodes: &[Node]| -> Option<Vec<String>> {
            nodes.iter().map(|n| self.one_line(n)).collect()
        };
        // Doc lines run to the end of their line: a member with docs breaks.
        let rest = match node.children.split_first() {
            Some((docs, _)) if docs.kind == NodeKind::Docs && !docs.children.is_empty() => {
                return None;
            }
            Some((docs, rest)) if docs.kind == NodeKind::Docs => rest,
            _ => &node.children[..],
        };
        Some(match (node.kind, rest) {
            (NodeKind::Token(_), _) => node.text(self.source).to_string(),
            (NodeKind::Block, []) => String::from("{}"),
            (NodeKind::Block, members) => {
                if self.source_breaks(node.start + 1, members[0].start) {
                    return None;
                }
                format!("{{ {} }}", parts(members)?.join(", "))
            }
            (NodeKind::List, elements) => {
                if let Some(first) = elements.first()
                    && self.source_breaks(node.start + 1, first.start)
                {
                    return None;
                }
                format!("[{}]", parts(elements)?.join(", "))
            }
            (NodeKind::Call, [name, args @ ..]) => {
                if let Some(first) = args.first()
                    && self.source_breaks(name.end, first.start)
                {
                    return None;
                }
                format!("{}({})", name.text(self.source), parts(args)?.join(", "))
            }
            (NodeKind::Param, [name, ty, default @ ..]) => {
                let mut text =
                    format!("param {}: {}", name.text(self.source), ty.text(self.source));
                if let [default] = default {
                    text = format!("{text} = {}", self.one_line(default)?);
                }
                text
            }
            (NodeKind::Let, [name, value]) => {
                format!("let {} = {}", name.text(self.source), self.one_line(value)?)
            }
            (NodeKind::Component, [kind, name, body]) => format!(
                "{} {} {}",
                kind.text(self.source),
                name.text(self.source),
                self.one_line(body)?
            ),
            (NodeKind::BlockField, [key, body]) => {
                format!("{} {}", key.text(self.source), self.one_line(body)?)
            }
            (NodeKind::Assignment, [path, value]) => {
                format!("{} = {}", path.text(self.source), self.one_line(value)?)
            }
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(text: &str) -> String {
        let once = format_source(text).expect("parses");
        assert_eq!(
            format_source(&once).expect("reparses"),
            once,
            "not idempotent"
        );
        once
    }

    #[test]
    fn indents_and_spaces() {
        assert_eq!(
            fmt("landscape x{\nparam  a :int=1\n   web.image=\"n\"\nservice s {\nimage=\"i\"}}"),
            "landscape x {\n  param a: int = 1\n  web.image = \"n\"\n  service s {\n    image = \"i\"\n  }\n}\n"
        );
    }

    #[test]
    fn short_blocks_written_on_one_line_stay_there() {
        assert_eq!(
            fmt("landscape x {\n  reserve {cpu=0.25,memory=256MiB}\n  ports { a = 1 b = 2 }\n}"),
            "landscape x {\n  reserve { cpu = 0.25, memory = 256MiB }\n  ports { a = 1, b = 2 }\n}\n"
        );
    }

    #[test]
    fn keeps_every_comment_in_place() {
        let text = "// head\n\n\n/// doc\nlandscape x { // after brace\n  a = 1 // after a\n  /* own */\n\n\n  b = [ // after bracket\n    1, /* one */\n    2,\n  ]\n  //// four\n}\n// tail\n";
        assert_eq!(
            fmt(text),
            "// head\n\n/// doc\nlandscape x { // after brace\n  a = 1 // after a\n  /* own */\n\n  b = [ // after bracket\n    1, /* one */\n    2,\n  ]\n  //// four\n}\n// tail\n"
        );
    }

    #[test]
    fn comment_markers_in_strings_are_text() {
        let text = "landscape x {\n  url = \"http://a/*b*/\"\n}\n";
        let tree = crate::syntax::parse_tree(FileId(0), text).expect("parses");
        assert!(comments(text, &tree).is_empty());
        assert_eq!(fmt(text), text);
    }

    #[test]
    fn calls_hug_a_breaking_last_argument() {
        assert_eq!(
            fmt(
                "landscape x {\n  let e = merge(base, {\n  A = 1\n  })\n  f = merge(base, { B = 2 })\n}"
            ),
            "landscape x {\n  let e = merge(base, {\n    A = 1\n  })\n  f = merge(base, { B = 2 })\n}\n"
        );
    }

    #[test]
    fn long_lists_break_one_element_per_line() {
        let items: Vec<String> = (0..12).map(|i| format!("\"element-{i}\"")).collect();
        let text = format!("landscape x {{ l = [{}] }}", items.join(","));
        let out = fmt(&text);
        assert!(out.contains("  l = [\n    \"element-0\",\n"), "{out}");
        assert!(out.ends_with("    \"element-11\",\n  ]\n}\n"), "{out}");
    }

    #[test]
    fn null_and_let_are_printed() {
        assert_eq!(
            fmt("landscape x {\nlet   a={ K=null }\n}"),
            "landscape x {\n  let a = { K = null }\n}\n"
        );
    }

    #[test]
    fn a_file_that_does_not_parse_is_refused() {
        assert!(format_source("landscape x {").is_err());
    }
}

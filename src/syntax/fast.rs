//! A reader for well-formed `.bom` files that builds the tree pest's parse
//! builds, in one pass over the bytes.
//!
//! pest spends some 850 instructions per byte of a landscape, a quarter of
//! `bomc build`'s CPU time at 1,000 services and most of `bomc check`'s
//! (docs/performance.md). The grammar stays the language's definition and
//! pest its parser of record: this reader follows `grammar/bom.pest` rule
//! by rule, with the same spans, and answers only for a file it can vouch
//! for. Anywhere else it answers [`Unsure`]: a syntax error, a number out
//! of range, an unknown escape, an interpolation in a key. pest then parses
//! the file as it always has, so every diagnostic is pest's and the
//! builder's, unchanged. Tests compare the two trees on every example, the
//! standard library, generated landscapes, and random and broken files.
//!
//! Where the grammar offers alternatives, pest takes the first that
//! matches. The reader decides between them by looking ahead as far as
//! each alternative can fail without committing (an assignment is a path
//! and `=`, a component two names and `{`), and once it has committed, any
//! failure is [`Unsure`]: only pest may say what a broken file means.
//!
//! Nesting is bounded before either parser runs (`parser::too_deep`), so
//! the recursion here is too.

use super::ast::*;
use crate::source::{FileId, Span, Spanned};
use std::sync::atomic::{AtomicBool, Ordering};

/// Not vouched for: pest reads the file.
pub(super) struct Unsure;

type Read<T> = Result<T, Unsure>;

/// `text` read as `file`, if it is plainly well formed; `None` where pest
/// must read it. A large file is read in two halves on two cores
/// ([`parse_split`] at its middle).
pub(super) fn parse(file: FileId, text: &str) -> Option<File> {
    if text.len() >= HALVES_FROM
        && !crate::parallel::sharing()
        && let Some(at) = middle(text)
    {
        return parse_split(file, text, at).file;
    }
    Reader::new(file, text, None).file().ok()
}

/// The size from which a file is read in two halves: a thread costs more
/// than reading a small file.
const HALVES_FROM: usize = 64 << 10;

/// `text` read as [`parse`] reads it, the members from offset `at` on read
/// on a second core: where the first core, reading from the start, comes to
/// a member of a block at `at` exactly, it takes the second's members (up
/// to that block's `}`) instead of reading them itself. A reader at the
/// start of a member reads the same members from there whatever came
/// before, so the tree is the one-core tree; where the first core never
/// comes to `at` so (inside a string, a comment, a list), it reads on
/// itself and the second core's members are dropped.
///
/// Where the first core comes to `at`, or to the end, before the second
/// core has begun (busy with other work), it reads on itself, and the
/// second core, once free, finds its part taken and reads nothing.
///
fn parse_split(file: FileId, text: &str, at: usize) -> SplitRead {
    let (send, receive) = std::sync::mpsc::channel();
    let begun = std::sync::Arc::new(AtomicBool::new(false));
    let second_begun = std::sync::Arc::clone(&begun);
    let (second_read, (read, taken)) = crate::parallel::beside(
        move || {
            if second_begun.swap(true, Ordering::AcqRel) {
                return false;
            }
            let mut second = Reader::new(file, text, None);
            second.at = at;
            let read = second.members_to_close();
            let _ = send.send(read.map(|()| (second.members, second.at)));
            true
        },
        || {
            let done = std::sync::Arc::clone(&begun);
            let second = Second { at, begun, receive };
            let mut first = Reader::new(file, text, Some(second));
            let read = first.file().ok();
            // Read to the end without the second core's part (it starts
            // inside a string, say): if that core has not begun, it need not.
            done.store(true, Ordering::Release);
            (read, first.taken)
        },
    );
    SplitRead {
        file: read,
        taken,
        second_read,
    }
}

/// What [`parse_split`] read. Parsing needs only the tree; the tests read
/// how the two cores shared the file.
#[cfg_attr(not(test), allow(dead_code))]
struct SplitRead {
    file: Option<File>,
    /// How many members the first core took from the second.
    taken: usize,
    /// Whether the second core read its part at all.
    second_read: bool,
}

/// Where [`parse_split`] starts its second core: the first line from the
/// middle on that starts with a name indented by two spaces, as `bomc fmt`
/// lays out a member of a definition (a landscape's component). Any other
/// start costs only the second core's work.
fn middle(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut at = text.len() / 2;
    loop {
        at += bytes[at..].iter().position(|&b| b == b'\n')? + 1;
        if bytes[at..].starts_with(b"  ") && bytes.get(at + 2).copied().is_some_and(ident_start) {
            return Some(at + 2);
        }
    }
}

/// The words `ident` refuses (`keyword` in the grammar).
const KEYWORDS: [&str; 5] = ["import", "param", "true", "false", "null"];

/// The grammar's `definition` keywords, with what each defines.
const DEFINITIONS: [(&str, DefKind); 4] = [
    ("landscape", DefKind::Landscape),
    ("kind", DefKind::Kind),
    ("image", DefKind::Image),
    ("environment", DefKind::Environment),
];

/// `duration`'s units, in milliseconds, in the grammar's order.
pub(super) const DURATIONS: [(&str, u64); 6] = [
    ("ms", 1),
    ("s", 1_000),
    ("m", 60_000),
    ("h", 3_600_000),
    ("d", 86_400_000),
    ("w", 604_800_000),
];

/// `size`'s units, in bytes, in the grammar's order.
pub(super) const SIZES: [(&str, u64); 9] = [
    ("KiB", 1 << 10),
    ("MiB", 1 << 20),
    ("GiB", 1 << 30),
    ("TiB", 1 << 40),
    ("KB", 1_000),
    ("MB", 1_000_000),
    ("GB", 1_000_000_000),
    ("TB", 1_000_000_000_000),
    ("B", 1),
];

/// `ident_char`: what may follow a name's first character.
fn ident_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}

/// What may start a name.
fn ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

/// A doc comment's text as the tree keeps it.
pub(super) fn doc_text(doc: &str) -> String {
    let text = doc.trim_start_matches("///");
    text.strip_prefix(' ')
        .unwrap_or(text)
        .trim_end()
        .to_string()
}

/// Appends text to a string's last part if that is text: a string's text
/// and escapes are one part.
pub(super) fn push_text(parts: &mut Vec<StrPart>, s: &str) {
    match parts.last_mut() {
        Some(StrPart::Text(t)) => t.push_str(s),
        _ => parts.push(StrPart::Text(s.to_string())),
    }
}

/// Digits with their `_` separators taken out, as a number; `None` where it
/// does not fit.
pub(super) fn number<T: std::str::FromStr>(digits: &str) -> Option<T> {
    let cleaned: String = digits.chars().filter(|c| *c != '_').collect();
    cleaned.parse::<T>().ok()
}

/// A float's text as a number; `None` where it does not fit in 64 bits.
pub(super) fn float(text: &str) -> Option<f64> {
    Some(
        text.replace('_', "")
            .parse::<f64>()
            .unwrap_or(f64::INFINITY),
    )
    .filter(|f| f.is_finite())
}

/// What the second core of [`parse_split`] read: the members from its
/// start to the `}` that closes their block, and where that `}` is.
type SecondHalf = Read<(Vec<Member>, usize)>;

/// Where the members the second core reads start, whether it has begun on
/// them (set by whichever of the two cores comes first: the second to read
/// them, the first to read them itself), and where they arrive.
struct Second {
    at: usize,
    begun: std::sync::Arc<AtomicBool>,
    receive: std::sync::mpsc::Receiver<SecondHalf>,
}

struct Reader<'t> {
    text: &'t str,
    bytes: &'t [u8],
    at: usize,
    file: FileId,
    /// The members of the blocks being read, innermost last: each block's
    /// are moved into a vector of their exact number when it closes, not
    /// grown by doubling (a landscape's body holds thousands).
    members: Vec<Member>,
    /// Likewise the values of the lists and calls being read.
    items: Vec<Expr>,
    /// Where the members another core reads start, and where they arrive.
    second: Option<Second>,
    /// How many of them were taken.
    taken: usize,
}

impl<'t> Reader<'t> {
    fn new(file: FileId, text: &'t str, second: Option<Second>) -> Self {
        Reader {
            text,
            bytes: text.as_bytes(),
            at: 0,
            file,
            members: Vec::new(),
            items: Vec::new(),
            second,
            taken: 0,
        }
    }

    /// The members from here to the `}` that closes their block, pushed on
    /// `members`; the second core's taken where they start.
    fn members_to_close(&mut self) -> Read<()> {
        while self.peek() != Some(b'}') {
            if self.take_second() {
                continue;
            }
            let member = self.member()?;
            self.members.push(member);
            self.skip();
            if self.eat(b',') {
                self.skip();
            }
        }
        Ok(())
    }

    /// The second core's members, if they start here and it has begun on
    /// them: taken (waiting for them if need be) and read past; `false`
    /// where they start elsewhere, could not be read, or were not begun,
    /// and this reader goes on.
    fn take_second(&mut self) -> bool {
        if self
            .second
            .as_ref()
            .is_none_or(|second| second.at != self.at)
        {
            return false;
        }
        let Some(second) = self.second.take() else {
            return false;
        };
        if !second.begun.swap(true, Ordering::AcqRel) {
            return false;
        }
        match second.receive.recv() {
            Ok(Ok((members, close))) => {
                self.taken = members.len();
                self.members.extend(members);
                self.at = close;
                true
            }
            _ => false,
        }
    }
}

impl Reader<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn peek_at(&self, ahead: usize) -> Option<u8> {
        self.bytes.get(self.at + ahead).copied()
    }

    fn rest(&self) -> &str {
        &self.text[self.at..]
    }

    fn span(&self, start: usize) -> Span {
        Span::new(self.file, start, self.at)
    }

    /// Consumes `byte` where it is next.
    fn eat(&mut self, byte: u8) -> bool {
        let here = self.peek() == Some(byte);
        self.at += usize::from(here);
        here
    }

    fn expect(&mut self, byte: u8) -> Read<()> {
        if self.eat(byte) { Ok(()) } else { Err(Unsure) }
    }

    /// What pest skips between two tokens of a non-atomic rule: whitespace,
    /// line comments that are not doc comments (`////` is a comment again)
    /// and closed block comments.
    fn skip(&mut self) {
        loop {
            match self.peek() {
                Some(b' ' | b'\n' | b'\t' | b'\r') => self.at += 1,
                Some(b'/') => match self.peek_at(1) {
                    Some(b'/') => {
                        if self.peek_at(2) == Some(b'/') && self.peek_at(3) != Some(b'/') {
                            return;
                        }
                        self.at = self.line_end();
                    }
                    Some(b'*') => match self.text[self.at + 2..].find("*/") {
                        Some(end) => self.at += 2 + end + 2,
                        None => return,
                    },
                    _ => return,
                },
                _ => return,
            }
        }
    }

    /// Where the current line ends (its `\n`, or the end of the text).
    fn line_end(&self) -> usize {
        self.bytes[self.at..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(self.bytes.len(), |n| self.at + n)
    }

    /// `file = { SOI ~ item* ~ EOI }`
    fn file(&mut self) -> Read<File> {
        let mut file = File::default();
        self.skip();
        while self.at < self.bytes.len() {
            let start = self.at;
            let docs = self.docs();
            self.skip();
            if self.rest().starts_with("import") {
                self.at += "import".len();
                self.skip();
                let target_start = self.at;
                let target = self.plain_string()?;
                file.imports.push(Import {
                    target: Spanned::new(target, self.span(target_start)),
                    span: self.span(start),
                });
            } else {
                let (keyword, kind) = DEFINITIONS
                    .into_iter()
                    .find(|(k, _)| self.rest().starts_with(k))
                    .ok_or(Unsure)?;
                self.at += keyword.len();
                self.skip();
                let name = self.ident()?;
                self.skip();
                let body = self.block()?;
                file.definitions.push(Definition {
                    docs,
                    kind,
                    name,
                    body,
                    span: self.span(start),
                });
            }
            self.skip();
        }
        Ok(file)
    }

    /// `docs = { doc* }`, each `///` line's text.
    fn docs(&mut self) -> Vec<String> {
        let mut docs = Vec::new();
        while self.rest().starts_with("///") {
            let end = self.line_end();
            docs.push(doc_text(&self.text[self.at..end]));
            self.at = end;
            self.skip();
        }
        docs
    }

    /// `block = { "{" ~ member* ~ "}" }`, with `member`'s optional comma.
    fn block(&mut self) -> Read<Block> {
        let start = self.at;
        self.expect(b'{')?;
        let first = self.members.len();
        self.skip();
        self.members_to_close()?;
        self.expect(b'}')?;
        Ok(Block {
            members: self.members.drain(first..).collect(),
            span: self.span(start),
        })
    }

    /// `member`: an assignment, a component, a block field, a `param` or a
    /// `let`, tried in the grammar's order.
    fn member(&mut self) -> Read<Member> {
        let start = self.at;
        let docs = self.docs();
        self.skip();
        let key_at = self.at;
        // assignment = { docs ~ path ~ "=" ~ expr }
        if let Some(path) = self.path()? {
            self.skip();
            if self.eat(b'=') {
                self.skip();
                let value = self.expr()?;
                return Ok(Member::Assign(Assign {
                    docs,
                    path,
                    value,
                    span: self.span(start),
                }));
            }
            self.at = key_at;
        }
        // component = { docs ~ ident ~ ident ~ block }
        if let Some(kind) = self.try_ident() {
            self.skip();
            if let Some(name) = self.try_ident() {
                self.skip();
                if self.peek() == Some(b'{') {
                    let body = self.block()?;
                    return Ok(Member::Component(Component {
                        docs,
                        kind,
                        name,
                        body,
                        span: self.span(start),
                    }));
                }
            }
            self.at = key_at;
        }
        // block_field = { docs ~ key ~ block }
        if let Some(key) = self.key()? {
            self.skip();
            if self.peek() == Some(b'{') {
                let block_start = self.at;
                let body = self.block()?;
                let value = Expr {
                    span: self.span(block_start),
                    kind: ExprKind::Map(body),
                };
                return Ok(Member::Assign(Assign {
                    docs,
                    path: vec![key],
                    value,
                    span: self.span(start),
                }));
            }
            self.at = key_at;
        }
        // param_decl = { docs ~ "param" ~ ident ~ ":" ~ type_expr ~ ("=" ~ expr)? }
        // The optional default comes after a skip, which the rule's span
        // keeps when there is no default.
        if self.rest().starts_with("param") {
            self.at += "param".len();
            self.skip();
            let name = self.ident()?;
            self.skip();
            self.expect(b':')?;
            self.skip();
            let ty = self.type_expr()?;
            self.skip();
            let default = if self.eat(b'=') {
                self.skip();
                Some(self.expr()?)
            } else {
                None
            };
            return Ok(Member::Param(Param {
                docs,
                name,
                ty,
                default,
                span: self.span(start),
            }));
        }
        // let_decl = { docs ~ &let_keyword ~ "let" ~ ident ~ "=" ~ expr }
        if self.rest().starts_with("let") && !self.peek_at(3).is_some_and(ident_char) {
            self.at += "let".len();
            self.skip();
            let name = self.ident()?;
            self.skip();
            self.expect(b'=')?;
            self.skip();
            let value = self.expr()?;
            return Ok(Member::Let(Let {
                docs,
                name,
                value,
                span: self.span(start),
            }));
        }
        Err(Unsure)
    }

    /// `path = ${ key ~ ("." ~ key)* }`; `None` where no key starts.
    fn path(&mut self) -> Read<Option<Vec<Ident>>> {
        let Some(first) = self.key()? else {
            return Ok(None);
        };
        let mut path = vec![first];
        while self.peek() == Some(b'.') {
            let dot = self.at;
            self.at += 1;
            match self.key()? {
                Some(key) => path.push(key),
                None => {
                    self.at = dot;
                    break;
                }
            }
        }
        Ok(Some(path))
    }

    /// `key = _{ ident | string }`; `None` where neither starts.
    fn key(&mut self) -> Read<Option<Ident>> {
        if let Some(ident) = self.try_ident() {
            return Ok(Some(ident));
        }
        if self.peek() != Some(b'"') {
            return Ok(None);
        }
        let start = self.at;
        let text = self.plain_string()?;
        Ok(Some(Spanned::new(text, self.span(start))))
    }

    /// The length of `ident_chars` here (no keyword check), 0 if none.
    fn name_len(&self) -> usize {
        match self.peek() {
            Some(b) if ident_start(b) => {
                1 + self.bytes[self.at + 1..]
                    .iter()
                    .take_while(|&&b| ident_char(b))
                    .count()
            }
            _ => 0,
        }
    }

    /// `ident = @{ !keyword ~ ident_chars }`, consumed if it is here.
    fn try_ident(&mut self) -> Option<Ident> {
        let len = self.name_len();
        let word = &self.text[self.at..self.at + len];
        if len == 0 || KEYWORDS.contains(&word) {
            return None;
        }
        let start = self.at;
        self.at += len;
        Some(Spanned::new(word.to_string(), self.span(start)))
    }

    fn ident(&mut self) -> Read<Ident> {
        self.try_ident().ok_or(Unsure)
    }

    /// `type_expr = ${ type_name ~ ("<" ~ type_expr ~ ">")? }`
    fn type_expr(&mut self) -> Read<Spanned<TypeExpr>> {
        let start = self.at;
        let len = self.name_len();
        if len == 0 {
            return Err(Unsure);
        }
        let name = self.text[self.at..self.at + len].to_string();
        self.at += len;
        let arg = if self.eat(b'<') {
            let arg = self.type_expr()?;
            self.expect(b'>')?;
            Some(Box::new(arg))
        } else {
            None
        };
        Ok(Spanned::new(TypeExpr { name, arg }, self.span(start)))
    }

    /// `expr = _{ literal | list | block | call | reference }`
    fn expr(&mut self) -> Read<Expr> {
        let start = self.at;
        let kind = match self.peek() {
            Some(b'"') => ExprKind::Str(self.string_parts()?),
            Some(b'-' | b'0'..=b'9') => self.number()?,
            Some(b'[') => {
                self.at += 1;
                ExprKind::List(self.items(b']')?)
            }
            Some(b'{') => ExprKind::Map(self.block()?),
            Some(b) if ident_start(b) => {
                let len = self.name_len();
                let literal = match &self.text[self.at..self.at + len] {
                    "null" => Some(ExprKind::Null),
                    "true" => Some(ExprKind::Bool(true)),
                    "false" => Some(ExprKind::Bool(false)),
                    _ => None,
                };
                if let Some(literal) = literal {
                    self.at += len;
                    literal
                } else {
                    let name = self.ident()?;
                    let after = self.at;
                    self.skip();
                    if self.eat(b'(') {
                        ExprKind::Call {
                            name,
                            args: self.items(b')')?,
                        }
                    } else {
                        self.at = after;
                        ExprKind::Ref(self.reference_after(name)?)
                    }
                }
            }
            _ => return Err(Unsure),
        };
        Ok(Expr {
            kind,
            span: self.span(start),
        })
    }

    /// The rest of `reference = ${ ident ~ ("." ~ ident)* }` after its first
    /// name. A `.` not followed by a name cannot follow any value.
    fn reference_after(&mut self, first: Ident) -> Read<Vec<Ident>> {
        let mut path = vec![first];
        while self.eat(b'.') {
            path.push(self.ident()?);
        }
        Ok(path)
    }

    /// A list's or a call's values after the opening bracket, to `close`:
    /// `(expr ~ ("," ~ expr)* ~ ","?)? ~ close`.
    fn items(&mut self, close: u8) -> Read<Vec<Expr>> {
        let first = self.items.len();
        self.skip();
        if !self.eat(close) {
            loop {
                let item = self.expr()?;
                self.items.push(item);
                self.skip();
                if self.eat(b',') {
                    self.skip();
                    if self.eat(close) {
                        break;
                    }
                } else {
                    self.expect(close)?;
                    break;
                }
            }
        }
        Ok(self.items.drain(first..).collect())
    }

    /// `literal`'s numbers: `float | int | duration | size`, each refusing a
    /// name character after it, converted as the builder converts them.
    fn number(&mut self) -> Read<ExprKind> {
        let start = self.at;
        let negative = self.eat(b'-');
        let digits = |r: &mut Self| -> Read<()> {
            if !r.peek().is_some_and(|b| b.is_ascii_digit()) {
                return Err(Unsure);
            }
            r.at += 1;
            while r.peek().is_some_and(|b| b.is_ascii_digit() || b == b'_') {
                r.at += 1;
            }
            Ok(())
        };
        digits(self)?;
        let digits_end = self.at;
        if self.eat(b'.') {
            digits(self)?;
            if self.peek().is_some_and(ident_char) || self.peek() == Some(b'.') {
                return Err(Unsure);
            }
            return float(&self.text[start..self.at])
                .map(ExprKind::Float)
                .ok_or(Unsure);
        }
        let unit_len = self.bytes[self.at..]
            .iter()
            .take_while(|&&b| ident_char(b))
            .count();
        if unit_len == 0 {
            return number(&self.text[start..self.at])
                .map(ExprKind::Int)
                .ok_or(Unsure);
        }
        if negative {
            return Err(Unsure);
        }
        let unit = &self.text[self.at..self.at + unit_len];
        let quantity = |units: &[(&str, u64)]| units.iter().find(|(u, _)| *u == unit).map(|u| u.1);
        let (factor, duration) = match (quantity(&DURATIONS), quantity(&SIZES)) {
            (Some(factor), _) => (factor, true),
            (None, Some(factor)) => (factor, false),
            (None, None) => return Err(Unsure),
        };
        let n = number::<u64>(&self.text[start..digits_end])
            .and_then(|n| n.checked_mul(factor))
            .ok_or(Unsure)?;
        self.at += unit_len;
        Ok(if duration {
            ExprKind::Duration(n)
        } else {
            ExprKind::Size(n)
        })
    }

    /// A string used as a key or an import path, which takes no
    /// interpolation (the builder reports one).
    fn plain_string(&mut self) -> Read<String> {
        if self.peek() != Some(b'"') {
            return Err(Unsure);
        }
        let mut out = String::new();
        for part in self.string_parts()? {
            match part {
                StrPart::Text(t) => out.push_str(&t),
                StrPart::Interp(..) => return Err(Unsure),
            }
        }
        Ok(out)
    }

    /// `string = ${ "\"" ~ string_part* ~ "\"" }`: text, escapes and
    /// `${…}` interpolations, as the builder joins them.
    fn string_parts(&mut self) -> Read<Vec<StrPart>> {
        self.expect(b'"')?;
        let mut parts = Vec::new();
        loop {
            let run = self.bytes[self.at..]
                .iter()
                .position(|&b| matches!(b, b'"' | b'\\' | b'$' | b'\n'))
                .ok_or(Unsure)?;
            if run > 0 {
                push_text(&mut parts, &self.text[self.at..self.at + run]);
                self.at += run;
            }
            match self.bytes[self.at] {
                b'"' => {
                    self.at += 1;
                    return Ok(parts);
                }
                b'\\' => {
                    let escaped = match self.peek_at(1) {
                        Some(b'n') => "\n",
                        Some(b't') => "\t",
                        Some(b'r') => "\r",
                        Some(b'"') => "\"",
                        Some(b'\\') => "\\",
                        Some(b'$') => "$",
                        _ => return Err(Unsure),
                    };
                    push_text(&mut parts, escaped);
                    self.at += 2;
                }
                b'$' if self.peek_at(1) == Some(b'{') => {
                    // interpolation = !{ "${" ~ reference ~ "}" }: not atomic,
                    // so it skips inside.
                    let start = self.at;
                    self.at += 2;
                    self.skip();
                    let first = self.ident()?;
                    let path = self.reference_after(first)?;
                    self.skip();
                    self.expect(b'}')?;
                    parts.push(StrPart::Interp(path, self.span(start)));
                }
                b'$' => {
                    push_text(&mut parts, "$");
                    self.at += 1;
                }
                _ => return Err(Unsure),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{FileId, Reader, middle, parse_split};

    /// A file with members of every shape, and with places that look like
    /// the start of a member but are not one: in a string, a block comment,
    /// a list, after a doc comment.
    const TRICKY: &str = r#"import "postgres"

/// A landscape.
landscape shop {
  param region: string = "eu"
  let tier = "web"
  service api {
    image = "nginx:1.27.0"
    command = [
      "run",
      tier
    ]
    env {
      A = "x\n  b = 1"
      B = "${db.host}"
    }
  }
  /* a comment
  service ghost { image = "x" }
  */
  // a line comment
  postgres db { database = "shop", }
  /// Documented.
  service web {
    image = "nginx:1.27.0"
    ports { http = 8080 }
  }
  routes.api = "/api"
  service last { image = "nginx:1.27.0" }
}

environment production {
  api.replicas = 2
  web { replicas = 3 }
}
"#;

    fn one_core(text: &str) -> String {
        format!("{:?}", Reader::new(FileId(0), text, None).file().ok())
    }

    /// [`parse_split`] with the second half read first, as where the
    /// second core begins before the first comes to its members: on a
    /// core already sharing, `beside` runs it first.
    fn second_first(text: &str, at: usize) -> (Option<super::File>, usize) {
        let mut read = crate::parallel::on_two_cores(&[()], |()| parse_split(FileId(0), text, at));
        let read = read.remove(0);
        assert!(read.second_read, "the second half, run first, reads");
        (read.file, read.taken)
    }

    /// Wherever the second core starts, the tree is the one-core tree: its
    /// members where the first core comes to a member there, else the first
    /// core's own reading.
    #[test]
    fn a_second_half_from_anywhere_reads_the_one_core_tree() {
        let whole = one_core(TRICKY);
        assert!(whole.starts_with("Some("), "{whole}");
        let mut taken = 0;
        for at in 0..TRICKY.len() {
            if !TRICKY.is_char_boundary(at) {
                continue;
            }
            let (read, members) = second_first(TRICKY, at);
            assert_eq!(format!("{read:?}"), whole, "second half from {at}");
            taken += usize::from(members > 0);
        }
        // Each member of each block is taken from where the first core
        // starts it (a documented one from its doc comment), and from
        // nowhere else: 7 in the landscape, 3 in `api`, 2 in its `env`, 1 in
        // `db`, 2 in `web`, 1 in its `ports`, 1 in `last`, 2 in the
        // environment and 1 in its `web`.
        assert_eq!(taken, 20);
    }

    /// A broken file is not vouched for, wherever its second half starts.
    #[test]
    fn a_broken_second_half_is_not_vouched_for() {
        let broken = TRICKY.replace("routes.api = \"/api\"", "routes.api = = 1");
        assert_eq!(one_core(&broken), "None");
        for at in (0..broken.len()).filter(|&at| broken.is_char_boundary(at)) {
            let (read, _) = second_first(&broken, at);
            assert!(read.is_none(), "second half from {at}");
        }
    }

    fn large_landscape() -> String {
        let mut text = String::from("landscape big {\n");
        for i in 0..2_000 {
            text.push_str(&format!(
                "  service s{i} {{\n    image = \"nginx:1.27.0\"\n    env {{ UP = \"${{s{}.host}}\" }}\n  }}\n",
                i.max(1) - 1
            ));
        }
        text.push_str("}\n");
        text
    }

    /// A generated landscape is read in halves from its middle: the second
    /// core reads the later half of the landscape's components.
    #[test]
    fn a_large_landscape_is_read_in_halves() {
        let text = large_landscape();
        assert!(text.len() >= super::HALVES_FROM);
        let at = middle(&text).expect("a middle");
        let (read, members) = second_first(&text, at);
        assert!((900..=1_100).contains(&members), "{members}");
        assert_eq!(format!("{read:?}"), one_core(&text));
        assert_eq!(
            format!("{:?}", super::parse(FileId(0), &text)),
            one_core(&text)
        );
    }

    /// Where the other core is busy until the first has read the whole
    /// file, the first reads the second's part itself, and the second, once
    /// free, reads nothing: no core waits for the other. So too where the
    /// first never stops where the second starts (inside a string): it
    /// reads to the end, and the second need not begin.
    #[test]
    fn with_the_other_core_busy_the_first_reads_on_alone() {
        use std::sync::atomic::{AtomicBool, Ordering};
        let text = large_landscape();
        let member = middle(&text).expect("a middle");
        let in_string = member + text[member..].find("nginx").expect("a string") + 2;
        for at in [member, in_string] {
            let (sent, received) = std::sync::mpsc::channel();
            let text = text.clone();
            // On a thread of its own, which the test leaves behind should it
            // wait for ever.
            std::thread::spawn(move || {
                let (busy, done) = (AtomicBool::new(false), AtomicBool::new(false));
                let wait =
                    |flag: &AtomicBool| assert!(crate::parallel::until(flag), "waited a minute");
                let read = crate::parallel::run_on_two_cores(crate::parallel::Arenas::Two, || {
                    crate::parallel::beside(
                        || {
                            busy.store(true, Ordering::Release);
                            wait(&done);
                        },
                        || {
                            wait(&busy);
                            let read = parse_split(FileId(0), &text, at);
                            done.store(true, Ordering::Release);
                            read
                        },
                    )
                    .1
                });
                let read = (format!("{:?}", read.file), read.taken, read.second_read);
                let _ = sent.send((read, one_core(&text)));
            });
            let read = received.recv_timeout(std::time::Duration::from_secs(60));
            let ((read, taken, second_read), whole) = read.expect("read without waiting for ever");
            assert_eq!((taken, second_read), (0, false), "second half from {at}");
            assert_eq!(read, whole, "second half from {at}");
        }
    }
}

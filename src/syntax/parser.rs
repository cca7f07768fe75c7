//! Turns pest's parse tree into the AST. Syntax errors become E0101 diagnostics
//! with the position pest reports and a help line naming what was expected.

use super::ast::*;
use crate::diag::{Diagnostic, Diagnostics, ErrorCode};
use crate::source::{FileId, Span, Spanned};
use pest::Parser as _;
use pest::iterators::Pair;
use pest_derive::Parser;

#[derive(Parser)]
#[grammar = "../grammar/bom.pest"]
pub(super) struct BomParser;

/// Deepest nesting of blocks, lists, calls and type arguments accepted; deeper
/// input is refused with a diagnostic instead of exhausting the stack.
const MAX_DEPTH: usize = 64;

/// Parses one file. On a syntax error the file yields no AST and one diagnostic.
pub fn parse(file: FileId, text: &str, diags: &mut Diagnostics) -> Option<File> {
    if let Some(offset) = too_deep(text) {
        diags.push(too_deep_diagnostic(file, offset));
        return None;
    }
    // A well-formed file is read without pest (see `fast`); anything else is
    // pest's, with pest's diagnostics.
    if let Some(parsed) = super::fast::parse(file, text) {
        return Some(parsed);
    }
    parse_whole(file, text, diags)
}

/// `text` parsed by pest.
fn parse_whole(file: FileId, text: &str, diags: &mut Diagnostics) -> Option<File> {
    match BomParser::parse(Rule::file, text) {
        Ok(mut pairs) => {
            let mut builder = Builder { file, diags };
            let root = pairs.next()?;
            Some(builder.file(root))
        }
        Err(err) => {
            diags.push(syntax_diagnostic(file, text, err));
            None
        }
    }
}

/// The diagnostic for input nested deeper than [`MAX_DEPTH`].
pub(super) fn too_deep_diagnostic(file: FileId, offset: usize) -> Diagnostic {
    Diagnostic::new(ErrorCode::Syntax, "nesting too deep")
        .label(Span::new(file, offset, offset + 1), "nested too deeply here")
        .help(format!("bomc accepts at most {MAX_DEPTH} nested blocks, lists, calls and type arguments; split the value into named parts"))
}

/// Where `text` first nests deeper than [`MAX_DEPTH`], counted as the grammar
/// recurses: blocks, lists, calls and type arguments (`list<list<…>>`), but not
/// inside strings or comments, which the grammar does not descend into.
/// pest is not asked to parse such input at all, so this count is what keeps
/// the parser's recursion off the end of the stack: it must not undercount.
pub(super) fn too_deep(text: &str) -> Option<usize> {
    super::nesting::too_deep(text, MAX_DEPTH)
}

fn rule_name(rule: &Rule) -> Option<&'static str> {
    Some(match rule {
        Rule::EOI => "end of file",
        Rule::import => "`import`",
        Rule::definition | Rule::def_keyword => {
            "`landscape`, `kind`, `image`, `environment` or `import`"
        }
        Rule::block => "`{`",
        Rule::param_decl => "`param`",
        Rule::let_decl => "`let`",
        Rule::component | Rule::block_field | Rule::assignment | Rule::path => "a setting",
        Rule::type_expr | Rule::type_name => "a type",
        Rule::list => "a list",
        Rule::call => "a function call",
        Rule::reference | Rule::ident => "a name",
        Rule::boolean | Rule::null | Rule::duration | Rule::size | Rule::float | Rule::int => {
            "a value"
        }
        Rule::string => "a string",
        Rule::interpolation => "`${`",
        Rule::doc | Rule::docs => "a doc comment",
        _ => return None,
    })
}

pub(super) fn syntax_diagnostic(
    file: FileId,
    text: &str,
    err: pest::error::Error<Rule>,
) -> Diagnostic {
    use pest::error::{ErrorVariant, InputLocation};
    let pos = match err.location {
        InputLocation::Pos(p) => p,
        InputLocation::Span((s, _)) => s,
    };
    let end = text
        .get(pos..)
        .and_then(|rest| rest.chars().next())
        .map(|c| pos + c.len_utf8())
        .unwrap_or(pos);
    let found = text
        .get(pos..)
        .and_then(|rest| rest.chars().next())
        .map(|c| match c {
            '\n' => String::from("end of line"),
            c => format!("`{c}`"),
        })
        .unwrap_or_else(|| String::from("end of file"));
    let expected = match &err.variant {
        ErrorVariant::ParsingError { positives, .. } => {
            let mut names: Vec<&str> = positives.iter().filter_map(rule_name).collect();
            names.sort_unstable();
            names.dedup();
            names
        }
        ErrorVariant::CustomError { .. } => Vec::new(),
    };
    let rest = text.get(pos..).unwrap_or("");
    let reserved = ["import", "param", "true", "false", "null"]
        .into_iter()
        .find(|k| {
            rest.starts_with(k)
                && !rest[k.len()..]
                    .starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        });
    let at_end = rest.trim().is_empty();
    let unclosed = if at_end { unclosed_brace(text) } else { None };
    let line_before = text
        .get(..pos)
        .unwrap_or("")
        .rsplit('\n')
        .next()
        .unwrap_or("")
        .trim();
    let bare_setting = !line_before.is_empty()
        && !found.starts_with("end")
        && line_before
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.');
    let help = if let Some(word) = reserved {
        format!("`{word}` is a reserved word and cannot be used as a name; choose another name")
    } else if unclosed.is_some() {
        String::from("a `{` is never closed; add the matching `}`")
    } else if bare_setting {
        format!("a setting is written `{line_before} = value`: is the `=` missing?")
    } else if found == "`\"`" || text.get(..pos).is_some_and(unclosed_string) {
        String::from("a string must close with `\"` on the same line; write `\\n` for a line break")
    } else if expected.is_empty() {
        String::from("check the syntax against docs/language.md")
    } else {
        let mut list = expected.clone();
        let last = list.pop().unwrap_or("");
        if list.is_empty() {
            format!("expected {last}")
        } else {
            format!("expected {} or {last}", list.join(", "))
        }
    };
    let mut diag = Diagnostic::new(ErrorCode::Syntax, format!("unexpected {found}"));
    if let Some(open) = unclosed {
        diag = diag.label(Span::new(file, open, open + 1), "this `{` is never closed");
    }
    diag.label(Span::new(file, pos, end), "unexpected here")
        .help(help)
}

/// The position of the last `{` left open at the end of `text`, if any.
fn unclosed_brace(text: &str) -> Option<usize> {
    let mut open: Vec<usize> = Vec::new();
    let mut in_string = false;
    let mut escaped = false;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if in_string {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') | (false, '\n') => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '/' if chars.peek().is_some_and(|(_, n)| *n == '/') => {
                for (_, n) in chars.by_ref() {
                    if n == '\n' {
                        break;
                    }
                }
            }
            '"' => in_string = true,
            '{' => open.push(i),
            '}' => {
                open.pop();
            }
            _ => {}
        }
    }
    open.last().copied()
}

/// Whether the last line before the error holds an unterminated string.
fn unclosed_string(before: &str) -> bool {
    let line = before.rsplit('\n').next().unwrap_or("");
    let mut quotes = 0;
    let mut escaped = false;
    for c in line.chars() {
        match (escaped, c) {
            (true, _) => escaped = false,
            (false, '\\') => escaped = true,
            (false, '"') => quotes += 1,
            _ => {}
        }
    }
    quotes % 2 == 1
}

struct Builder<'d> {
    file: FileId,
    diags: &'d mut Diagnostics,
}

impl Builder<'_> {
    fn span(&self, pair: &Pair<Rule>) -> Span {
        let s = pair.as_span();
        Span::new(self.file, s.start(), s.end())
    }

    fn ident(&self, pair: Pair<Rule>) -> Ident {
        Spanned::new(pair.as_str().to_string(), self.span(&pair))
    }

    fn file(&mut self, pair: Pair<Rule>) -> File {
        let mut file = File::default();
        for item in pair.into_inner() {
            match item.as_rule() {
                Rule::import => {
                    let span = self.span(&item);
                    let mut inner = item.into_inner();
                    let _docs = inner.next();
                    if let Some(target) = inner.next() {
                        let tspan = self.span(&target);
                        let text = self.plain_string(target);
                        file.imports.push(Import {
                            target: Spanned::new(text, tspan),
                            span,
                        });
                    }
                }
                Rule::definition => file.definitions.push(self.definition(item)),
                _ => {}
            }
        }
        file
    }

    fn docs(&self, pair: Pair<Rule>) -> Vec<String> {
        pair.into_inner()
            .map(|d| super::fast::doc_text(d.as_str()))
            .collect()
    }

    fn definition(&mut self, pair: Pair<Rule>) -> Definition {
        let span = self.span(&pair);
        let mut inner = pair.into_inner();
        let docs = inner.next().map(|d| self.docs(d)).unwrap_or_default();
        let kind = match inner.next().map(|k| k.as_str().to_string()).as_deref() {
            Some("kind") => DefKind::Kind,
            Some("image") => DefKind::Image,
            Some("environment") => DefKind::Environment,
            _ => DefKind::Landscape,
        };
        let name = inner
            .next()
            .map(|n| self.ident(n))
            .unwrap_or_default_ident(span);
        let body = inner.next().map(|b| self.block(b)).unwrap_or_default();
        Definition {
            docs,
            kind,
            name,
            body,
            span,
        }
    }

    fn block(&mut self, pair: Pair<Rule>) -> Block {
        let span = self.span(&pair);
        let members = pair.into_inner().filter_map(|m| self.member(m)).collect();
        Block { members, span }
    }

    fn member(&mut self, pair: Pair<Rule>) -> Option<Member> {
        let span = self.span(&pair);
        let rule = pair.as_rule();
        let mut inner = pair.into_inner();
        let docs = inner.next().map(|d| self.docs(d)).unwrap_or_default();
        Some(match rule {
            Rule::param_decl => {
                let name = self.ident(inner.next()?);
                let ty = self.type_expr(inner.next()?);
                let default = inner.next().map(|e| self.expr(e));
                Member::Param(Param {
                    docs,
                    name,
                    ty,
                    default,
                    span,
                })
            }
            Rule::let_decl => {
                let name = self.ident(inner.next()?);
                let value = self.expr(inner.next()?);
                Member::Let(Let {
                    docs,
                    name,
                    value,
                    span,
                })
            }
            Rule::component => {
                let kind = self.ident(inner.next()?);
                let name = self.ident(inner.next()?);
                let body = self.block(inner.next()?);
                Member::Component(Component {
                    docs,
                    kind,
                    name,
                    body,
                    span,
                })
            }
            Rule::block_field => {
                let key = self.key(inner.next()?);
                let block = inner.next()?;
                let value = Expr {
                    span: self.span(&block),
                    kind: ExprKind::Map(self.block(block)),
                };
                Member::Assign(Assign {
                    docs,
                    path: vec![key],
                    value,
                    span,
                })
            }
            Rule::assignment => {
                let path = inner.next()?.into_inner().map(|k| self.key(k)).collect();
                let value = self.expr(inner.next()?);
                Member::Assign(Assign {
                    docs,
                    path,
                    value,
                    span,
                })
            }
            _ => return None,
        })
    }

    fn key(&mut self, pair: Pair<Rule>) -> Ident {
        match pair.as_rule() {
            Rule::string => {
                let span = self.span(&pair);
                Spanned::new(self.plain_string(pair), span)
            }
            _ => self.ident(pair),
        }
    }

    fn type_expr(&self, pair: Pair<Rule>) -> Spanned<TypeExpr> {
        let span = self.span(&pair);
        let mut inner = pair.into_inner();
        let name = inner
            .next()
            .map(|n| n.as_str().to_string())
            .unwrap_or_default();
        let arg = inner.next().map(|a| Box::new(self.type_expr(a)));
        Spanned::new(TypeExpr { name, arg }, span)
    }

    /// A string used as a key or import path: interpolation is not allowed there.
    fn plain_string(&mut self, pair: Pair<Rule>) -> String {
        let mut out = String::new();
        for part in self.string_parts(pair) {
            match part {
                StrPart::Text(t) => out.push_str(&t),
                StrPart::Interp(_, span) => self.diags.push(
                    Diagnostic::new(ErrorCode::Syntax, "interpolation is not allowed here")
                        .label(span, "interpolation in a key or import path")
                        .help(
                            "keys and import paths are fixed text; write `\\${` for a literal `${`",
                        ),
                ),
            }
        }
        out
    }

    fn string_parts(&mut self, pair: Pair<Rule>) -> Vec<StrPart> {
        let mut parts: Vec<StrPart> = Vec::new();
        use super::fast::push_text;
        for part in pair.into_inner() {
            match part.as_rule() {
                Rule::text => push_text(&mut parts, part.as_str()),
                Rule::escape => {
                    let c = part.as_str().chars().nth(1).unwrap_or('\\');
                    let replaced = match c {
                        'n' => "\n",
                        't' => "\t",
                        'r' => "\r",
                        '"' => "\"",
                        '\\' => "\\",
                        '$' => "$",
                        _ => {
                            self.diags.push(
                                Diagnostic::new(
                                    ErrorCode::InvalidEscape,
                                    format!("unknown escape `\\{c}`"),
                                )
                                .label(self.span(&part), "not a valid escape")
                                .help("valid escapes are `\\n`, `\\t`, `\\r`, `\\\"`, `\\\\` and `\\$`"),
                            );
                            ""
                        }
                    };
                    push_text(&mut parts, replaced);
                }
                Rule::interpolation => {
                    let span = self.span(&part);
                    let path = part
                        .into_inner()
                        .next()
                        .map(|r| r.into_inner().map(|i| self.ident(i)).collect())
                        .unwrap_or_default();
                    parts.push(StrPart::Interp(path, span));
                }
                _ => {}
            }
        }
        parts
    }

    fn number<T: std::str::FromStr>(&mut self, pair: &Pair<Rule>, digits: &str) -> Option<T> {
        match super::fast::number::<T>(digits) {
            Some(v) => Some(v),
            None => {
                self.diags.push(
                    Diagnostic::new(ErrorCode::NumberOutOfRange, "number too large")
                        .label(self.span(pair), "does not fit in 64 bits")
                        .help("integers, durations and sizes must fit in 64 bits"),
                );
                None
            }
        }
    }

    /// A `duration` or `size`: its number times its unit's factor in `units`.
    fn scaled(&mut self, pair: &Pair<Rule>, units: &[(&str, u64)]) -> u64 {
        let text = pair.as_str();
        // The grammar ends every quantity with one of its units; the tables
        // list the longer ones first (`ms` before `s`, `KiB` before `B`).
        let (unit, factor) = units
            .iter()
            .find(|(u, _)| text.ends_with(u))
            .copied()
            .unwrap_or(("", 1));
        let digits = text.get(..text.len() - unit.len()).unwrap_or("0");
        let Some(n) = self.number::<u64>(pair, digits) else {
            return 0;
        };
        match n.checked_mul(factor) {
            Some(v) => v,
            None => {
                self.diags.push(
                    Diagnostic::new(ErrorCode::NumberOutOfRange, "quantity too large")
                        .label(self.span(pair), "does not fit in 64 bits")
                        .help("durations are counted in milliseconds and sizes in bytes; both must fit in 64 bits"),
                );
                0
            }
        }
    }

    fn expr(&mut self, pair: Pair<Rule>) -> Expr {
        let span = self.span(&pair);
        let kind = match pair.as_rule() {
            Rule::string => ExprKind::Str(self.string_parts(pair)),
            Rule::int => ExprKind::Int(self.number::<i64>(&pair, pair.as_str()).unwrap_or(0)),
            Rule::float => {
                let f = super::fast::float(pair.as_str());
                if f.is_none() {
                    self.diags.push(
                        Diagnostic::new(ErrorCode::NumberOutOfRange, "number too large")
                            .label(self.span(&pair), "does not fit in a 64-bit float")
                            .help("write a smaller number"),
                    );
                }
                ExprKind::Float(f.unwrap_or(0.0))
            }
            Rule::boolean => ExprKind::Bool(pair.as_str() == "true"),
            Rule::null => ExprKind::Null,
            Rule::duration => ExprKind::Duration(self.scaled(&pair, &super::fast::DURATIONS)),
            Rule::size => ExprKind::Size(self.scaled(&pair, &super::fast::SIZES)),
            Rule::list => ExprKind::List(pair.into_inner().map(|e| self.expr(e)).collect()),
            Rule::block => ExprKind::Map(self.block(pair)),
            Rule::call => {
                let mut inner = pair.into_inner();
                let name = inner
                    .next()
                    .map(|n| self.ident(n))
                    .unwrap_or_default_ident(span);
                let args = inner.map(|e| self.expr(e)).collect();
                ExprKind::Call { name, args }
            }
            Rule::reference => ExprKind::Ref(pair.into_inner().map(|i| self.ident(i)).collect()),
            _ => ExprKind::List(Vec::new()),
        };
        Expr { kind, span }
    }
}

trait DefaultIdent {
    fn unwrap_or_default_ident(self, span: Span) -> Ident;
}

impl DefaultIdent for Option<Ident> {
    fn unwrap_or_default_ident(self, span: Span) -> Ident {
        self.unwrap_or_else(|| Spanned::new(String::new(), span))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_ok(text: &str) -> File {
        let mut diags = Diagnostics::default();
        let file = parse(FileId(0), text, &mut diags);
        assert!(diags.is_empty(), "{:?}", diags.as_slice());
        file.expect("parses")
    }

    #[test]
    fn parses_quantities() {
        let f = parse_ok(
            "landscape x { a = 90m\n b = 512MiB\n c = 2s\n d = 1_000 e = 1.5 f = 250ms g = 2h h = 3d i = 1w j = 2KB k = 3GB l = 7B m = 1TiB }",
        );
        let values: Vec<String> = f.definitions[0]
            .body
            .members
            .iter()
            .map(|m| match m {
                Member::Assign(a) => format!("{:?}", a.value.kind),
                _ => String::new(),
            })
            .collect();
        assert_eq!(
            values,
            [
                "Duration(5400000)",
                "Size(536870912)",
                "Duration(2000)",
                "Int(1000)",
                "Float(1.5)",
                "Duration(250)",
                "Duration(7200000)",
                "Duration(259200000)",
                "Duration(604800000)",
                "Size(2000)",
                "Size(3000000000)",
                "Size(7)",
                "Size(1099511627776)"
            ]
        );
    }

    #[test]
    fn parses_interpolation_and_escapes() {
        let f = parse_ok(r#"landscape x { a = "h=${db.host} \"q\" \${no}" }"#);
        let Member::Assign(a) = &f.definitions[0].body.members[0] else {
            panic!("assignment expected")
        };
        let ExprKind::Str(parts) = &a.value.kind else {
            panic!("string expected")
        };
        assert_eq!(parts.len(), 3);
        assert!(matches!(&parts[2], StrPart::Text(t) if t == " \"q\" ${no}"));
    }

    #[test]
    fn let_declares_and_null_is_a_literal_but_neither_takes_names_away() {
        let f = parse_ok(
            "landscape x {\n /// shared\n let base = { A = null }\n letters = 1\n let_me = 2\n}",
        );
        let members = &f.definitions[0].body.members;
        let Member::Let(l) = &members[0] else {
            panic!("a let expected")
        };
        assert_eq!(
            (l.name.node.as_str(), l.docs.as_slice()),
            ("base", &[String::from("shared")][..])
        );
        let ExprKind::Map(block) = &l.value.kind else {
            panic!("a map expected")
        };
        assert!(
            matches!(&block.members[0], Member::Assign(a) if matches!(a.value.kind, ExprKind::Null))
        );
        for (member, name) in members[1..].iter().zip(["letters", "let_me"]) {
            assert!(
                matches!(member, Member::Assign(a) if a.path_text() == name),
                "{name}"
            );
        }
        let mut diags = Diagnostics::default();
        assert!(parse(FileId(0), "landscape x { null = 1 }", &mut diags).is_none());
    }

    #[test]
    fn deep_nesting_is_refused() {
        let text = format!(
            "landscape x {{ a = {}{} }}",
            "[".repeat(200),
            "]".repeat(200)
        );
        let mut diags = Diagnostics::default();
        assert!(parse(FileId(0), &text, &mut diags).is_none());
        assert_eq!(diags.as_slice()[0].code, ErrorCode::Syntax);
    }

    /// The count is all that keeps pest's recursion off the end of the stack:
    /// brackets behind a comment that holds a quote, and type arguments, count.
    #[test]
    fn nesting_is_counted_as_the_grammar_recurses() {
        let deep = |open: &str, close: &str| {
            format!(
                "{}{}",
                open.repeat(MAX_DEPTH + 1),
                close.repeat(MAX_DEPTH + 1)
            )
        };
        for text in [
            format!("landscape x {{ /* \" */ a = {} /* \" */ }}", deep("[", "]")),
            format!(
                "landscape x {{\n // \"\n a = {}\n // \"\n}}",
                deep("[", "]")
            ),
            format!("kind k {{ param p: {}string }}", deep("list<", ">")),
            format!("landscape x {{ a = \"open\n b = {} }}", deep("[", "]")),
        ] {
            assert!(too_deep(&text).is_some(), "{text}");
        }
        // Brackets that the grammar reads as text do not count.
        let quiet = "[[[[[[[[".repeat(MAX_DEPTH);
        for text in [
            format!("landscape x {{ a = \"{quiet}\" }}"),
            format!("landscape x {{ a = \"\\\"{quiet}\" }}"),
            format!("landscape x {{\n // {quiet}\n /* {quiet} */ a = 1 }}"),
        ] {
            assert_eq!(too_deep(&text), None, "{text}");
        }
    }

    /// A large landscape, its services written in several shapes.
    fn large() -> String {
        let mut text =
            String::from("import \"postgres\"\n\nlandscape big {\n  let shared = { A = \"a\" }\n");
        for i in 0..1_500 {
            text.push_str(&format!(
                "  /// Service {i}, with a `{{`.\n  service svc{i} {{\n    image = \"nginx:1.27\"\n    ports {{ http = {port} }}\n    env = merge(shared, {{ URL = \"http://${{svc0.host}}:8080/{i}\" }}) // }}\n  }}\n  \"/route{i}\" = [1, 2.5, 30s, 1GiB, true, null] /* {{ */\n",
                port = 8000 + i
            ));
        }
        text.push_str("}\n\nenvironment production {\n  svc0.replicas = 2\n}\n");
        text
    }

    /// `text` parsed as bomc parses it and by pest alone, with what each
    /// reported.
    fn both_ways(text: &str) -> [String; 2] {
        let (mut ours, mut pests) = (Diagnostics::default(), Diagnostics::default());
        let parsed = parse(FileId(0), text, &mut ours);
        let by_pest = parse_whole(FileId(0), text, &mut pests);
        [
            format!("{parsed:?} {:?}", ours.as_slice()),
            format!("{by_pest:?} {:?}", pests.as_slice()),
        ]
    }

    /// The pieces a large file is made of in [`a_large_file_is_what_pest_makes_of_it`]:
    /// each a member or something between members (settings continued on the
    /// next line, doc comments, brackets in strings and comments, CRLF line
    /// ends, a list or a call over several lines) and, rarely, a syntax error.
    const PIECES: [&str; 10] = [
        "  name{i} = \"v {{ ${{x.y}} [\"\n",
        "  /// doc {{ of {i}\n  service s{i} {{\n    image = \"x:1\"\n    env {{ A = \"}}\" }}\n  }}\n",
        "  k{i} =\n    {i}\n",
        "  // a comment {{ [ (\n",
        "  /* a block\n }} ] ) comment */\n",
        "  list{i} = [\n    1,\n    2.5,\n  ]\n",
        "  m{i} {{ a = 1 }}\r\n",
        "  \"key {{ {i}\" = f(\n    1, \"(\")\n",
        "  p{i} = 1, q{i} = 2\n",
        "  bad{i} = = 1\n",
    ];

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 24, failure_persistence: None, ..proptest::prelude::ProptestConfig::default() })]

        /// A large file, well formed or with a syntax error anywhere, is
        /// what pest makes of it: the same tree, or the same diagnostic.
        #[test]
        fn a_large_file_is_what_pest_makes_of_it(
            pieces in proptest::collection::vec(0usize..9, 2_000..2_400),
            broken in proptest::option::weighted(0.2, 0usize..2_000),
            second in proptest::bool::ANY,
        ) {
            let mut text = String::from("landscape small { a = 1 }\n\n/// The big one.\nlandscape big {\n");
            for (i, piece) in pieces.iter().enumerate() {
                let piece = if broken == Some(i) { 9 } else { *piece };
                text.push_str(&PIECES[piece].replace("{i}", &i.to_string()).replace("{{", "{").replace("}}", "}"));
            }
            text.push_str("}\n");
            if second {
                text.push_str("environment production {\n  s1.replicas = 2\n}\n");
            }
            let [parsed, by_pest] = both_ways(&text);
            proptest::prop_assert_eq!(parsed, by_pest);
        }
    }

    /// What the hand-written reader makes of `text` against pest's parse of
    /// the whole file: where it vouches, the same tree, span for span, and
    /// pest reports nothing; where it does not, pest refuses the file or
    /// reports something. `true` if it vouched.
    fn read_as_pest_reads(text: &str) -> bool {
        // Neither parser is given input nested too deeply (see `parse`).
        if too_deep(text).is_some() {
            return false;
        }
        let fast = super::super::fast::parse(FileId(0), text);
        let mut diags = Diagnostics::default();
        let pest = parse_whole(FileId(0), text, &mut diags);
        let Some(fast) = fast else {
            assert!(
                pest.is_none() || !diags.is_empty(),
                "pest reads this cleanly, the reader does not vouch for it:\n{text}"
            );
            return false;
        };
        assert!(
            diags.is_empty(),
            "the reader vouched for what pest reports: {:?}\n{text}",
            diags.as_slice()
        );
        assert_eq!(
            format!("{:?}", Some(fast)),
            format!("{pest:?}"),
            "the reader's tree differs from pest's:\n{text}"
        );
        true
    }

    /// Every `.bom` in the repository: the examples, the standard library
    /// and the end-to-end landscapes are read without pest, to pest's tree;
    /// the broken files of the ui and hostile suites are either pest's alone
    /// or read to pest's tree.
    #[test]
    fn every_bom_in_the_repository_is_read_as_pest_reads_it() {
        fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
            for entry in std::fs::read_dir(dir).expect("a directory").flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(&path, out);
                } else if path.extension().is_some_and(|e| e == "bom") {
                    out.push(path);
                }
            }
        }
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let (mut vouched, mut files) = (0, Vec::new());
        for dir in ["examples", "stdlib", "docs", "tests"] {
            walk(&root.join(dir), &mut files);
        }
        for path in &files {
            let Ok(text) = std::fs::read_to_string(path) else {
                continue;
            };
            let read = read_as_pest_reads(&text);
            vouched += usize::from(read);
            let shipped = ["examples", "stdlib", "docs", "tests/e2e"]
                .iter()
                .any(|d| path.starts_with(root.join(d)));
            assert!(
                read || !shipped,
                "not read without pest: {}",
                path.display()
            );
        }
        assert!(
            files.len() > 250 && vouched > 100,
            "{vouched} of {}",
            files.len()
        );
        assert!(read_as_pest_reads(&large()));
    }

    /// Members in the grammar's corners, each on its own line(s):
    /// parameters and types, `let` and names that start like it, every kind
    /// of number, strings with escapes and interpolations, keys quoted and
    /// dotted, calls and lists with trailing commas, comments and doc
    /// comments of every shape, names that start like keywords.
    const CORNERS: [&str; 34] = [
        "param p{i}: string\n",
        "/// A parameter.\nparam q{i}: list<map<string>> = [] // default\n",
        "param r{i}: int = 5\n",
        "param s{i}: duration /* no default */\n",
        "paramx{i}: int\n",
        "let l{i} = { A = \"a\" }\n",
        "let_x{i} = 1\n",
        "letter{i} { a = 1 }\n",
        "let m{i} { z = 1 }\n",
        "n{i} = -12_000\n",
        "f{i} = -0.25, g{i} = 1_0.5_0\n",
        "d{i} = 90ms e{i} = 2s\n",
        "z{i} = [512MiB, 3B, 2w, 10KB, 1h, 5m, 7d, 1TiB, 0ms, 1_000GB]\n",
        "\"k {i}\" = \"a\\tb\\\\c\\$d ${ x.y } $e ${z}\\r\\n\"\n",
        "s{i} = \"\"\n",
        "u{i} = \"é ü 日本 \\\"q\\\"\"\n",
        "a{i}.b.\"c d\".e = 1\n",
        "\"quoted {i}\" { a = 1 }\n",
        "\"$x {x}\" = 1\n",
        "c{i} = f (1, [2, 3,], {a = 1}, g())\n",
        "c{i} = f(\n  1,\n)\n",
        "r{i} = a.b-c.d_e\n",
        "/* multi\n line {i} */\n",
        "//// not a doc {i}\n",
        "// a comment\n",
        "a{i} = /* in */ 1\n",
        "/**/ b{i} = 2\n",
        "/// doc {i}\n///\n///   more  \nservice s{i} {\n  image = \"x:1\"\n}\n",
        "t{i} = true, f{i} = false, n{i} = null\n",
        "w{i} = trueish\n",
        "e{i} = {}\nl{i} = []\n",
        "p{i} = 1, q{i} = 2,\n",
        "i{i} = \"${\n a.b // c\n }\"\n",
        "m{i} = { \"x\" = [ /* */ ] }\r\n",
    ];

    /// Members that pest refuses or the builder reports.
    const BROKEN: [&str; 16] = [
        "big = 99999999999999999999\n",
        "huge = 99999999999999999d\n",
        "bad = \"\\q\"\n",
        "x.y { z = 1 }\n",
        "\"${x}\" = 1\n",
        "x = = 1\n",
        "x = 1.\n",
        "y = a.\n",
        "z = \"open\n",
        "w = 5min\n",
        "v = -5s\n",
        "import = 1\n",
        "i = \"${ a.\n b }\"\n",
        "j = f(1 2)\n",
        "k = [,]\n",
        "/// trailing\n",
    ];

    /// Top-level items; the last two are broken.
    const ITEMS: [&str; 8] = [
        "import \"postgres\"\n",
        "/// A kind.\nkind k{i} {\n  param p: string\n}\n",
        "image i{i} { base = \"x\" }\n",
        "environment e{i} { a.b = 1 }\n",
        "kindx{i} {}\n",
        "//// top\n/* top */\n",
        "import \"${x}\"\n",
        "landscape param {}\n",
    ];

    /// Bytes and words that change what a file means, inserted at random.
    const EDITS: [&str; 30] = [
        "{", "}", "\"", "/", "*", "\n", "=", ".", ",", "-", "1", "a", " ", "$", "\\", "<", ">",
        "(", ")", "[", "]", "///", "//", "/*", "*/", "param", "let ", "true", ":", "\r",
    ];

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 512, failure_persistence: None, ..proptest::prelude::ProptestConfig::default() })]

        /// Whatever the file, well formed or broken anywhere: where the
        /// reader vouches for it, pest reads it to the same tree without a
        /// word, and where pest reads it cleanly, the reader vouches for it.
        #[test]
        fn the_reader_vouches_for_what_pest_reads_cleanly_and_reads_it_the_same(
            items in proptest::collection::vec(0usize..8, 0..4),
            members in proptest::collection::vec(0usize..34, 1..40),
            broken in proptest::option::weighted(0.25, (0usize..40, 0usize..16)),
            edits in proptest::option::weighted(0.4, proptest::collection::vec((0usize..100_000, 0usize..31, 0usize..4), 1..3)),
        ) {
            let mut text = String::new();
            for (i, item) in items.iter().enumerate() {
                text.push_str(&ITEMS[*item].replace("{i}", &i.to_string()));
            }
            text.push_str("/// The landscape.\nlandscape big {\n");
            for (i, member) in members.iter().enumerate() {
                text.push_str(&CORNERS[*member].replace("{i}", &i.to_string()));
                if broken.is_some_and(|(at, _)| at == i) {
                    text.push_str(BROKEN[broken.map_or(0, |b| b.1)]);
                }
            }
            text.push_str("}\n");
            for (at, edit, cut) in edits.unwrap_or_default() {
                let mut at = at % (text.len() + 1);
                while !text.is_char_boundary(at) {
                    at -= 1;
                }
                if edit == EDITS.len() {
                    let mut end = (at + cut).min(text.len());
                    while !text.is_char_boundary(end) {
                        end += 1;
                    }
                    text.replace_range(at..end, "");
                } else {
                    text.insert_str(at, EDITS[edit]);
                }
            }
            read_as_pest_reads(&text);
        }
    }

    /// Input at the deepest nesting accepted parses on a thread with half of
    /// a test thread's stack (a release build needs under 128 KiB).
    #[test]
    fn the_deepest_nesting_accepted_parses_on_a_small_stack() {
        let levels = MAX_DEPTH - 2;
        let blocks = format!("{} x = 1 {}", "a {".repeat(levels), "}".repeat(levels));
        let lists = format!("v = {}1{}", "[".repeat(levels), "]".repeat(levels));
        let calls = format!("w = {}1{}", "f(".repeat(levels), ")".repeat(levels));
        let text = format!(
            "kind k {{ param p: {}string{} }}\nlandscape x {{ {blocks}\n {lists}\n {calls} }}\n",
            "list<".repeat(levels),
            ">".repeat(levels)
        );
        let parsed = std::thread::Builder::new()
            .stack_size(1024 * 1024)
            .spawn(move || {
                let mut diags = Diagnostics::default();
                let parsed = parse(FileId(0), &text, &mut diags).is_some();
                (parsed, format!("{:?}", diags.as_slice()))
            })
            .expect("a thread")
            .join()
            .expect("no overflow");
        assert!(parsed.0, "{}", parsed.1);
    }
}

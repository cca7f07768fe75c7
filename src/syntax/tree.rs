//! The layout-preserving view of a file: which grammar rule covers which bytes,
//! for tools that rewrite the text itself (the formatter). The AST of
//! [`super::ast`] drops what these tools need (spellings such as `1_000` or
//! `90m`, comment positions); this tree keeps every byte addressable.

use super::parser::{BomParser, Rule, syntax_diagnostic, too_deep, too_deep_diagnostic};
use crate::diag::Diagnostic;
use crate::source::FileId;
use pest::Parser as _;
use pest::iterators::Pair;

/// One grammar rule's match. Tokens (`Token`) are spelled exactly as written and
/// have no children; the grammar's punctuation and keywords are implied by the
/// kind of their parent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    pub kind: NodeKind,
    pub start: usize,
    pub end: usize,
    pub children: Vec<Node>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeKind {
    File,
    Import,
    Definition,
    Docs,
    Block,
    Param,
    Let,
    Component,
    BlockField,
    Assignment,
    List,
    Call,
    /// Everything printed as written: names, keywords of definitions, doc
    /// lines, paths, references, types, strings, numbers, quantities, `null`.
    Token(Token),
    EndOfFile,
    /// Silent rules of the grammar (`_{ … }`): never a node; named so the
    /// rule-to-kind match stays exhaustive.
    Silent,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Token {
    DefKeyword,
    Doc,
    Ident,
    Path,
    Reference,
    Type,
    Str,
    Bool,
    Null,
    Number,
    Quantity,
}

impl Node {
    pub fn text<'s>(&self, source: &'s str) -> &'s str {
        source.get(self.start..self.end).unwrap_or("")
    }

    /// The spelled-as-written pieces of the file under this node, in order.
    pub fn tokens(&self) -> Vec<&Node> {
        let mut out = Vec::new();
        let mut stack = vec![self];
        while let Some(node) = stack.pop() {
            if matches!(node.kind, NodeKind::Token(_)) {
                out.push(node);
            } else {
                stack.extend(node.children.iter().rev());
            }
        }
        out
    }
}

/// Parses `text` into its layout tree; a syntax error is the same E0101
/// diagnostic `bomc check` reports.
pub fn parse_tree(file: FileId, text: &str) -> Result<Node, Diagnostic> {
    if let Some(offset) = too_deep(text) {
        return Err(too_deep_diagnostic(file, offset));
    }
    let mut pairs =
        BomParser::parse(Rule::file, text).map_err(|err| syntax_diagnostic(file, text, err))?;
    Ok(pairs.next().map(node).unwrap_or(Node {
        kind: NodeKind::File,
        start: 0,
        end: text.len(),
        children: Vec::new(),
    }))
}

fn node(pair: Pair<Rule>) -> Node {
    let span = pair.as_span();
    let kind = kind(pair.as_rule());
    let children = match kind {
        NodeKind::Token(_) | NodeKind::EndOfFile | NodeKind::Silent => Vec::new(),
        _ => pair.into_inner().map(node).collect(),
    };
    Node {
        kind,
        start: span.start(),
        end: span.end(),
        children,
    }
}

/// Every rule of the grammar, named: a rule added to the grammar must be
/// placed here before the formatter compiles, so none is ever dropped.
fn kind(rule: Rule) -> NodeKind {
    match rule {
        Rule::file => NodeKind::File,
        Rule::import => NodeKind::Import,
        Rule::definition => NodeKind::Definition,
        Rule::docs => NodeKind::Docs,
        Rule::block => NodeKind::Block,
        Rule::param_decl => NodeKind::Param,
        Rule::let_decl => NodeKind::Let,
        Rule::component => NodeKind::Component,
        Rule::block_field => NodeKind::BlockField,
        Rule::assignment => NodeKind::Assignment,
        Rule::list => NodeKind::List,
        Rule::call => NodeKind::Call,
        Rule::EOI => NodeKind::EndOfFile,
        Rule::def_keyword => NodeKind::Token(Token::DefKeyword),
        Rule::doc => NodeKind::Token(Token::Doc),
        // `let_keyword` is only looked ahead at, never kept in the tree.
        Rule::ident | Rule::keyword | Rule::let_keyword => NodeKind::Token(Token::Ident),
        Rule::path => NodeKind::Token(Token::Path),
        Rule::reference => NodeKind::Token(Token::Reference),
        Rule::type_expr | Rule::type_name => NodeKind::Token(Token::Type),
        // A string is one token: its text, escapes and `${…}` are kept as written.
        Rule::string | Rule::text | Rule::escape | Rule::interpolation => {
            NodeKind::Token(Token::Str)
        }
        Rule::boolean => NodeKind::Token(Token::Bool),
        Rule::null => NodeKind::Token(Token::Null),
        Rule::int | Rule::float => NodeKind::Token(Token::Number),
        Rule::duration | Rule::size => NodeKind::Token(Token::Quantity),
        Rule::WHITESPACE
        | Rule::COMMENT
        | Rule::line_comment
        | Rule::block_comment
        | Rule::item
        | Rule::member
        | Rule::key
        | Rule::expr
        | Rule::literal
        | Rule::digits
        | Rule::string_part
        | Rule::ident_chars
        | Rule::ident_char => NodeKind::Silent,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<NodeKind> {
        let tree = parse_tree(FileId(0), text).expect("parses");
        tree.children[0].children[3].children[0].children[1..]
            .iter()
            .map(|n| n.kind)
            .collect()
    }

    #[test]
    fn let_and_null_are_rules_of_their_own() {
        assert_eq!(
            kinds("landscape x { let a = null }"),
            [NodeKind::Token(Token::Ident), NodeKind::Token(Token::Null)]
        );
    }

    #[test]
    fn a_setting_named_like_let_is_an_assignment() {
        let tree = parse_tree(FileId(0), "landscape x { letter = 1 }").expect("parses");
        let member = &tree.children[0].children[3].children[0];
        assert_eq!(member.kind, NodeKind::Assignment);
        assert_eq!(
            member.children[1].text("landscape x { letter = 1 }"),
            "letter"
        );
    }

    #[test]
    fn a_syntax_error_is_the_check_diagnostic() {
        let err = parse_tree(FileId(0), "landscape x {").expect_err("unclosed");
        assert_eq!(err.code, crate::diag::ErrorCode::Syntax);
    }
}

//! The `.bom` the importer builds, as a small tree, and its text: the layout
//! `bomc fmt` gives (two-space indents, map settings as blocks, short lists
//! on one line), so an imported file is already formatted.

/// A piece of a string: literal text or an interpolated reference.
#[derive(Clone, Debug, PartialEq)]
pub enum Piece {
    Lit(String),
    Ref(String),
}

/// A value.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    /// A string; a single reference prints as the bare reference.
    Str(Vec<Piece>),
    Int(i64),
    Float(f64),
    Bool(bool),
    Null,
    /// A literal written as is: a duration (`2s`), a size (`1GiB`), a reference.
    Raw(String),
    List(Vec<Expr>),
    Map(Vec<(String, Expr)>),
    Call(String, Vec<Expr>),
}

impl Expr {
    pub fn str(s: &str) -> Expr {
        Expr::Str(vec![Piece::Lit(s.to_string())])
    }

    pub fn reference(path: &str) -> Expr {
        Expr::Str(vec![Piece::Ref(path.to_string())])
    }

    pub fn secret(name: &str) -> Expr {
        Expr::Call(String::from("secret"), vec![Expr::str(name)])
    }
}

/// A member of a body: `key = value`, or a block `head { … }`, with the
/// `//` comment lines printed above it.
#[derive(Clone, Debug, PartialEq)]
pub struct Member {
    pub comment: Vec<String>,
    pub body: Body,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Body {
    Set(String, Expr),
    Block(String, Vec<Member>),
    /// A line written as is (`import "mysql"`, `param x: string = "y"`).
    Line(String),
    /// `let NAME = { … }`, a map over several lines.
    Let(String, Vec<(String, Expr)>),
}

impl Member {
    pub fn set(key: &str, value: Expr) -> Member {
        Member {
            comment: Vec::new(),
            body: Body::Set(key.to_string(), value),
        }
    }

    pub fn block(head: &str, members: Vec<Member>) -> Member {
        Member {
            comment: Vec::new(),
            body: Body::Block(head.to_string(), members),
        }
    }

    pub fn line(text: String) -> Member {
        Member {
            comment: Vec::new(),
            body: Body::Line(text),
        }
    }

    pub fn with_comment(mut self, lines: impl IntoIterator<Item = String>) -> Member {
        self.comment.extend(lines);
        self
    }
}

/// Words that cannot be bare keys.
const RESERVED: &[&str] = &["import", "param", "true", "false", "let", "null"];

/// A key as written: bare when it is an identifier, else quoted.
pub fn key(k: &str) -> String {
    let mut chars = k.chars();
    let ident = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        && !RESERVED.contains(&k);
    if ident { k.to_string() } else { quote(k) }
}

/// A string literal: `"`, `\`, control characters and `${` escaped.
pub fn quote(s: &str) -> String {
    format!("\"{}\"", escape(s))
}

fn escape(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '$' if chars.peek() == Some(&'{') => out.push_str("\\$"),
            c => out.push(c),
        }
    }
    out
}

/// A value on one line.
pub fn inline(e: &Expr) -> String {
    match e {
        Expr::Str(pieces) => match pieces.as_slice() {
            [Piece::Ref(r)] => r.clone(),
            _ => {
                let mut out = String::from("\"");
                for p in pieces {
                    match p {
                        Piece::Lit(s) => out.push_str(&escape(s)),
                        Piece::Ref(r) => out.push_str(&format!("${{{r}}}")),
                    }
                }
                out.push('"');
                out
            }
        },
        Expr::Int(i) => i.to_string(),
        Expr::Float(f) => {
            let s = f.to_string();
            if s.contains('.') { s } else { format!("{s}.0") }
        }
        Expr::Bool(b) => b.to_string(),
        Expr::Null => String::from("null"),
        Expr::Raw(r) => r.clone(),
        Expr::List(items) => format!(
            "[{}]",
            items.iter().map(inline).collect::<Vec<_>>().join(", ")
        ),
        Expr::Map(entries) if entries.is_empty() => String::from("{}"),
        Expr::Map(entries) => format!(
            "{{ {} }}",
            entries
                .iter()
                .map(|(k, v)| format!("{} = {}", key(k), inline(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Expr::Call(name, args) => format!(
            "{name}({})",
            args.iter().map(inline).collect::<Vec<_>>().join(", ")
        ),
    }
}

const WIDTH: usize = 100;

/// Prints members at an indentation depth.
pub fn print(members: &[Member], depth: usize, out: &mut String) {
    let pad = "  ".repeat(depth);
    for m in members {
        for c in &m.comment {
            if c.is_empty() {
                out.push_str(&format!("{pad}//\n"));
            } else {
                out.push_str(&format!("{pad}// {c}\n"));
            }
        }
        match &m.body {
            Body::Line(text) => out.push_str(&format!("{pad}{text}\n")),
            Body::Let(name, entries) => {
                let members: Vec<Member> = entries
                    .iter()
                    .map(|(k, v)| Member::set(k, v.clone()))
                    .collect();
                out.push_str(&format!("{pad}let {name} = {{\n"));
                print(&members, depth + 1, out);
                out.push_str(&format!("{pad}}}\n"));
            }
            Body::Block(head, body) if body.is_empty() => {
                out.push_str(&format!("{pad}{head} {{}}\n"))
            }
            Body::Block(head, body) => {
                out.push_str(&format!("{pad}{head} {{\n"));
                print(body, depth + 1, out);
                out.push_str(&format!("{pad}}}\n"));
            }
            Body::Set(k, Expr::Map(entries)) if !entries.is_empty() => {
                let members: Vec<Member> = entries
                    .iter()
                    .map(|(k, v)| Member::set(k, v.clone()))
                    .collect();
                let head = key(k);
                out.push_str(&format!("{pad}{head} {{\n"));
                print(&members, depth + 1, out);
                out.push_str(&format!("{pad}}}\n"));
            }
            Body::Set(k, value) => {
                let line = format!("{pad}{} = {}", key(k), inline(value));
                match value {
                    Expr::List(items) if line.len() > WIDTH && !items.is_empty() => {
                        out.push_str(&format!("{pad}{} = [\n", key(k)));
                        for item in items {
                            out.push_str(&format!("{pad}  {},\n", inline(item)));
                        }
                        out.push_str(&format!("{pad}]\n"));
                    }
                    _ => {
                        out.push_str(&line);
                        out.push('\n');
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_stay_data() {
        assert_eq!(quote("a\"b\\c${HOME}$x"), r#""a\"b\\c\${HOME}$x""#);
        assert_eq!(key("discovery.type"), "\"discovery.type\"");
        assert_eq!(key("MYSQL_DATABASE"), "MYSQL_DATABASE");
        assert_eq!(key("null"), "\"null\"");
    }

    #[test]
    fn blocks_and_lists() {
        let members = vec![Member::block(
            "service web",
            vec![
                Member::set("image", Expr::str("nginx:1.27.3")),
                Member::set(
                    "env",
                    Expr::Map(vec![(
                        String::from("DB"),
                        Expr::Str(vec![Piece::Ref(String::from("db.host"))]),
                    )]),
                ),
            ],
        )];
        let mut out = String::new();
        print(&members, 0, &mut out);
        assert_eq!(
            out,
            "service web {\n  image = \"nginx:1.27.3\"\n  env {\n    DB = db.host\n  }\n}\n"
        );
    }
}

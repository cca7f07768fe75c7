//! Rendering diagnostics: human text through miette's graphical handler, and
//! JSON for machines.

use super::Diagnostic;
use crate::source::{SourceMap, Span};
use miette::{
    GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteError, MietteSpanContents,
    SourceCode, SourceSpan, SpanContents,
};
use serde::Serialize;
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

/// A diagnostic as miette sees it: the source of its primary file, the labels in
/// that file, and labels in other files as related reports.
struct Report<'a> {
    diag: &'a Diagnostic,
    source: Option<Window<'a>>,
    labels: Vec<LabeledSpan>,
    related: Vec<Report<'a>>,
    primary: bool,
}

impl fmt::Debug for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.diag.message)
    }
}

impl fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.primary {
            let severity = if self.diag.code.is_warning() {
                "warning"
            } else {
                "error"
            };
            write!(
                f,
                "{severity}[{}]: {}",
                self.diag.code.code(),
                self.diag.message
            )
        } else {
            f.write_str("related location:")
        }
    }
}

impl std::error::Error for Report<'_> {}

impl miette::Diagnostic for Report<'_> {
    fn help<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        if !self.primary {
            return None;
        }
        match (&self.diag.help, self.diag.repeats) {
            (help, 0) => help
                .as_ref()
                .map(|h| Box::new(h.as_str()) as Box<dyn fmt::Display>),
            (help, repeats) => Some(Box::new(format!(
                "{}{}",
                help.as_ref().map(|h| format!("{h}\n")).unwrap_or_default(),
                repeats_note(repeats)
            ))),
        }
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(if self.primary && self.diag.code.is_warning() {
            miette::Severity::Warning
        } else if self.primary {
            miette::Severity::Error
        } else {
            miette::Severity::Advice
        })
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.source.as_ref().map(|s| s as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        if self.labels.is_empty() {
            None
        } else {
            Some(Box::new(self.labels.iter().cloned()))
        }
    }

    fn related<'b>(&'b self) -> Option<Box<dyn Iterator<Item = &'b dyn miette::Diagnostic> + 'b>> {
        if self.related.is_empty() {
            None
        } else {
            Some(Box::new(
                self.related.iter().map(|r| r as &dyn miette::Diagnostic),
            ))
        }
    }
}

/// A file's text as miette reads it, with the starts of its lines found once:
/// miette's own reading counts lines from the start of the file for every
/// diagnostic, which made many warnings on a large file quadratic. Only the
/// lines around a span are handed to miette's reader, which gives the same
/// contents, line and column as reading the whole file.
struct Window<'a> {
    name: &'a str,
    text: &'a str,
    /// Where each line starts; lines end at `\n`, `\r\n` or `\r`, as miette counts them.
    starts: Arc<Vec<usize>>,
}

/// Lines longer than this are shown only around the span. miette pads each
/// label out to its column with a formatting width, and Rust refuses a width
/// past 65,535 with a panic; a line of a megabyte helps nobody anyway.
const LONG_LINE: usize = 240;
/// How much of a long line is shown before the span, after it, and at most.
const EXCERPT_BEFORE: usize = 60;
const EXCERPT_AFTER: usize = 60;
const EXCERPT_LEN: usize = 200;

impl Window<'_> {
    /// The part of line `line` around `start..end`, if that line is long. It
    /// stands for the line: it keeps the line's number, and labels beyond it
    /// are not drawn.
    fn long_line_excerpt(
        &self,
        start: usize,
        end: usize,
        line: usize,
    ) -> Option<MietteSpanContents<'_>> {
        let line_start = self.starts[line];
        let line_stop = self
            .starts
            .get(line + 1)
            .copied()
            .unwrap_or(self.text.len());
        let content_end = line_start
            + self.text[line_start..line_stop]
                .trim_end_matches(['\r', '\n'])
                .len();
        if content_end - line_start <= LONG_LINE {
            return None;
        }
        let from = self
            .text
            .floor_char_boundary(start.saturating_sub(EXCERPT_BEFORE).max(line_start));
        let mut to = self.text.ceil_char_boundary(
            end.max(start + EXCERPT_AFTER)
                .min(from + EXCERPT_LEN)
                .min(content_end),
        );
        if end > content_end {
            // A span on the line break (an unexpected end of line) keeps it.
            to = end.min(line_stop);
        }
        let data = &self.text.as_bytes()[from..to];
        Some(MietteSpanContents::new_named(
            self.name.to_string(),
            data,
            SourceSpan::new(from.into(), to - from),
            line,
            0,
            line + 1,
        ))
    }
}

fn line_starts(text: &str) -> Vec<usize> {
    let bytes = text.as_bytes();
    let mut starts = vec![0];
    let mut breaks = memchr::memchr2_iter(b'\n', b'\r', bytes);
    while let Some(i) = breaks.next() {
        if bytes[i] == b'\r' && bytes.get(i + 1) == Some(&b'\n') {
            // One break: its `\n` is the next found, and passed over.
            breaks.next();
            starts.push(i + 2);
        } else {
            starts.push(i + 1);
        }
    }
    starts
}

impl SourceCode for Window<'_> {
    fn read_span<'b>(
        &'b self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn SpanContents<'b> + 'b>, MietteError> {
        let (start, end) = (span.offset(), span.offset() + span.len());
        if end > self.text.len() {
            return Err(MietteError::OutOfBounds);
        }
        let line_of = |offset: usize| self.starts.partition_point(|&s| s <= offset) - 1;
        if context_lines_before + context_lines_after > 0
            && let Some(contents) = self.long_line_excerpt(start, end, line_of(start))
        {
            return Ok(Box::new(contents));
        }
        let first = line_of(start).saturating_sub(context_lines_before + 2);
        let last = line_of(end) + context_lines_after + 3;
        let from = self.starts[first];
        let to = self.starts.get(last).copied().unwrap_or(self.text.len());
        let window = &self.text[from..to];
        let inner = window.read_span(
            &SourceSpan::new((start - from).into(), span.len()),
            context_lines_before,
            context_lines_after,
        )?;
        let data = inner.data();
        Ok(Box::new(MietteSpanContents::new_named(
            self.name.to_string(),
            data,
            SourceSpan::new((inner.span().offset() + from).into(), inner.span().len()),
            inner.line() + first,
            inner.column(),
            inner.line_count() + first,
        )))
    }
}

/// Line starts by file, computed once per rendering.
type Lines = HashMap<crate::source::FileId, Arc<Vec<usize>>>;

fn window<'a>(
    sources: &'a SourceMap,
    file: crate::source::FileId,
    lines: &mut Lines,
) -> Window<'a> {
    let f = sources.get(file);
    let starts = lines
        .entry(file)
        .or_insert_with(|| Arc::new(line_starts(&f.text)))
        .clone();
    Window {
        name: &f.name,
        text: &f.text,
        starts,
    }
}

fn source_span(span: Span) -> SourceSpan {
    SourceSpan::new((span.start as usize).into(), span.len())
}

fn report<'a>(diag: &'a Diagnostic, sources: &'a SourceMap, lines: &mut Lines) -> Report<'a> {
    let Some(primary) = diag.primary_span() else {
        return Report {
            diag,
            source: None,
            labels: Vec::new(),
            related: Vec::new(),
            primary: true,
        };
    };
    let mut labels = Vec::new();
    let mut others: Vec<Report<'a>> = Vec::new();
    for label in &diag.labels {
        let labeled =
            LabeledSpan::new_with_span(Some(label.message.clone()), source_span(label.span));
        if label.span.file == primary.file {
            labels.push(labeled);
        } else {
            others.push(Report {
                diag,
                source: Some(window(sources, label.span.file, lines)),
                labels: vec![labeled],
                related: Vec::new(),
                primary: false,
            });
        }
    }
    Report {
        diag,
        source: Some(window(sources, primary.file, lines)),
        labels,
        related: others,
        primary: true,
    }
}

/// Renders diagnostics as people read them. `color` selects ANSI colours; tests
/// and pipes get plain Unicode at a fixed width.
pub fn render_human(diags: &[Diagnostic], sources: &SourceMap, color: bool) -> String {
    let theme = if color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(100)
        .with_links(false);
    let mut out = String::new();
    let mut lines = Lines::new();
    for (n, diag) in diags.iter().enumerate() {
        if n > 0 {
            out.push('\n');
        }
        let report = report(diag, sources, &mut lines);
        if handler.render_report(&mut out, &report).is_err() {
            out.push_str(&format!("error[{}]: {}\n", diag.code.code(), diag.message));
        }
    }
    let n = diags.iter().filter(|d| !d.code.is_warning()).count();
    if n > 0 {
        out.push_str(&format!(
            "{n} error{} found\n",
            if n == 1 { "" } else { "s" }
        ));
    }
    out
}

/// What a diagnostic reported once for many instances says about the others.
fn repeats_note(repeats: usize) -> String {
    format!(
        "the same is found {repeats} more time{} at this place, once for each instance of what holds it: one fix here covers them all",
        if repeats == 1 { "" } else { "s" }
    )
}

#[derive(Serialize)]
struct JsonLabel<'a> {
    file: &'a str,
    line: usize,
    column: usize,
    end_line: usize,
    end_column: usize,
    span: JsonSpan,
    message: &'a str,
}

#[derive(Serialize)]
struct JsonSpan {
    start: u32,
    end: u32,
}

#[derive(Serialize)]
struct JsonDiagnostic<'a> {
    code: &'static str,
    severity: &'static str,
    message: &'a str,
    file: Option<&'a str>,
    line: Option<usize>,
    column: Option<usize>,
    span: Option<JsonSpan>,
    help: Option<&'a str>,
    /// How many more times the same was found at this place (absent: none).
    #[serde(skip_serializing_if = "is_zero")]
    repeats: usize,
    labels: Vec<JsonLabel<'a>>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// Renders diagnostics as a JSON array, one object per diagnostic.
pub fn render_json(diags: &[Diagnostic], sources: &SourceMap) -> String {
    let list: Vec<JsonDiagnostic> = diags
        .iter()
        .map(|d| {
            let labels: Vec<JsonLabel> = d
                .labels
                .iter()
                .map(|l| {
                    let (line, column) = sources.line_col(l.span.file, l.span.start);
                    let (end_line, end_column) = sources.line_col(l.span.file, l.span.end);
                    JsonLabel {
                        file: &sources.get(l.span.file).name,
                        line,
                        column,
                        end_line,
                        end_column,
                        span: JsonSpan {
                            start: l.span.start,
                            end: l.span.end,
                        },
                        message: &l.message,
                    }
                })
                .collect();
            let first = labels.first();
            JsonDiagnostic {
                code: d.code.code(),
                severity: if d.code.is_warning() {
                    "warning"
                } else {
                    "error"
                },
                message: &d.message,
                file: first.map(|l| l.file),
                line: first.map(|l| l.line),
                column: first.map(|l| l.column),
                span: first.map(|l| JsonSpan {
                    start: l.span.start,
                    end: l.span.end,
                }),
                help: d.help.as_deref(),
                repeats: d.repeats,
                labels,
            }
        })
        .collect();
    serde_json::to_string_pretty(&list).unwrap_or_else(|_| String::from("[]"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::ErrorCode;

    /// Every kind of line break starts a line after it: `\n`, `\r\n` (one
    /// break), and a lone `\r`; a break at either end of the text too.
    #[test]
    fn line_starts_follow_every_kind_of_break() {
        assert_eq!(line_starts(""), [0]);
        assert_eq!(line_starts("a"), [0]);
        assert_eq!(line_starts("\n"), [0, 1]);
        assert_eq!(line_starts("\r"), [0, 1]);
        assert_eq!(line_starts("\r\n"), [0, 2]);
        assert_eq!(line_starts("\n\r"), [0, 1, 2]);
        assert_eq!(line_starts("\r\r\n\n"), [0, 1, 3, 4]);
        assert_eq!(line_starts("ab\ncd\r\nef\rgh\n"), [0, 3, 7, 10, 13]);
        // Past a search's block of bytes, breaks of each kind.
        let long = "x".repeat(100) + "\r\n" + &"y".repeat(70) + "\r" + &"z".repeat(40) + "\n";
        assert_eq!(line_starts(&long), [0, 102, 173, 214]);
    }

    fn render(text: &str, labels: &[(usize, usize)]) -> String {
        let mut sources = SourceMap::default();
        let file = sources.add(String::from("long.bom"), None, text.to_string());
        let mut diag = Diagnostic::new(ErrorCode::Syntax, "unexpected `}`");
        for &(start, end) in labels {
            diag = diag.label(Span::new(file, start, end), "here");
        }
        render_human(&[diag], &sources, false)
    }

    #[test]
    fn a_span_far_along_a_long_line_shows_an_excerpt() {
        let text = format!("landscape x {{ a = \"{}\" }} }}\n", "x".repeat(100_000));
        let at = text.len() - 2;
        let out = render(&text, &[(at, at + 1)]);
        assert!(out.contains(&format!("long.bom:1:{}", at + 1)), "{out}");
        assert!(out.contains("xx\" } }"), "{out}");
        assert!(out.contains("here"), "{out}");
        assert!(out.len() < 2_000, "{} bytes", out.len());
    }

    #[test]
    fn labels_far_apart_on_one_long_line_render() {
        let text = format!("a = \"{}\" b\n", "y".repeat(80_000));
        let far = text.len() - 2;
        let out = render(&text, &[(0, 1), (far, far + 1)]);
        assert!(out.contains("long.bom:1:1"), "{out}");
        assert!(out.len() < 2_000, "{} bytes", out.len());
        // A span at the line break of a long line, and one across lines.
        let text = format!("a = \"{}\nb = 1\n", "z".repeat(70_000));
        let eol = text.find('\n').expect("a line break");
        assert!(render(&text, &[(eol, eol + 1)]).contains("here"));
        assert!(render(&text, &[(eol - 3, eol + 4)]).contains("long.bom:1:"));
    }

    #[test]
    fn lines_start_after_each_kind_of_line_break() {
        use super::line_starts;
        assert_eq!(line_starts(""), [0]);
        assert_eq!(line_starts("x"), [0]);
        assert_eq!(line_starts("a\nbc\n"), [0, 2, 5]);
        assert_eq!(line_starts("\n\n"), [0, 1, 2]);
        assert_eq!(line_starts("a\r\nb\rc\nd"), [0, 3, 5, 7]);
        assert_eq!(line_starts("a\r\n"), [0, 3]);
    }
}

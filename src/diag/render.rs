//! Rendering diagnostics: human text through miette's graphical handler, and
//! JSON for machines.

use super::Diagnostic;
use crate::source::{SourceMap, Span};
use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource, SourceSpan};
use serde::Serialize;
use std::fmt;

/// A diagnostic as miette sees it: the source of its primary file, the labels in
/// that file, and labels in other files as related reports.
struct Report<'a> {
    diag: &'a Diagnostic,
    source: Option<NamedSource<String>>,
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
        if self.primary {
            self.diag
                .help
                .as_ref()
                .map(|h| Box::new(h.as_str()) as Box<dyn fmt::Display>)
        } else {
            None
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

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.source.as_ref().map(|s| s as &dyn miette::SourceCode)
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

fn source_span(span: Span) -> SourceSpan {
    SourceSpan::new((span.start as usize).into(), span.len())
}

fn report<'a>(diag: &'a Diagnostic, sources: &SourceMap) -> Report<'a> {
    let Some(primary) = diag.primary_span() else {
        return Report {
            diag,
            source: None,
            labels: Vec::new(),
            related: Vec::new(),
            primary: true,
        };
    };
    let file = sources.get(primary.file);
    let mut labels = Vec::new();
    let mut others: Vec<Report<'a>> = Vec::new();
    for label in &diag.labels {
        let labeled =
            LabeledSpan::new_with_span(Some(label.message.clone()), source_span(label.span));
        if label.span.file == primary.file {
            labels.push(labeled);
        } else {
            let other = sources.get(label.span.file);
            others.push(Report {
                diag,
                source: Some(NamedSource::new(other.name.clone(), other.text.clone())),
                labels: vec![labeled],
                related: Vec::new(),
                primary: false,
            });
        }
    }
    Report {
        diag,
        source: Some(NamedSource::new(file.name.clone(), file.text.clone())),
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
    for (n, diag) in diags.iter().enumerate() {
        if n > 0 {
            out.push('\n');
        }
        let report = report(diag, sources);
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
    labels: Vec<JsonLabel<'a>>,
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
                labels,
            }
        })
        .collect();
    serde_json::to_string_pretty(&list).unwrap_or_else(|_| String::from("[]"))
}

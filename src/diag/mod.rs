//! Diagnostics as data: every stage reports [`Diagnostic`]s into a list and
//! `render` turns them into human text (miette) or JSON, in one place.

mod code;
mod render;

pub use code::ErrorCode;
pub use render::{render_human, render_json};

use crate::source::Span;

/// A label on a span, with a short message.
#[derive(Clone, Debug, PartialEq)]
pub struct Label {
    pub span: Span,
    pub message: String,
}

/// One user mistake.
#[derive(Clone, Debug, PartialEq)]
pub struct Diagnostic {
    pub code: ErrorCode,
    pub message: String,
    /// The first label is the primary one: its position is the diagnostic's position.
    pub labels: Vec<Label>,
    pub help: Option<String>,
    /// How many more times the same mistake (the same code at the same primary
    /// span) was found and not reported again: once per instance of a
    /// landscape or kind that is included many times.
    pub repeats: usize,
}

impl Diagnostic {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Diagnostic {
            code,
            message: message.into(),
            labels: Vec::new(),
            help: None,
            repeats: 0,
        }
    }

    pub fn label(mut self, span: Span, message: impl Into<String>) -> Self {
        self.labels.push(Label {
            span,
            message: message.into(),
        });
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn primary_span(&self) -> Option<Span> {
        self.labels.first().map(|l| l.span)
    }
}

/// The diagnostics of one run, kept in the order they were found. A mistake
/// is reported once per place: a landscape included 16,384 times over (a
/// few lines of text) reports its one error once, with the count, instead of
/// 16,384 times.
#[derive(Debug, Default)]
pub struct Diagnostics {
    list: Vec<Diagnostic>,
    /// For each diagnostic of `list`, how many had been found before it.
    found_before: Vec<usize>,
    /// Every diagnostic pushed, the repeated ones included.
    found: usize,
    /// (code, primary span) → the index in `list` of its first report.
    reported: std::collections::HashMap<(ErrorCode, Span), usize>,
}

impl Diagnostics {
    pub fn push(&mut self, d: Diagnostic) {
        self.found += 1;
        if let Some(span) = d.primary_span() {
            match self.reported.entry((d.code, span)) {
                std::collections::hash_map::Entry::Occupied(first) => {
                    // The same text again is the same check run twice over
                    // one place (a kind's definition, then its instance):
                    // one mistake. Other text is another instance's.
                    let kept = &mut self.list[*first.get()];
                    if kept.message != d.message {
                        kept.repeats += 1 + d.repeats;
                    }
                    return;
                }
                std::collections::hash_map::Entry::Vacant(slot) => {
                    slot.insert(self.list.len());
                }
            }
        }
        self.found_before.push(self.found - 1);
        self.list.push(d);
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Whether `code` was reported at `span` already. If so the repeat is
    /// counted and the caller need not build the diagnostic again: a "did you
    /// mean" over every setting, once for each of 16,384 instances of one
    /// line, was most of a landscape bomb's time.
    pub fn repeated(&mut self, code: ErrorCode, span: Span) -> bool {
        match self.reported.get(&(code, span)) {
            Some(&first) => {
                self.found += 1;
                self.list[first].repeats += 1;
                true
            }
            None => false,
        }
    }

    /// Takes in what another run over the same source found (`bomc check`
    /// evaluates the landscape and then each environment): a mistake both
    /// found at the same place is one mistake, its repeats those of the run
    /// that found the most.
    pub fn absorb(&mut self, other: Diagnostics) {
        for d in other.list {
            match d
                .primary_span()
                .and_then(|span| self.reported.get(&(d.code, span)))
            {
                Some(&first) => {
                    self.found += 1;
                    let kept = &mut self.list[first];
                    kept.repeats = kept.repeats.max(d.repeats);
                }
                None => self.push(d),
            }
        }
    }

    /// How many mistakes were found, each repeat counted: a stage compares it
    /// before and after its work to learn whether that work failed, which a
    /// repeat not reported again must also tell.
    pub fn len(&self) -> usize {
        self.found
    }

    pub fn into_vec(self) -> Vec<Diagnostic> {
        self.list
    }

    pub fn as_slice(&self) -> &[Diagnostic] {
        &self.list
    }

    /// Adds a label to each diagnostic found since the first `start`: context
    /// the caller knows and the reporter did not.
    pub fn label_since(&mut self, start: usize, span: Span, message: &str) {
        let first = self.found_before.partition_point(|&found| found < start);
        for d in self.list.iter_mut().skip(first) {
            d.labels.push(Label {
                span,
                message: message.to_string(),
            });
        }
    }
}

/// "did you mean `x`?" for the candidate closest to `name`, if it is close enough.
pub fn suggest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let mut best: Option<(usize, &str)> = None;
    for candidate in candidates {
        let distance = edit_distance(name, candidate);
        let limit = (name.chars().count().max(candidate.chars().count()) / 3).max(1);
        if distance <= limit && best.is_none_or(|(d, c)| (distance, candidate) < (d, c)) {
            best = Some((distance, candidate));
        }
    }
    best.map(|(_, c)| c)
}

/// A help line with a suggestion when one is close, or a fallback listing.
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str> + Clone,
    fallback: impl FnOnce(Vec<&'a str>) -> String,
) -> String {
    match suggest(name, candidates.clone()) {
        Some(s) => format!("did you mean `{s}`?"),
        None => {
            let mut all: Vec<&str> = candidates.into_iter().collect();
            all.sort_unstable();
            all.dedup();
            fallback(all)
        }
    }
}

/// Levenshtein distance, on characters.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = if ca == *cb {
                prev
            } else {
                1 + prev.min(cur).min(row[j])
            };
            prev = cur;
        }
    }
    row[b.len()]
}

/// Formats a list of names for help lines: "`a`, `b` or `c`".
pub fn one_of(names: &[&str]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    match quoted.len() {
        0 => String::from("nothing"),
        1 => quoted[0].clone(),
        n => format!("{} or {}", quoted[..n - 1].join(", "), quoted[n - 1]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mistake_is_reported_once_per_place_and_every_repeat_counts() {
        use crate::source::FileId;
        let at = |start| Span::new(FileId(0), start, start + 1);
        let mut diags = Diagnostics::default();
        diags.push(Diagnostic::new(ErrorCode::UnknownSetting, "a").label(at(1), "x"));
        let before = diags.len();
        diags.push(Diagnostic::new(ErrorCode::UnknownSetting, "b").label(at(1), "x"));
        // A stage learns it failed even though nothing new is reported.
        assert!(diags.len() > before);
        assert!(diags.repeated(ErrorCode::UnknownSetting, at(1)));
        assert!(!diags.repeated(ErrorCode::UnknownKind, at(1)));
        // The same text at the same place is one check run twice: no repeat.
        let again = diags.len();
        diags.push(Diagnostic::new(ErrorCode::UnknownSetting, "a").label(at(1), "x"));
        assert!(diags.len() > again);
        diags.push(Diagnostic::new(ErrorCode::UnknownKind, "c").label(at(1), "x"));
        diags.label_since(before, at(9), "context");
        let list = diags.as_slice();
        assert_eq!(list.len(), 2);
        assert_eq!((list[0].message.as_str(), list[0].repeats), ("a", 2));
        // Only what was found since `before` and reported gets the label.
        assert_eq!(list[0].labels.len(), 1);
        assert_eq!(list[1].labels.len(), 2);
    }

    #[test]
    fn edit_distance_counts_edits() {
        assert_eq!(edit_distance("replicas", "replicas"), 0);
        assert_eq!(edit_distance("replcas", "replicas"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    #[test]
    fn suggest_picks_closest_within_limit() {
        let names = ["replicas", "ports", "image"];
        assert_eq!(suggest("replcas", names), Some("replicas"));
        assert_eq!(suggest("zzzzzz", names), None);
    }
}

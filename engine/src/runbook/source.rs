//! Source text positions: byte spans and their 1-based line/column.

use serde::{Deserialize, Serialize};

/// A byte range in a source document (`start..end`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Self {
        Span {
            start,
            end: end.max(start),
        }
    }

    pub fn len(&self) -> usize {
        self.end - self.start
    }

    pub fn is_empty(&self) -> bool {
        self.end == self.start
    }
}

/// Source text with a line index, for turning byte offsets into line/column.
#[derive(Debug, Clone)]
pub(crate) struct SourceText {
    pub text: String,
    line_starts: Vec<usize>,
}

impl SourceText {
    pub fn new(text: String) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(
            text.bytes()
                .enumerate()
                .filter(|(_, b)| *b == b'\n')
                .map(|(i, _)| i + 1),
        );
        SourceText { text, line_starts }
    }

    /// Clamp `offset` into the text and back onto a char boundary.
    pub fn clamp(&self, offset: usize) -> usize {
        let mut o = offset.min(self.text.len());
        while o > 0 && !self.text.is_char_boundary(o) {
            o -= 1;
        }
        o
    }

    /// 1-based line and column (column counted in characters).
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let o = self.clamp(offset);
        let line = match self.line_starts.binary_search(&o) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        };
        let start = self.line_starts.get(line).copied().unwrap_or(0);
        let col = self.text.get(start..o).map_or(0, |s| s.chars().count());
        (line + 1, col + 1)
    }

    /// Byte offset of a 1-based line and 0-based character column.
    pub fn offset_of(&self, line: usize, col0: usize) -> usize {
        let Some(start) = line
            .checked_sub(1)
            .and_then(|l| self.line_starts.get(l).copied())
        else {
            return self.text.len();
        };
        let rest = self.text.get(start..).unwrap_or("");
        let line_text = rest.split('\n').next().unwrap_or("");
        let skip: usize = line_text.chars().take(col0).map(char::len_utf8).sum();
        start + skip
    }

    /// The text of the (1-based) line, without its line break.
    pub fn line_text(&self, line: usize) -> &str {
        let Some(start) = line
            .checked_sub(1)
            .and_then(|l| self.line_starts.get(l).copied())
        else {
            return "";
        };
        let rest = self.text.get(start..).unwrap_or("");
        rest.split('\n').next().unwrap_or("").trim_end_matches('\r')
    }

    /// A span clamped to char boundaries inside the text.
    pub fn clamp_span(&self, span: Span) -> Span {
        Span::new(self.clamp(span.start), self.clamp(span.end))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_chars_and_lines() {
        let s = SourceText::new("ab\nçd: x\n".to_string());
        assert_eq!(s.line_col(0), (1, 1));
        assert_eq!(s.line_col(3), (2, 1));
        assert_eq!(s.line_col(5), (2, 2)); // after the 2-byte 'ç'
        assert_eq!(s.line_col(4), (2, 1)); // inside 'ç' clamps back
        assert_eq!(s.line_col(999), (3, 1));
        assert_eq!(s.offset_of(2, 1), 5);
        assert_eq!(s.line_text(2), "çd: x");
        assert_eq!(s.line_text(99), "");
    }
}

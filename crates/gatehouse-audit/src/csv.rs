//! CSV per RFC 4180, safe to open in a spreadsheet: a cell that a spreadsheet
//! would run as a formula is prefixed with `'`, which makes it text. That is a
//! cell starting with `=`, `+`, `-`, `@`, their full-width forms (`＝`, `＋`,
//! `－`, `＠`, which spreadsheets take as the same), a tab or a carriage return;
//! or one whose first character after leading white space is one of those
//! (importers that trim spaces would otherwise see a formula).

use std::borrow::Cow;
use std::io::{self, Write};

/// Characters a spreadsheet reads as the start of a formula.
const FORMULA_STARTS: [char; 8] = ['=', '+', '-', '@', '＝', '＋', '－', '＠'];

/// Whether a spreadsheet could run `cell` as a formula.
fn is_formula(cell: &str) -> bool {
    match cell.chars().next() {
        Some('\t' | '\r') => true,
        Some(c) if FORMULA_STARTS.contains(&c) => true,
        Some(c) if c.is_whitespace() => cell
            .trim_start()
            .starts_with(|c: char| FORMULA_STARTS.contains(&c)),
        _ => false,
    }
}

/// The cell as text a spreadsheet will not evaluate.
pub fn neutralize(cell: &str) -> Cow<'_, str> {
    if is_formula(cell) {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

/// Writes one row, neutralised and quoted where needed, ending in CRLF.
pub fn write_row<W: Write, S: AsRef<str>>(out: &mut W, cells: &[S]) -> io::Result<()> {
    for (i, cell) in cells.iter().enumerate() {
        if i > 0 {
            out.write_all(b",")?;
        }
        write_cell(out, cell.as_ref())?;
    }
    out.write_all(b"\r\n")
}

fn write_cell<W: Write>(out: &mut W, cell: &str) -> io::Result<()> {
    let bytes = cell.as_bytes();
    let is_formula = is_formula(cell);
    let needs_quotes = bytes
        .iter()
        .any(|b| matches!(b, b',' | b'"' | b'\r' | b'\n'))
        || bytes.first() == Some(&b' ')
        || bytes.last() == Some(&b' ');
    if needs_quotes {
        out.write_all(b"\"")?;
    }
    if is_formula {
        out.write_all(b"'")?;
    }
    if needs_quotes {
        // Each `"` doubled, written in runs between them.
        let mut rest = bytes;
        while let Some(at) = rest.iter().position(|b| *b == b'"') {
            out.write_all(&rest[..=at])?;
            out.write_all(b"\"")?;
            rest = &rest[at + 1..];
        }
        out.write_all(rest)?;
        out.write_all(b"\"")
    } else {
        out.write_all(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(cells: &[&str]) -> String {
        let mut out = Vec::new();
        write_row(&mut out, cells).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn formulas_become_text() {
        for cell in [
            "=1+1",
            "+SUM(A1)",
            "-2+3",
            "@cmd",
            "\t=x",
            "\r=x",
            "=HYPERLINK(\"http://x\")",
        ] {
            assert!(neutralize(cell).starts_with('\''), "{cell:?}");
        }
        for cell in [
            "plain",
            "1-2",
            "a=b",
            "",
            "x =1",
            "２＋２",
            "user@example.com",
        ] {
            assert_eq!(neutralize(cell), cell);
        }
    }

    // proves: AU-6
    #[test]
    fn full_width_and_indented_formulas_become_text() {
        for cell in [
            "＝1+1",
            "＋SUM(A1)",
            "－2+3",
            "＠cmd",
            "＝HYPERLINK(\"http://x\")",
            " =1+1",
            "  +1",
            " \t-1",
            "\n=x",
            "\u{3000}＝1+1",
            "\u{a0}@SUM(A1)",
        ] {
            assert!(neutralize(cell).starts_with('\''), "{cell:?}");
        }
        assert_eq!(row(&["＝1+1"]), "'＝1+1\r\n");
        assert_eq!(row(&[" =1+1"]), "\"' =1+1\"\r\n");
    }

    #[test]
    fn rfc4180_quoting() {
        assert_eq!(row(&["a", "b"]), "a,b\r\n");
        assert_eq!(
            row(&["a,b", "say \"hi\"", "line\nbreak"]),
            "\"a,b\",\"say \"\"hi\"\"\",\"line\nbreak\"\r\n"
        );
        assert_eq!(row(&["=1+1"]), "'=1+1\r\n");
        assert_eq!(row(&["=1,2"]), "\"'=1,2\"\r\n");
        assert_eq!(row(&["\r=x"]), "\"'\r=x\"\r\n");
        assert_eq!(row(&[" padded "]), "\" padded \"\r\n");
        assert_eq!(row(&[]), "\r\n");
    }
}

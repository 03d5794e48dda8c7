//! CSV per RFC 4180, safe to open in a spreadsheet: a cell that a spreadsheet
//! would run as a formula (starting with `=`, `+`, `-`, `@`, tab or carriage
//! return) is prefixed with `'`, which makes it text.

use std::borrow::Cow;
use std::io::{self, Write};

const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// The cell as text a spreadsheet will not evaluate.
pub fn neutralize(cell: &str) -> Cow<'_, str> {
    if cell.starts_with(FORMULA_STARTS) {
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
        let cell = neutralize(cell.as_ref());
        if cell.contains([',', '"', '\r', '\n']) || cell.starts_with(' ') || cell.ends_with(' ') {
            out.write_all(b"\"")?;
            out.write_all(cell.replace('"', "\"\"").as_bytes())?;
            out.write_all(b"\"")?;
        } else {
            out.write_all(cell.as_bytes())?;
        }
    }
    out.write_all(b"\r\n")
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
        for cell in ["plain", "1-2", "a=b", "", " =x"] {
            assert_eq!(neutralize(cell), cell);
        }
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

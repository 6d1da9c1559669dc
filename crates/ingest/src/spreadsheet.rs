//! Spreadsheets (CSV and XLSX) as rows of named values.
//!
//! A spreadsheet source is a table of facts (products, prices, opening hours, FAQ pairs): each
//! row becomes its own passage written as `"Header: value"` lines, so a search hit carries the
//! column names that give the values their meaning.
//!
//! - CSV is read with the `csv` crate (quoted fields, quoted newlines). The delimiter is the one
//!   of `,`, `;`, tab and `|` that appears most often in the header line (outside quotes), so
//!   European exports with `;` work. The text is decoded from its byte-order mark (UTF-8,
//!   UTF-16), else as UTF-8, and when that fails as Windows-1252 — the encoding Excel uses for
//!   CSV on western-European Windows — rather than refused.
//! - XLSX is read with `calamine`: the first worksheet that holds any data; integral numbers are
//!   written without ".0"; dates as `YYYY-MM-DD` (with `HH:MM` when they have a time); error
//!   cells (`#N/A`) count as empty.
//!
//! A sheet whose header row names a question column and an answer column ([`qa_columns`]) is a
//! table of curated answers: [`Sheet::qa_pairs`] reads it as question and answer pairs.
//!
//! The first non-empty row is the header row. Empty rows are skipped and not counted. A header
//! without a name is called "Column N". A CSV row with more non-empty cells than there are
//! headers is an error that names its line (empty trailing cells, which spreadsheet programs
//! like to add, are tolerated).

use std::io::{Cursor, Read};

use calamine::{Data, Reader};

use crate::extract::decode_text;

/// The spreadsheet formats we read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SheetKind {
    Csv,
    Xlsx,
}

/// A spreadsheet read as rows of named values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sheet {
    /// Column names, from the header row.
    pub headers: Vec<String>,
    /// Each data row as `"Header: value"` lines joined by `"\n"`, empty cells skipped.
    pub rows: Vec<String>,
    /// Each data row's cells (trimmed), in the order of `rows`.
    pub cells: Vec<Vec<String>>,
    /// Number of non-empty data rows in the file (more than `rows.len()` when truncated).
    pub total_rows: usize,
    /// Whether `rows` stops at `max_rows`.
    pub truncated: bool,
}

/// Why a spreadsheet could not be read; the messages say what to fix.
#[derive(Debug, thiserror::Error)]
pub enum SheetError {
    #[error("the file is empty")]
    Empty,
    #[error("the first row must hold the column names, but it has none")]
    NoHeaderNames,
    #[error("the spreadsheet has headers but no rows")]
    NoRows,
    #[error(
        "line {line} has {cells} values but the header row names only {headers} columns; \
         quote values that contain the separator \"{separator}\""
    )]
    TooManyCells {
        line: u64,
        cells: usize,
        headers: usize,
        separator: char,
    },
    #[error("the CSV cannot be read{}: {message}", line.map(|l| format!(" at line {l}")).unwrap_or_default())]
    Csv { line: Option<u64>, message: String },
    #[error("the workbook unpacks to more than {} MB; split it or save it as CSV", max_bytes / (1024 * 1024))]
    TooLarge { max_bytes: u64 },
    #[error("the sheet has values beyond its first {columns} columns; sitechat reads tables up to {columns} columns wide")]
    TooWide { columns: u32 },
    #[error("the file is not a valid XLSX workbook (it may be corrupt, or an old .xls file: save it as .xlsx or CSV): {0}")]
    NotXlsx(String),
}

/// Reads a spreadsheet. `max_rows` limits how many rows are returned; all rows are still read,
/// validated and counted in `total_rows`.
pub fn read_sheet(
    bytes: &[u8],
    kind: SheetKind,
    max_rows: Option<usize>,
) -> Result<Sheet, SheetError> {
    match kind {
        SheetKind::Csv => read_csv(bytes, max_rows),
        SheetKind::Xlsx => read_xlsx(bytes, max_rows),
    }
}

/// Accumulates rows: the header row first, then data rows.
struct Rows {
    headers: Option<Vec<String>>,
    rows: Vec<String>,
    cells: Vec<Vec<String>>,
    total: usize,
    max_rows: Option<usize>,
}

impl Rows {
    fn new(max_rows: Option<usize>) -> Self {
        Rows {
            headers: None,
            rows: Vec::new(),
            cells: Vec::new(),
            total: 0,
            max_rows,
        }
    }

    /// Takes a row of trimmed cells: the first non-empty row is the header row; empty rows are
    /// skipped.
    fn push(&mut self, cells: Vec<String>) -> Result<(), SheetError> {
        if cells.iter().all(|c| c.is_empty()) {
            return Ok(());
        }
        let Some(headers) = &self.headers else {
            let last = cells.iter().rposition(|c| !c.is_empty()).unwrap_or(0);
            let headers: Vec<String> = cells
                .into_iter()
                .take(last + 1)
                .enumerate()
                .map(|(i, c)| {
                    if c.is_empty() {
                        format!("Column {}", i + 1)
                    } else {
                        c
                    }
                })
                .collect();
            self.headers = Some(headers);
            return Ok(());
        };
        self.total += 1;
        if self.max_rows.is_some_and(|max| self.rows.len() >= max) {
            return Ok(());
        }
        let lines: Vec<String> = cells
            .iter()
            .enumerate()
            .filter(|(_, value)| !value.is_empty())
            .map(|(i, value)| {
                let name = headers
                    .get(i)
                    .cloned()
                    .unwrap_or_else(|| format!("Column {}", i + 1));
                format!("{name}: {value}")
            })
            .collect();
        self.rows.push(lines.join("\n"));
        self.cells.push(cells);
        Ok(())
    }

    fn finish(self) -> Result<Sheet, SheetError> {
        let headers = self.headers.ok_or(SheetError::Empty)?;
        if self.total == 0 {
            return Err(SheetError::NoRows);
        }
        Ok(Sheet {
            headers,
            truncated: self.rows.len() < self.total,
            rows: self.rows,
            cells: self.cells,
            total_rows: self.total,
        })
    }
}

/// Header names of a question column, lower-case (English, French, Spanish, German).
const QUESTION_HEADERS: &[&str] = &[
    "question",
    "questions",
    "q",
    "pregunta",
    "preguntas",
    "frage",
    "fragen",
];
/// Header names of an answer column, lower-case.
const ANSWER_HEADERS: &[&str] = &[
    "answer",
    "answers",
    "a",
    "réponse",
    "réponses",
    "reponse",
    "reponses",
    "respuesta",
    "respuestas",
    "antwort",
    "antworten",
];

/// The question and answer columns of a header row, when it has one of each (case-insensitive:
/// question/answer, q/a, questions/answers, question/réponse, pregunta/respuesta,
/// frage/antwort; a trailing `:` or `?` is ignored). The first of each is used.
pub fn qa_columns(headers: &[String]) -> Option<(usize, usize)> {
    let named = |names: &[&str]| {
        headers.iter().position(|h| {
            let h = h.trim().trim_end_matches([':', '?']).trim().to_lowercase();
            names.contains(&h.as_str())
        })
    };
    let (q, a) = (named(QUESTION_HEADERS)?, named(ANSWER_HEADERS)?);
    (q != a).then_some((q, a))
}

/// Question and answer pairs read from a sheet, and how many rows were left out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QaPairs {
    /// `(question, answer)`, in row order.
    pub pairs: Vec<(String, String)>,
    /// Rows with an empty question or answer (or one the caller refused).
    pub skipped: usize,
}

impl Sheet {
    /// The sheet's rows as question and answer pairs, when its header row names a question and
    /// an answer column ([`qa_columns`]); other columns are ignored. Rows with an empty question
    /// or answer, or that `accept` refuses, are skipped and counted.
    pub fn qa_pairs(&self, accept: impl Fn(&str, &str) -> bool) -> Option<QaPairs> {
        let (q, a) = qa_columns(&self.headers)?;
        let mut out = QaPairs {
            pairs: Vec::new(),
            skipped: 0,
        };
        for cells in &self.cells {
            let cell = |i: usize| cells.get(i).map_or("", |c| c.trim());
            let (question, answer) = (cell(q), cell(a));
            if question.is_empty() || answer.is_empty() || !accept(question, answer) {
                out.skipped += 1;
            } else {
                out.pairs.push((question.to_owned(), answer.to_owned()));
            }
        }
        Some(out)
    }
}

fn read_csv(bytes: &[u8], max_rows: Option<usize>) -> Result<Sheet, SheetError> {
    let text = decode_text(bytes, None);
    if text.trim().is_empty() {
        return Err(SheetError::Empty);
    }
    let delimiter = detect_delimiter(&text);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(text.as_bytes());
    let mut rows = Rows::new(max_rows);
    let mut header_len = None;
    for record in reader.records() {
        let record = record.map_err(|e| SheetError::Csv {
            line: e.position().map(|p| p.line()),
            message: match e.kind() {
                csv::ErrorKind::Io(e) => e.to_string(),
                _ => e.to_string(),
            },
        })?;
        let cells: Vec<String> = record
            .iter()
            .map(|c| c.trim().replace("\r\n", "\n"))
            .collect();
        match header_len {
            // The first line that is not blank is the header row; a header row of empty cells
            // (",,,") has no names.
            None if cells.iter().all(String::is_empty) => return Err(SheetError::NoHeaderNames),
            _ if cells.iter().all(String::is_empty) => continue,
            None => {
                header_len = Some(cells.iter().rposition(|c| !c.is_empty()).unwrap_or(0) + 1);
            }
            Some(headers) => {
                let used = cells
                    .iter()
                    .rposition(|c| !c.is_empty())
                    .map_or(0, |i| i + 1);
                if used > headers {
                    return Err(SheetError::TooManyCells {
                        line: record.position().map_or(0, |p| p.line()),
                        cells: used,
                        headers,
                        separator: delimiter as char,
                    });
                }
            }
        }
        rows.push(cells)?;
    }
    rows.finish()
}

/// The separator of a CSV: whichever of `,` `;` tab `|` is most frequent in the first line,
/// counting outside quotes (`,` when none is).
fn detect_delimiter(text: &str) -> u8 {
    let mut counts = [(b',', 0usize), (b';', 0), (b'\t', 0), (b'|', 0)];
    let mut quoted = false;
    for c in text.chars() {
        match c {
            '"' => quoted = !quoted,
            '\n' | '\r' if !quoted => break,
            _ if !quoted => {
                if let Some(entry) = counts.iter_mut().find(|(d, _)| *d as char == c) {
                    entry.1 += 1;
                }
            }
            _ => {}
        }
    }
    counts
        .iter()
        .filter(|(_, n)| *n > 0)
        .max_by_key(|(d, n)| (*n, *d == b','))
        .map_or(b',', |(d, _)| *d)
}

/// The most a workbook may unpack to: its parts are read into memory, so a small upload that
/// inflates to gigabytes (a ZIP bomb) is refused before anything is parsed.
pub const MAX_XLSX_UNPACKED_BYTES: u64 = 200 * 1024 * 1024;
/// The widest sheet read, in columns: a table of knowledge is a few columns wide, and a cell far
/// to the right must not make every row that wide.
pub const MAX_COLUMNS: u32 = 256;

fn read_xlsx(bytes: &[u8], max_rows: Option<usize>) -> Result<Sheet, SheetError> {
    if bytes.is_empty() {
        return Err(SheetError::Empty);
    }
    check_unpacked_size(bytes)?;
    let mut workbook: calamine::Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(bytes))
        .map_err(|e: calamine::XlsxError| SheetError::NotXlsx(e.to_string()))?;
    let names = workbook.sheet_names();
    for name in names {
        // Cells are streamed, row by row: a range would be allocated over the bounding box of the
        // cells, so two cells at A1 and XFD1048576 would ask for billions of cells.
        let mut cells = workbook
            .worksheet_cells_reader(&name)
            .map_err(|e| SheetError::NotXlsx(e.to_string()))?;
        let mut read: Vec<(u32, Vec<(u32, String)>)> = Vec::new();
        while let Some(cell) = cells
            .next_cell()
            .map_err(|e| SheetError::NotXlsx(e.to_string()))?
        {
            let (r, c) = cell.get_position();
            let text = cell_text(&Data::from(cell.get_value().clone()));
            if text.is_empty() {
                continue;
            }
            match read.last_mut() {
                Some((at, values)) if *at == r => values.push((c, text)),
                _ => read.push((r, vec![(c, text)])),
            }
        }
        // The table starts at its leftmost value, wherever the sheet puts it.
        let first = read
            .iter()
            .flat_map(|(_, values)| values.iter().map(|(c, _)| *c))
            .min()
            .unwrap_or(0);
        let mut rows = Rows::new(max_rows);
        for (_, values) in read {
            let mut cells: Vec<String> = Vec::new();
            for (c, text) in values {
                let c = c - first;
                if c >= MAX_COLUMNS {
                    return Err(SheetError::TooWide {
                        columns: MAX_COLUMNS,
                    });
                }
                let c = c as usize;
                if cells.len() <= c {
                    cells.resize(c + 1, String::new());
                }
                cells[c] = text;
            }
            rows.push(cells)?;
        }
        if rows.headers.is_none() {
            continue;
        }
        return rows.finish();
    }
    Err(SheetError::Empty)
}

/// Refuses a workbook whose parts unpack to more than [`MAX_XLSX_UNPACKED_BYTES`], by
/// decompressing it once without keeping anything (sizes in the archive's directory can lie).
fn check_unpacked_size(bytes: &[u8]) -> Result<(), SheetError> {
    let mut archive =
        zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| SheetError::NotXlsx(e.to_string()))?;
    let mut left = MAX_XLSX_UNPACKED_BYTES;
    for i in 0..archive.len() {
        let entry = archive
            .by_index(i)
            .map_err(|e| SheetError::NotXlsx(e.to_string()))?;
        let read = std::io::copy(&mut entry.take(left + 1), &mut std::io::sink())
            .map_err(|e| SheetError::NotXlsx(e.to_string()))?;
        if read > left {
            return Err(SheetError::TooLarge {
                max_bytes: MAX_XLSX_UNPACKED_BYTES,
            });
        }
        left -= read;
    }
    Ok(())
}

/// A cell as text: integral numbers without ".0", dates as ISO dates, errors as empty.
fn cell_text(cell: &Data) -> String {
    match cell {
        Data::Empty | Data::Error(_) => String::new(),
        Data::String(s) => s.trim().replace("\r\n", "\n"),
        Data::Int(i) => i.to_string(),
        Data::Float(f) => number(*f),
        Data::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_owned(),
        Data::DateTime(dt) => {
            if dt.is_duration() {
                let seconds = (dt.as_f64() * 86_400.0).round() as i64;
                let (h, m, s) = (seconds / 3600, (seconds % 3600) / 60, seconds % 60);
                if s == 0 {
                    format!("{h}:{m:02}")
                } else {
                    format!("{h}:{m:02}:{s:02}")
                }
            } else {
                let (year, month, day, hour, minute, second, _) = dt.to_ymd_hms_milli();
                let time = match (hour, minute, second) {
                    (0, 0, 0) => String::new(),
                    (h, m, 0) => format!("{h:02}:{m:02}"),
                    (h, m, s) => format!("{h:02}:{m:02}:{s:02}"),
                };
                if dt.as_f64() < 1.0 && !time.is_empty() {
                    time
                } else if time.is_empty() {
                    format!("{year:04}-{month:02}-{day:02}")
                } else {
                    format!("{year:04}-{month:02}-{day:02} {time}")
                }
            }
        }
        Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
    }
}

fn number(f: f64) -> String {
    if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{}", f as i64)
    } else {
        format!("{f}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn csv(text: &[u8]) -> Result<Sheet, SheetError> {
        read_sheet(text, SheetKind::Csv, None)
    }

    #[test]
    fn a_csv_row_becomes_named_values() {
        let sheet = csv(b"Product,Price,Stock\nTent,199,\nStove,49.90,12\n").unwrap();
        assert_eq!(sheet.headers, ["Product", "Price", "Stock"]);
        assert_eq!(
            sheet.rows,
            [
                "Product: Tent\nPrice: 199",
                "Product: Stove\nPrice: 49.90\nStock: 12"
            ]
        );
        assert_eq!(sheet.total_rows, 2);
        assert!(!sheet.truncated);
    }

    #[test]
    fn a_bom_and_semicolons_are_understood() {
        let sheet =
            csv("\u{feff}Nom;Prix;Remarque\r\nTente;199,00;\"solide; légère\"\r\n".as_bytes())
                .unwrap();
        assert_eq!(sheet.headers, ["Nom", "Prix", "Remarque"]);
        assert_eq!(
            sheet.rows,
            ["Nom: Tente\nPrix: 199,00\nRemarque: solide; légère"]
        );
    }

    #[test]
    fn tabs_separate_when_the_header_has_tabs() {
        let sheet = csv(b"Question\tAnswer\nDo you ship to Spain?\tYes, in 3 days.\n").unwrap();
        assert_eq!(
            sheet.rows,
            ["Question: Do you ship to Spain?\nAnswer: Yes, in 3 days."]
        );
    }

    #[test]
    fn question_and_answer_columns_make_curated_pairs() {
        let sheet = csv(
            b"Category,Question,Answer\nShop,Do you ship to Spain?,Yes.\nShop,,Orphan answer\nShop,Open on Sundays?,\nShop,Gift wrap?,\"Yes, for 2 EUR.\"\n",
        )
        .unwrap();
        let qa = sheet.qa_pairs(|_, _| true).unwrap();
        assert_eq!(
            qa.pairs,
            [
                ("Do you ship to Spain?".to_owned(), "Yes.".to_owned()),
                ("Gift wrap?".to_owned(), "Yes, for 2 EUR.".to_owned())
            ]
        );
        assert_eq!(qa.skipped, 2);
        let qa = sheet.qa_pairs(|q, _| q.len() < 12).unwrap();
        assert_eq!(qa.pairs.len(), 1);
        assert_eq!(qa.skipped, 3);
        // A sheet of something else is not.
        assert!(csv(b"Product,Price\nTent,199\n")
            .unwrap()
            .qa_pairs(|_, _| true)
            .is_none());
    }

    #[test]
    fn question_and_answer_headers_are_recognised_in_several_languages() {
        let names = |h: &[&str]| qa_columns(&h.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>());
        assert_eq!(names(&["Question", "Answer"]), Some((0, 1)));
        assert_eq!(names(&["ID", "Q", "A"]), Some((1, 2)));
        assert_eq!(names(&["QUESTIONS", "answers"]), Some((0, 1)));
        assert_eq!(names(&["Réponse", "Question"]), Some((1, 0)));
        assert_eq!(names(&["Pregunta", "Respuesta"]), Some((0, 1)));
        assert_eq!(names(&["Frage:", "Antwort"]), Some((0, 1)));
        assert_eq!(names(&["Question", "Details"]), None);
        assert_eq!(names(&["Product", "Answer"]), None);
    }

    #[test]
    fn quoted_newlines_stay_in_their_cell() {
        let sheet = csv(
            b"Question,Answer\n\"Returns?\",\"Within 30 days.\r\nKeep the receipt.\"\nNext,Row\n",
        )
        .unwrap();
        assert_eq!(
            sheet.rows,
            [
                "Question: Returns?\nAnswer: Within 30 days.\nKeep the receipt.",
                "Question: Next\nAnswer: Row"
            ]
        );
    }

    #[test]
    fn empty_rows_are_skipped_and_not_counted() {
        let sheet = csv(b"\n\na,b\n1,2\n,\n\n3,4\n , \n").unwrap();
        assert_eq!(sheet.headers, ["a", "b"]);
        assert_eq!(sheet.rows, ["a: 1\nb: 2", "a: 3\nb: 4"]);
        assert_eq!(sheet.total_rows, 2);
    }

    #[test]
    fn a_row_with_too_many_cells_names_its_line() {
        let err = csv(b"name,price\ntent,199\nstove,49,90\n").unwrap_err();
        assert!(
            matches!(
                err,
                SheetError::TooManyCells {
                    line: 3,
                    cells: 3,
                    headers: 2,
                    ..
                }
            ),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            "line 3 has 3 values but the header row names only 2 columns; quote values that contain the separator \",\""
        );
        // Trailing empty cells are not values.
        assert!(csv(b"name,price\ntent,199,,\n").is_ok());
    }

    #[test]
    fn an_empty_csv_and_one_with_only_headers_are_errors() {
        assert!(matches!(csv(b""), Err(SheetError::Empty)));
        assert!(matches!(csv(b" \n\n"), Err(SheetError::Empty)));
        assert!(matches!(csv(b",,\n1,2\n"), Err(SheetError::NoHeaderNames)));
        let err = csv(b"name,price\n\n").unwrap_err();
        assert!(matches!(err, SheetError::NoRows));
        assert_eq!(err.to_string(), "the spreadsheet has headers but no rows");
    }

    #[test]
    fn windows_1252_csv_is_decoded_instead_of_refused() {
        let sheet = csv(b"Caf\xe9;Prix\nCr\xe8me;3 \x80\n").unwrap();
        assert_eq!(sheet.rows, ["Café: Crème\nPrix: 3 €"]);
    }

    #[test]
    fn rows_stop_at_max_rows_but_all_are_counted() {
        let sheet = read_sheet(b"n\n1\n2\n\n3\n4\n5\n", SheetKind::Csv, Some(2)).unwrap();
        assert_eq!(sheet.rows, ["n: 1", "n: 2"]);
        assert_eq!(sheet.total_rows, 5);
        assert!(sheet.truncated);
    }

    #[test]
    fn unnamed_columns_get_a_name() {
        let sheet = csv(b"Name,,Price\nTent,green,199\n").unwrap();
        assert_eq!(sheet.headers, ["Name", "Column 2", "Price"]);
        assert_eq!(sheet.rows, ["Name: Tent\nColumn 2: green\nPrice: 199"]);
    }

    fn xlsx() -> Vec<u8> {
        use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
        let mut workbook = Workbook::new();
        let sheet = workbook.add_worksheet();
        let date = Format::new().set_num_format("yyyy-mm-dd");
        let datetime = Format::new().set_num_format("yyyy-mm-dd hh:mm");
        sheet.write(0, 0, "Product").unwrap();
        sheet.write(0, 1, "Price").unwrap();
        sheet.write(0, 2, "In stock").unwrap();
        sheet.write(0, 3, "Since").unwrap();
        sheet.write(1, 0, "Tent").unwrap();
        sheet.write(1, 1, 199.0).unwrap();
        sheet.write(1, 2, true).unwrap();
        let day = ExcelDateTime::from_ymd(2024, 3, 15).unwrap();
        sheet.write_datetime_with_format(1, 3, &day, &date).unwrap();
        sheet.write(3, 0, "Stove").unwrap();
        sheet.write(3, 1, 49.9).unwrap();
        let moment = ExcelDateTime::from_ymd(2024, 3, 15)
            .unwrap()
            .and_hms(14, 30, 0)
            .unwrap();
        sheet
            .write_datetime_with_format(3, 3, &moment, &datetime)
            .unwrap();
        workbook.save_to_buffer().unwrap()
    }

    #[test]
    fn an_xlsx_is_read_from_its_first_sheet() {
        let sheet = read_sheet(&xlsx(), SheetKind::Xlsx, None).unwrap();
        assert_eq!(sheet.headers, ["Product", "Price", "In stock", "Since"]);
        assert_eq!(
            sheet.rows,
            [
                "Product: Tent\nPrice: 199\nIn stock: TRUE\nSince: 2024-03-15",
                "Product: Stove\nPrice: 49.9\nSince: 2024-03-15 14:30"
            ]
        );
        assert_eq!(sheet.total_rows, 2);
        let sheet = read_sheet(&xlsx(), SheetKind::Xlsx, Some(1)).unwrap();
        assert_eq!(sheet.rows.len(), 1);
        assert!(sheet.truncated);
    }

    #[test]
    fn a_corrupt_xlsx_is_an_error() {
        let mut bytes = xlsx();
        bytes.truncate(bytes.len() / 2);
        let err = read_sheet(&bytes, SheetKind::Xlsx, None).unwrap_err();
        assert!(matches!(err, SheetError::NotXlsx(_)), "{err:?}");
        assert!(matches!(
            read_sheet(b"Product,Price\n", SheetKind::Xlsx, None),
            Err(SheetError::NotXlsx(_))
        ));
        assert!(matches!(
            read_sheet(b"", SheetKind::Xlsx, None),
            Err(SheetError::Empty)
        ));
    }

    #[test]
    fn an_xlsx_with_a_cell_in_its_last_column_is_too_wide_not_a_huge_table() {
        // A1 and XFD1048576: read as a grid, 16,384 columns by a million rows.
        use rust_xlsxwriter::Workbook;
        let mut workbook = Workbook::new();
        let sheet = workbook.add_worksheet();
        sheet.write(0, 0, "Product").unwrap();
        sheet.write(1_048_575, 16_383, "far away").unwrap();
        let bytes = workbook.save_to_buffer().unwrap();
        assert!(matches!(
            read_sheet(&bytes, SheetKind::Xlsx, None),
            Err(SheetError::TooWide { .. })
        ));
        // Far down but within the columns, it is two rows.
        let mut workbook = Workbook::new();
        let sheet = workbook.add_worksheet();
        sheet.write(0, 0, "Product").unwrap();
        sheet.write(1_048_575, 1, "far down").unwrap();
        let bytes = workbook.save_to_buffer().unwrap();
        let sheet = read_sheet(&bytes, SheetKind::Xlsx, None).unwrap();
        assert_eq!(sheet.rows.len(), 1, "{sheet:?}");
    }

    #[test]
    fn an_xlsx_with_only_headers_has_no_rows() {
        use rust_xlsxwriter::Workbook;
        let mut workbook = Workbook::new();
        workbook.add_worksheet().write(0, 0, "Product").unwrap();
        let bytes = workbook.save_to_buffer().unwrap();
        assert!(matches!(
            read_sheet(&bytes, SheetKind::Xlsx, None),
            Err(SheetError::NoRows)
        ));
    }
}

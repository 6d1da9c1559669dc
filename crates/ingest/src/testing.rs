//! Fixtures for tests of code that uses this crate (enabled by the `testing` feature): small
//! but valid PDF, DOCX and ZIP files built in memory, so tests need no binary files.

use std::io::{Cursor, Write};

use lopdf::content::{Content, Operation};
use lopdf::{dictionary, Object, Stream, StringFormat};

/// A PDF with one page per entry, each page holding the given lines of text (Helvetica, 12 pt);
/// an empty line leaves a gap, which ends a paragraph.
pub fn pdf(pages: &[&[&str]]) -> Vec<u8> {
    pdf_with_title(pages, None)
}

/// [`pdf`] with a Title in the document information dictionary.
pub fn pdf_with_title(pages: &[&[&str]], title: Option<&str>) -> Vec<u8> {
    let mut doc = lopdf::Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let font_id = doc.add_object(dictionary! {
        "Type" => "Font",
        "Subtype" => "Type1",
        "BaseFont" => "Helvetica",
    });
    let resources_id = doc.add_object(dictionary! {
        "Font" => dictionary! { "F1" => font_id },
    });
    let mut kids = Vec::new();
    for lines in pages {
        let mut operations = vec![
            Operation::new("BT", vec![]),
            Operation::new("Tf", vec!["F1".into(), 12.into()]),
            Operation::new("TL", vec![14.into()]),
            Operation::new("Td", vec![72.into(), 720.into()]),
        ];
        for line in *lines {
            if line.is_empty() {
                operations.push(Operation::new("T*", vec![]));
            } else {
                operations.push(Operation::new("Tj", vec![Object::string_literal(*line)]));
            }
            operations.push(Operation::new("T*", vec![]));
        }
        operations.push(Operation::new("ET", vec![]));
        let content = Content { operations };
        let content_id = doc.add_object(Stream::new(dictionary! {}, content.encode().unwrap()));
        let page_id = doc.add_object(dictionary! {
            "Type" => "Page",
            "Parent" => pages_id,
            "Contents" => content_id,
        });
        kids.push(page_id.into());
    }
    let count = kids.len() as i64;
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages",
            "Kids" => kids,
            "Count" => count,
            "Resources" => resources_id,
            "MediaBox" => vec![0.into(), 0.into(), 612.into(), 792.into()],
        }),
    );
    let catalog_id = doc.add_object(dictionary! {
        "Type" => "Catalog",
        "Pages" => pages_id,
    });
    doc.trailer.set("Root", catalog_id);
    if let Some(title) = title {
        let info_id = doc.add_object(dictionary! {
            "Title" => Object::String(title.as_bytes().to_vec(), StringFormat::Literal),
        });
        doc.trailer.set("Info", info_id);
    }
    let mut bytes = Vec::new();
    doc.save_to(&mut bytes).unwrap();
    bytes
}

/// A ZIP archive holding the given files (deflated).
pub fn zip(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, content) in files {
        zip.start_file(*name, options).expect("a new zip entry");
        zip.write_all(content).expect("writing to memory");
    }
    zip.finish().expect("writing to memory").into_inner()
}

/// A minimal Word document: one paragraph per entry; an entry starting with `# `, `## ` … is a
/// heading of that level (built-in "heading N" styles), `- ` a bulleted list item.
pub fn docx(paragraphs: &[&str]) -> Vec<u8> {
    const W: &str = "http://schemas.openxmlformats.org/wordprocessingml/2006/main";
    let escape = |text: &str| {
        text.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    let mut body = String::new();
    for paragraph in paragraphs {
        let level = paragraph.bytes().take_while(|&b| b == b'#').count();
        let (properties, text) = if (1..=6).contains(&level) && paragraph[level..].starts_with(' ')
        {
            (
                format!(r#"<w:pStyle w:val="Heading{level}"/>"#),
                paragraph[level..].trim(),
            )
        } else if let Some(item) = paragraph.strip_prefix("- ") {
            (
                r#"<w:numPr><w:ilvl w:val="0"/><w:numId w:val="1"/></w:numPr>"#.to_owned(),
                item,
            )
        } else {
            (String::new(), *paragraph)
        };
        body.push_str(&format!(
            r#"<w:p><w:pPr>{properties}</w:pPr><w:r><w:t xml:space="preserve">{}</w:t></w:r></w:p>"#,
            escape(text)
        ));
    }
    let document = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document xmlns:w="{W}"><w:body>{body}<w:sectPr/></w:body></w:document>"#
    );
    let mut styles = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:styles xmlns:w="{W}"><w:style w:type="paragraph" w:default="1" w:styleId="Normal"><w:name w:val="Normal"/></w:style>"#
    );
    for level in 1..=6 {
        styles.push_str(&format!(
            r#"<w:style w:type="paragraph" w:styleId="Heading{level}"><w:name w:val="heading {level}"/></w:style>"#
        ));
    }
    styles.push_str("</w:styles>");
    let numbering = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:numbering xmlns:w="{W}"><w:abstractNum w:abstractNumId="0"><w:lvl w:ilvl="0"><w:numFmt w:val="bullet"/></w:lvl></w:abstractNum><w:num w:numId="1"><w:abstractNumId w:val="0"/></w:num></w:numbering>"#
    );
    let content_types = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>"#;
    let rels = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>"#;
    zip(&[
        ("[Content_Types].xml", content_types.as_bytes()),
        ("_rels/.rels", rels.as_bytes()),
        ("word/document.xml", document.as_bytes()),
        ("word/styles.xml", styles.as_bytes()),
        ("word/numbering.xml", numbering.as_bytes()),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::{detect_kind, FileKind};

    #[test]
    fn the_fixtures_are_read_back() {
        let pdf = pdf(&[&["Every planter carries a five year warranty."]]);
        assert_eq!(detect_kind(None, None, &pdf), Some(FileKind::Pdf));
        let doc = crate::extract::pdf(&pdf).unwrap();
        assert_eq!(
            doc.sections[0].text,
            "Every planter carries a five year warranty."
        );

        let docx = docx(&[
            "# Care",
            "Water <weekly> & feed.",
            "- in summer",
            "- in spring",
        ]);
        assert_eq!(detect_kind(None, None, &docx), Some(FileKind::Docx));
        let doc = crate::extract::docx(&docx).unwrap();
        assert_eq!(doc.title, "Care");
        assert_eq!(doc.sections[0].headings, ["Care"]);
        assert_eq!(
            doc.sections[0].text,
            "Water <weekly> & feed.\n\n- in summer\n- in spring"
        );
    }
}

//! The printout as a PDF for A4: the same sections as the HTML page, laid out as lines of text in an
//! embedded font (DejaVu Sans, so å, ä and ö print and search everywhere), with the title and
//! language in the metadata, written as PDF/A-2u — an archival PDF whose every glyph maps back to
//! its text — by `krilla`.

use chrono::Datelike;
use krilla::configure::{Archival, ConfigurationBuilder};
use krilla::geom::Point;
use krilla::metadata::Metadata;
use krilla::page::PageSettings;
use krilla::text::{Font, TextDirection};
use krilla::{Document, SerializeSettings};
use skrifa::instance::{LocationRef, Size};
use skrifa::MetadataProvider;

use super::{Block, Fact, Item, Printout};
use crate::error::{Error, Result};

pub const MEDIA_TYPE: &str = "application/pdf";

static REGULAR: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans.ttf");
static BOLD: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans-Bold.ttf");

// A4 in points, with margins of 20 mm.
const PAGE_WIDTH: f32 = 595.28;
const PAGE_HEIGHT: f32 = 841.89;
const MARGIN: f32 = 56.7;
const BODY: f32 = 10.5;
const LEADING: f32 = 1.4;
const INDENT: f32 = 14.0;

/// The PDF of a printout.
pub fn render(printout: &Printout) -> Result<Vec<u8>> {
    write(printout, lay_out(printout))
}

/// The printout's text as runs on pages.
fn lay_out(printout: &Printout) -> Vec<Vec<Run>> {
    let mut layout = Layout::new();
    layout.block(&[(&printout.title, true)], 18.0, 0.0, 0.0);
    for section in &printout.sections {
        layout.keep_room_for(5);
        layout.block(&[(section.heading, true)], 14.0, 0.0, 14.0);
        for block in &section.blocks {
            match block {
                Block::Text(text) => layout.block(&[(text, false)], BODY, 0.0, 5.0),
                Block::Subheading(text) => {
                    layout.keep_room_for(4);
                    layout.block(&[(text, true)], 12.0, 0.0, 9.0);
                }
                Block::Facts(facts) => layout.facts(facts, 0.0),
                Block::Items(items) => layout.items(items, 0.0),
            }
        }
    }
    layout.finish()
}

/// One run of text on a page: where its baseline starts, in which face and size.
struct Run {
    x: f32,
    y: f32,
    bold: bool,
    size: f32,
    text: String,
}

/// Lays text out top to bottom, wrapping at the margin and starting a page when one is full.
struct Layout {
    pages: Vec<Vec<Run>>,
    y: f32,
    regular: Measure,
    bold: Measure,
}

impl Layout {
    fn new() -> Layout {
        Layout {
            pages: vec![Vec::new()],
            y: MARGIN,
            regular: Measure::of(REGULAR),
            bold: Measure::of(BOLD),
        }
    }

    fn bottom() -> f32 {
        PAGE_HEIGHT - MARGIN - 2.0 * BODY
    }

    fn new_page(&mut self) {
        self.pages.push(Vec::new());
        self.y = MARGIN;
    }

    /// Starts a new page unless `lines` body lines still fit: a heading is not left alone at the
    /// foot of a page.
    fn keep_room_for(&mut self, lines: usize) {
        if self.y + lines as f32 * BODY * LEADING > Self::bottom() {
            self.new_page();
        }
    }

    fn facts(&mut self, facts: &[Fact], indent: f32) {
        for f in facts {
            let label = format!("{}: ", f.label);
            self.block(&[(&label, true), (&f.value, false)], BODY, indent, 2.0);
        }
    }

    fn items(&mut self, items: &[Item], indent: f32) {
        for item in items {
            self.keep_room_for(2 + item.facts.len());
            let title = format!("• {}", item.title);
            self.block(&[(&title, true)], BODY, indent, 6.0);
            self.facts(&item.facts, indent + INDENT);
            self.items(&item.children, indent + INDENT);
        }
    }

    /// Text of one or more runs (a bold label, then its value) wrapped to the width left after
    /// `indent`, `space_before` below what came before.
    fn block(&mut self, runs: &[(&str, bool)], size: f32, indent: f32, space_before: f32) {
        self.y += space_before;
        let width = PAGE_WIDTH - 2.0 * MARGIN - indent;
        for line in self.wrap(runs, size, width) {
            self.y += size * LEADING;
            if self.y > Self::bottom() {
                self.new_page();
                self.y += size * LEADING;
            }
            let page = self.pages.last_mut().expect("a page");
            for (x, bold, text) in line {
                page.push(Run {
                    x: MARGIN + indent + x,
                    y: self.y,
                    bold,
                    size,
                    text,
                });
            }
        }
    }

    /// Greedy line breaking at spaces; a word wider than the line is broken between letters.
    fn wrap(&self, runs: &[(&str, bool)], size: f32, width: f32) -> Vec<Vec<(f32, bool, String)>> {
        let mut lines: Vec<Vec<(f32, bool, String)>> = vec![Vec::new()];
        let mut x = 0.0;
        for &(text, bold) in runs {
            let measure = if bold { &self.bold } else { &self.regular };
            for word in text.split_inclusive(' ') {
                let mut word = word.to_string();
                let mut w = measure.width(&word, size);
                if x + measure.width(word.trim_end(), size) > width && x > 0.0 {
                    lines.push(Vec::new());
                    x = 0.0;
                }
                while w > width && word.chars().nth(1).is_some() {
                    // A word longer than the line: as many letters as fit, then the rest. At least
                    // one letter goes on each line (one wider than the line stands alone), so every
                    // turn makes progress.
                    let first = word.chars().next().map_or(word.len(), char::len_utf8);
                    let mut cut = word.len();
                    while cut > first && measure.width(&word[..cut], size) > width {
                        cut = word[..cut]
                            .char_indices()
                            .last()
                            .map_or(first, |(i, _)| i.max(first));
                    }
                    let (head, rest) = word.split_at(cut);
                    push_run(lines.last_mut().expect("a line"), x, bold, head);
                    lines.push(Vec::new());
                    x = 0.0;
                    word = rest.to_string();
                    w = measure.width(&word, size);
                }
                push_run(lines.last_mut().expect("a line"), x, bold, &word);
                x += w;
            }
        }
        lines
    }

    fn finish(self) -> Vec<Vec<Run>> {
        self.pages
    }
}

/// Adds text to a line, joining it to the line's last run when the face is the same.
fn push_run(line: &mut Vec<(f32, bool, String)>, x: f32, bold: bool, text: &str) {
    match line.last_mut() {
        Some((_, last_bold, last)) if *last_bold == bold => last.push_str(text),
        _ => line.push((x, bold, text.to_string())),
    }
}

/// Advance widths of a font's glyphs, for line breaking.
struct Measure {
    font: skrifa::FontRef<'static>,
}

impl Measure {
    fn of(data: &'static [u8]) -> Measure {
        Measure {
            font: skrifa::FontRef::new(data).expect("the embedded font parses"),
        }
    }

    fn width(&self, text: &str, size: f32) -> f32 {
        let charmap = self.font.charmap();
        let metrics = self
            .font
            .glyph_metrics(Size::new(size), LocationRef::default());
        text.chars()
            .filter_map(|c| metrics.advance_width(charmap.map(c)?))
            .sum()
    }
}

fn write(printout: &Printout, pages: Vec<Vec<Run>>) -> Result<Vec<u8>> {
    let configuration = ConfigurationBuilder::new()
        .with_archival_validator(Archival::A2_U)
        .finish()
        .map_err(|e| Error::Internal(format!("the PDF configuration is invalid: {e:?}")))?;
    let mut document = Document::new_with(SerializeSettings {
        configuration,
        ..SerializeSettings::default()
    });
    let regular = Font::new(REGULAR.into(), 0).expect("the embedded font loads");
    let bold = Font::new(BOLD.into(), 0).expect("the embedded bold font loads");
    let count = pages.len();
    for (number, runs) in pages.into_iter().enumerate() {
        let mut page = document.start_page_with(
            PageSettings::from_wh(PAGE_WIDTH, PAGE_HEIGHT).expect("A4 is a page size"),
        );
        let mut surface = page.surface();
        for run in runs {
            let font = if run.bold {
                bold.clone()
            } else {
                regular.clone()
            };
            surface.draw_text(
                Point::from_xy(run.x, run.y),
                font,
                run.size,
                &run.text,
                false,
                TextDirection::Auto,
            );
        }
        let footer = format!("{} – sida {} av {count}", printout.title, number + 1);
        surface.draw_text(
            Point::from_xy(MARGIN, PAGE_HEIGHT - MARGIN + BODY),
            regular.clone(),
            8.0,
            &footer,
            false,
            TextDirection::Auto,
        );
        surface.finish();
        page.finish();
    }
    document.set_metadata(
        Metadata::new()
            .title(printout.title.clone())
            .language("sv".into())
            .creation_date(
                krilla::metadata::DateTime::new(printout.printed_on.year() as u16)
                    .month(printout.printed_on.month() as u8)
                    .day(printout.printed_on.day() as u8),
            )
            .creator("sip-service".into()),
    );
    document
        .finish()
        .map_err(|e| Error::Internal(format!("the plan's PDF cannot be written: {e:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::views::printout::Section;

    fn printout(text: &str) -> Printout {
        Printout {
            printed_on: chrono::NaiveDate::from_ymd_opt(2026, 11, 30).unwrap(),
            title: "Samordnad individuell plan för Åsa Öberg".into(),
            closing: String::new(),
            sections: vec![Section {
                id: "x",
                heading: "Det här är viktigt för dig",
                blocks: vec![
                    Block::Text(text.into()),
                    Block::Facts(vec![Fact {
                        label: "Klart senast",
                        value: "3 mars 2027".into(),
                    }]),
                ],
            }],
        }
    }

    #[test]
    fn a_printout_is_an_a4_pdf_with_its_fonts_and_a_page_for_what_does_not_fit() {
        let short = printout("att komma igång med arbetsträning");
        assert!(render(&short).unwrap().starts_with(b"%PDF-"));
        assert_eq!(lay_out(&short).len(), 1);
        let long = printout(&"många ord som inte ryms på en sida ".repeat(600));
        let pages = lay_out(&long);
        assert!(pages.len() > 2, "the long text runs onto more pages");
        for run in pages.iter().flatten() {
            assert!(
                run.y > MARGIN && run.y <= PAGE_HEIGHT - MARGIN,
                "within the margins: {}",
                run.y
            );
        }
        assert!(render(&long).unwrap().starts_with(b"%PDF-"));
    }

    #[test]
    fn lines_break_at_spaces_within_the_margins_and_long_words_between_letters() {
        let layout = Layout::new();
        let width = 200.0;
        let lines = layout.wrap(&[("ord ".repeat(40).as_str(), false)], BODY, width);
        assert!(lines.len() > 1);
        for line in &lines {
            let (_, _, text) = &line[0];
            assert!(
                layout.regular.width(text.trim_end(), BODY) <= width,
                "{text:?}"
            );
            assert!(!text.starts_with(' '));
        }
        let long = "x".repeat(200);
        let broken = layout.wrap(&[(long.as_str(), false)], BODY, width);
        assert!(broken.len() > 1);
        let joined: String = broken.iter().map(|l| l[0].2.clone()).collect();
        assert_eq!(joined, long, "nothing is lost where a word breaks");
        // Narrower than a letter: a letter a line, and it ends.
        let narrow = layout.wrap(&[("åäö", false)], BODY, 1.0);
        let letters: Vec<&str> = narrow.iter().map(|l| l[0].2.as_str()).collect();
        assert_eq!(letters, ["å", "ä", "ö"]);
    }
}

//! The printout as one self-contained HTML page: no fonts, scripts or styles from elsewhere, Swedish
//! as its language, headings and landmarks for screen readers, readable on a phone, and a print
//! stylesheet for A4.

use std::fmt::Write;

use super::{Block, Fact, Item, Printout};

pub const MEDIA_TYPE: &str = "text/html; charset=utf-8";
/// The media type without its parameter, as `Accept` names it.
pub const MEDIA_TYPE_ESSENCE: &str = "text/html";

const STYLE: &str = "\
:root{color:#1b1b1b;background:#fff;font-family:system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif;line-height:1.5}
body{margin:0 auto;max-width:46rem;padding:1rem}
h1{font-size:1.6rem;margin:.5rem 0 1rem}
h2{font-size:1.3rem;margin:2rem 0 .5rem;padding-top:.5rem;border-top:2px solid #1d4e89}
h3{font-size:1.1rem;margin:1.25rem 0 .25rem}
a{color:#1d4e89}
nav ul{padding-left:1.25rem}
ul.items{list-style:none;padding:0;margin:.5rem 0}
ul.items>li{border-left:4px solid #1d4e89;padding:.25rem 0 .25rem .75rem;margin:.75rem 0}
ul.items ul.items>li{border-left-color:#5b7fa8}
p.title{font-weight:bold;margin:0 0 .25rem}
dl{margin:.25rem 0}
dl div{display:flex;flex-wrap:wrap;gap:0 .5rem}
dt{font-weight:bold}
dd{margin:0}
footer{margin-top:2rem;font-size:.9rem}
@media print{
 @page{size:A4;margin:18mm 16mm}
 :root{font-size:11pt}
 body{max-width:none;padding:0}
 nav{display:none}
 h2{break-after:avoid}
 ul.items>li{break-inside:avoid}
 a{color:inherit;text-decoration:none}
}
";

/// The page for a printout.
pub fn render(printout: &Printout) -> String {
    let mut out = String::with_capacity(16 * 1024);
    out.push_str("<!DOCTYPE html>\n<html lang=\"sv\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    let _ = write!(
        out,
        "<title>{}</title>\n<style>\n{STYLE}</style>\n</head>\n<body>\n",
        escape(&printout.title)
    );
    let _ = write!(
        out,
        "<header>\n<h1>{}</h1>\n</header>\n",
        escape(&printout.title)
    );
    out.push_str("<nav aria-labelledby=\"innehall\">\n<h2 id=\"innehall\">Innehåll</h2>\n<ul>\n");
    for section in &printout.sections {
        let _ = writeln!(
            out,
            "<li><a href=\"#{}\">{}</a></li>",
            section.id,
            escape(section.heading)
        );
    }
    out.push_str("</ul>\n</nav>\n<main>\n");
    for section in &printout.sections {
        let _ = writeln!(
            out,
            "<section aria-labelledby=\"{id}\">\n<h2 id=\"{id}\">{}</h2>",
            escape(section.heading),
            id = section.id
        );
        for block in &section.blocks {
            match block {
                Block::Text(text) => {
                    let _ = writeln!(out, "<p>{}</p>", escape(text));
                }
                Block::Subheading(text) => {
                    let _ = writeln!(out, "<h3>{}</h3>", escape(text));
                }
                Block::Facts(facts) => write_facts(&mut out, facts),
                Block::Items(items) => write_items(&mut out, items),
            }
        }
        out.push_str("</section>\n");
    }
    let _ = write!(
        out,
        "</main>\n<footer>\n<p>{}</p>\n</footer>\n</body>\n</html>\n",
        escape(&printout.closing)
    );
    out
}

fn write_facts(out: &mut String, facts: &[Fact]) {
    if facts.is_empty() {
        return;
    }
    out.push_str("<dl>\n");
    for f in facts {
        let _ = writeln!(
            out,
            "<div><dt>{}:</dt><dd>{}</dd></div>",
            escape(f.label),
            escape(&f.value)
        );
    }
    out.push_str("</dl>\n");
}

fn write_items(out: &mut String, items: &[Item]) {
    out.push_str("<ul class=\"items\">\n");
    for item in items {
        let _ = writeln!(out, "<li>\n<p class=\"title\">{}</p>", escape(&item.title));
        write_facts(out, &item.facts);
        if !item.children.is_empty() {
            write_items(out, &item.children);
        }
        out.push_str("</li>\n");
    }
    out.push_str("</ul>\n");
}

/// Text as HTML text: what a client wrote is shown, never interpreted.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::views::printout::{Printout, Section};

    #[test]
    fn what_a_client_wrote_is_shown_as_text_never_as_markup() {
        let printout = Printout {
            printed_on: chrono::NaiveDate::from_ymd_opt(2026, 11, 30).unwrap(),
            title: "Plan för <script>alert(1)</script>".into(),
            closing: "Slut <b>här</b>".into(),
            sections: vec![Section {
                id: "x",
                heading: "Rubrik",
                blocks: vec![Block::Text("\"a\" & 'b' <img src=x onerror=y>".into())],
            }],
        };
        let page = render(&printout);
        assert!(!page.contains("<script>"));
        assert!(!page.contains("<img"));
        assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(page.contains("&quot;a&quot; &amp; &#39;b&#39;"));
        assert!(page.contains("<html lang=\"sv\">"));
        assert!(!page.contains("<b>") && page.contains("Slut &lt;b&gt;här"));
    }
}

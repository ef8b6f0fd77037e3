//! The plan as the individual is given it: HTML and PDF by content negotiation, in plain Swedish,
//! with every element the law requires, never the topics not to raise; an access like any other.
//! The PDF's text is read back with `pdftotext` and the file checked with `qpdf --check` (poppler-
//! utils and qpdf, which `make test` installs); `make a11y` opens the written HTML in Chromium
//! with axe-core.

use std::process::Command;

use actix_web::http::Method;
use serde_json::{json, Value};
use sip::auth::Role;
use sip::domain::Principal;

use crate::common::*;
use crate::on_both_databases;

const TOPIC_NOT_TO_RAISE: &str = "the parents' separation";

/// Lisa's whole plan (DOMAIN.md): established with a coordinator, the municipality holding the
/// overall responsibility, a long-term goal and a sub-goal, interventions by the region, the
/// municipality, Arbetsförmedlingen and herself, and a topic not to raise.
async fn lisas_full_plan(app: &TestApp) -> Value {
    let plan = consented_plan(app).await;
    let goal = add_goal(app, &plan, "Lisa kommer igång med arbetsträning", None).await;
    let sub = add_goal(
        app,
        &plan,
        "Lisa är uppe och klar på morgonen",
        Some(id(&goal)),
    )
    .await;
    add_intervention(app, &plan, region_intervention(json!([id(&sub)]))).await;
    add_intervention(app, &plan, municipality_intervention()).await;
    add_intervention(
        app,
        &plan,
        json!({"description": "Arbetsträningsplats", "responsible": "other", "responsible_actor": "Arbetsförmedlingen", "goal_ids": [id(&goal)]}),
    )
    .await;
    add_intervention(
        app,
        &plan,
        json!({"description": "Lisa ställer väckarklockan varje kväll", "responsible": "individual", "goal_ids": [id(&sub)]}),
    )
    .await;
    let current = status_of(app, &plan).await;
    app.put(
        &plan_uri(&plan, ""),
        &region_writer(),
        json!({
            "individual_id": current["individual_id"],
            "need_reason": current["need_reason"],
            "what_matters": "att komma igång med arbetsträning",
            "topics_to_avoid": [TOPIC_NOT_TO_RAISE],
        }),
        Some("*"),
    )
    .await
    .expect(200);
    summon_and_meet(app, &plan).await;
    plan
}

async fn document_as(app: &TestApp, uri: &str, accept: &str, who: &Who) -> Reply {
    app.get_accepting(uri, who, accept).await
}

/// Where the documents of the full plan are written for the checks outside the test suite
/// (`make a11y`), one per database.
fn written(app: &TestApp, extension: &str) -> std::path::PathBuf {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/documents");
    std::fs::create_dir_all(&dir).unwrap();
    let backend = if app.postgres_database().is_some() {
        "postgres"
    } else {
        "sqlite"
    };
    dir.join(format!("lisa-{backend}.{extension}"))
}

/// What every document of the full plan says, in the individual's words (the law's elements:
/// interventions, who of the region and the municipality is responsible for what, what others do,
/// the overall responsibility, how the plan is followed up).
const EVERY_ELEMENT: &[&str] = &[
    "Samordnad individuell plan för Lisa",
    "Personnummer: 19121212-1212",
    "Det här är viktigt för dig",
    "att komma igång med arbetsträning",
    "Dina mål",
    "Lisa kommer igång med arbetsträning",
    "Lisa är uppe och klar på morgonen",
    "Så ser vi hur det går: days a week",
    "Det här ska hända",
    "Regionen gör",
    "Case manager meets Lisa weekly",
    "Regionen, Psykiatrisk öppenvård",
    "Vem gör det: Anna Lind",
    "Var: Lisa's home",
    "Hur ofta: weekly",
    "Kommunen gör",
    "Housing support three times a week",
    "Kommunen, Socialtjänsten",
    "Andra gör",
    "Arbetsträningsplats",
    "Ansvarar: Arbetsförmedlingen",
    "Du gör",
    "Lisa ställer väckarklockan varje kväll",
    "Det här var ni inte överens om",
    "Who pays for the transport to work training",
    "Din samordnare: Anna Lind, Psykiatrisk öppenvård",
    "Kommunen har det övergripande ansvaret för planen.",
    "Uppföljning",
    "Nästa uppföljning är",
    "på Vårdcentralen Söder",
    "De som var med på mötet",
    "Bo Ek",
    "Ditt samtycke",
    "De som får vara med: Psykiatrisk öppenvård, Socialtjänsten, Arbetsförmedlingen",
    "Du kan ta tillbaka ditt samtycke när du vill.",
    "16 kapitlet 4 § hälso- och sjukvårdslagen",
    "2 kapitlet 7 § socialtjänstlagen",
];

/// Codes of the API that must reach the individual as words, never as they are.
const CODES: &[&str] = &[
    "municipality",
    "established",
    "need_identified",
    "planned",
    "region\"",
];

fn assert_reads_as_the_plan(text: &str, form: &str) {
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    for element in EVERY_ELEMENT {
        assert!(
            text.contains(element),
            "the {form} lacks {element:?}:\n{text}"
        );
    }
    assert!(
        !text.contains(TOPIC_NOT_TO_RAISE),
        "the {form} shows a topic not to raise"
    );
    for code in CODES {
        assert!(!text.contains(code), "the {form} shows the code {code:?}");
    }
}

async fn a_full_plan_reads_as_html_in_plain_swedish(app: TestApp) {
    let plan = lisas_full_plan(&app).await;
    let uri = plan_uri(&plan, "/document");
    let reply = document_as(
        &app,
        &uri,
        "text/html,application/xhtml+xml,*/*;q=0.8",
        &reader(),
    )
    .await
    .expect(200);
    assert_eq!(
        reply.header("content-type").as_deref(),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(reply.header("vary").as_deref(), Some("Accept"));
    assert_eq!(
        reply.etag(),
        format!("\"{}\"", status_of(&app, &plan).await["version"])
    );
    let csp = reply.header("content-security-policy").unwrap();
    assert!(csp.starts_with("default-src 'none'"), "{csp}");
    let page = reply.body.as_str().unwrap().to_string();
    assert!(page.starts_with("<!DOCTYPE html>\n<html lang=\"sv\">"));
    for landmark in [
        "<header>", "<nav ", "<main>", "<footer>", "<h1>", "<h2 ", "<h3>",
    ] {
        assert!(page.contains(landmark), "the page has no {landmark}");
    }
    for external in ["<script", "<link", "src=", "@import", "url("] {
        assert!(
            !page.contains(external),
            "the page loads something: {external}"
        );
    }
    assert!(page.contains("@media print") && page.contains("size:A4"));
    assert_reads_as_the_plan(&strip_tags(&page), "HTML page");
    std::fs::write(written(&app, "html"), &page).unwrap();

    // JSON stays the default, and what systems get.
    for accept in [
        None,
        Some("application/json"),
        Some("*/*"),
        Some("application/*"),
    ] {
        let headers: Vec<(&str, &str)> = accept.map(|a| ("Accept", a)).into_iter().collect();
        let json = app
            .send(Method::GET, &uri, Some(&reader()), None, &headers)
            .await
            .expect(200);
        assert_eq!(
            json.header("content-type").as_deref(),
            Some("application/json"),
            "{accept:?}"
        );
        assert_eq!(json.body["plan"]["id"], plan["id"]);
    }
}

async fn a_full_plan_reads_as_a_pdf_a_with_its_text_searchable(app: TestApp) {
    let plan = lisas_full_plan(&app).await;
    let reply = document_as(
        &app,
        &plan_uri(&plan, "/document"),
        "application/pdf",
        &reader(),
    )
    .await
    .expect(200);
    assert_eq!(
        reply.header("content-type").as_deref(),
        Some("application/pdf")
    );
    assert!(reply.bytes.starts_with(b"%PDF-"));
    let path = written(&app, "pdf");
    std::fs::write(&path, &reply.bytes).unwrap();

    let check = Command::new("qpdf")
        .arg("--check")
        .arg(&path)
        .output()
        .expect("qpdf is installed (make test installs it)");
    assert!(
        check.status.success(),
        "qpdf --check: {}",
        String::from_utf8_lossy(&check.stdout)
    );
    let info = run("pdfinfo", &path)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        info.contains("Title: Samordnad individuell plan för Lisa Testsson"),
        "{info}"
    );
    assert!(
        info.contains("Page size: 595.28 x 841.89 pts (A4)"),
        "{info}"
    );
    let fonts = run("pdffonts", &path);
    assert!(
        fonts.contains("DejaVuSans") && !fonts.contains(" no  "),
        "every font embedded:\n{fonts}"
    );
    // PDF/A-2u, in Swedish, declared in its metadata.
    let raw = String::from_utf8_lossy(&reply.bytes);
    assert!(
        raw.contains("<pdfaid:part>2</pdfaid:part>")
            && raw.contains("<pdfaid:conformance>U</pdfaid:conformance>")
    );
    assert!(raw.contains("<dc:language><rdf:Bag><rdf:li>sv</rdf:li></rdf:Bag></dc:language>"));
    let catalog = Command::new("qpdf")
        .arg("--json")
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&catalog.stdout).contains("\"/Lang\": \"u:sv\""),
        "the document's language is Swedish"
    );
    assert_reads_as_the_plan(&run("pdftotext", &path), "PDF");
}

fn run(tool: &str, path: &std::path::Path) -> String {
    let mut command = Command::new(tool);
    if tool == "pdftotext" {
        command.arg("-enc").arg("UTF-8").arg(path).arg("-");
    } else {
        command.arg(path);
    }
    let out = command
        .output()
        .unwrap_or_else(|_| panic!("{tool} is installed (make test installs poppler-utils)"));
    assert!(
        out.status.success(),
        "{tool}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The text a reader sees on a page, without its markup (and without the style sheet).
fn strip_tags(page: &str) -> String {
    let body = &page[page.find("<body>").unwrap()..];
    let mut text = String::new();
    let mut in_tag = false;
    for c in body.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                text.push(' ');
            }
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    text.replace("&#39;", "'")
        .replace("&amp;", "&")
        .replace("&quot;", "\"")
}

async fn a_revision_renders_what_was_given_then_not_what_came_later(app: TestApp) {
    let plan = established_plan(&app).await;
    revise(&app, &plan).await;
    add_goal(&app, &plan, "Ett mål som kom till vid ändringen", None).await;
    let current = document_as(&app, &plan_uri(&plan, "/document"), "text/html", &reader())
        .await
        .expect(200);
    assert!(current
        .body
        .as_str()
        .unwrap()
        .contains("Ett mål som kom till vid ändringen"));
    for (accept, marker) in [
        ("text/html", "<!DOCTYPE html>"),
        ("application/pdf", "%PDF-"),
    ] {
        let first = document_as(&app, &plan_uri(&plan, "/revisions/1"), accept, &reader())
            .await
            .expect(200);
        assert_eq!(
            first
                .header("content-type")
                .as_deref()
                .map(|c| c.split(';').next().unwrap()),
            Some(accept)
        );
        assert!(String::from_utf8_lossy(&first.bytes).starts_with(marker));
        if accept == "text/html" {
            let page = first.body.as_str().unwrap();
            assert!(
                page.contains("<dt>Version:</dt><dd>1, gjord på mötet"),
                "{page}"
            );
            assert!(
                !page.contains("Ett mål som kom till vid ändringen"),
                "revision 1 shows a later goal"
            );
        }
    }
    let json = app
        .get(&plan_uri(&plan, "/revisions/1"), &reader())
        .await
        .expect(200);
    assert_eq!(
        json.header("content-type").as_deref(),
        Some("application/json")
    );
    // The revision is stored deflated (`db::meetings`), and read back whole above.
    let stored = |condition: &str| {
        format!(
            "SELECT count(*) AS n FROM plan_revisions WHERE plan_id = '{}'{condition}",
            id(&plan)
        )
    };
    assert_eq!(
        app.count(stored(" AND document LIKE 'deflate:%'")).await,
        app.count(stored("")).await
    );
    assert!(app.count(stored("")).await >= 1);
}

async fn a_document_is_an_access_like_any_other(app: TestApp) {
    let plan = established_plan(&app).await;
    let uri = plan_uri(&plan, "/document");
    let logged = format!(
        "SELECT COUNT(*) AS n FROM audit_events WHERE plan_id = '{}' AND action = 'read'",
        id(&plan)
    );
    let before = app.count(logged.clone()).await;
    for accept in ["text/html", "application/pdf"] {
        document_as(&app, &uri, accept, &reader()).await.expect(200);
    }
    // Logged before answered: the rows are there when the replies are.
    assert_eq!(app.count(logged).await, before + 2);

    // Outside the consent the plan does not exist, in any form, and the unknown plan is the same.
    let outsider = Who {
        unit: "SE2321000016-XYZ9",
        principal: Principal::Region,
        roles: vec![Role::Read],
    };
    for accept in ["text/html", "application/pdf"] {
        let hidden = document_as(&app, &uri, accept, &outsider).await.expect(404);
        let unknown = document_as(
            &app,
            "/api/v1/plans/019a8b3c-5d2e-7f10-8a4b-3c2d1e0f9a8b/document",
            accept,
            &outsider,
        )
        .await
        .expect(404);
        assert_eq!(hidden.body, unknown.body);
        document_as(&app, &plan_uri(&plan, "/revisions/1"), accept, &outsider)
            .await
            .expect(404);
    }
}

async fn a_form_the_client_cannot_take_is_406_naming_those_offered(app: TestApp) {
    let plan = established_plan(&app).await;
    for uri in [
        plan_uri(&plan, "/document"),
        plan_uri(&plan, "/revisions/1"),
    ] {
        for accept in [
            "image/png",
            "application/pdf;q=0, text/*;q=0, application/json;q=0",
        ] {
            let reply = document_as(&app, &uri, accept, &reader()).await.expect(406);
            assert_eq!(
                reply.body["detail"],
                "this resource is available as application/json, text/html, application/pdf"
            );
        }
        // The client's ranking decides; a tie goes to JSON.
        let pdf = document_as(&app, &uri, "text/html;q=0.5, application/pdf", &reader())
            .await
            .expect(200);
        assert_eq!(
            pdf.header("content-type").as_deref(),
            Some("application/pdf")
        );
        let tie = document_as(&app, &uri, "text/html, application/json", &reader())
            .await
            .expect(200);
        assert_eq!(
            tie.header("content-type").as_deref(),
            Some("application/json")
        );
    }
}

/// Every state of a plan renders in both forms, with every section the law asks for — saying so
/// where the plan does not have it yet — and the state in words.
async fn every_state_of_a_plan_renders_with_every_section(app: TestApp) {
    let new = app.lisas_plan().await;
    let refused = app.lisas_plan().await;
    app.post(
        &plan_uri(&refused, "/consents"),
        &region_writer(),
        lisas_refusal(),
    )
    .await
    .expect(201);
    let (summoned, _) = summoned_plan(&app).await;
    let closed = established_plan(&app).await;
    app.post(
        &plan_uri(&closed, "/close"),
        &region_writer(),
        json!({"reason": "goals_met"}),
    )
    .await
    .expect(200);
    for (plan, state) in [
        (&new, "Läge: Vi har sett att du behöver en plan"),
        (&refused, "Läge: Du sa nej till en plan"),
        (&summoned, "Läge: Mötet om planen är bokat"),
        (&closed, "Läge: Planen är avslutad, eftersom målen är nådda"),
    ] {
        let page = document_as(&app, &plan_uri(plan, "/document"), "text/html", &reader())
            .await
            .expect(200);
        let text = strip_tags(page.body.as_str().unwrap());
        let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
        for always in [
            state,
            "Dina mål",
            "Regionen gör",
            "Kommunen gör",
            "Andra gör",
            "Du gör",
            "Din samordnare",
            "Övergripande ansvar",
            "Uppföljning",
            "De som var med på mötet",
            "Ditt samtycke",
            "Du kan ta tillbaka ditt samtycke när du vill.",
            "Planen och lagen",
        ] {
            assert!(text.contains(always), "{state}: no {always:?} in\n{text}");
        }
        let pdf = document_as(
            &app,
            &plan_uri(plan, "/document"),
            "application/pdf",
            &reader(),
        )
        .await
        .expect(200);
        assert!(pdf.bytes.starts_with(b"%PDF-"), "{state}");
    }
}

/// Each list of the whole plan is in its order (goals and interventions by position, a summons'
/// recipients by position, …) however its rows lie in the table: PostgreSQL reads the rows
/// unordered (`plan_document_rows`) and the service orders them. Here the first row of each list
/// is rewritten — on PostgreSQL its new version goes after the others in the table — and the
/// tables analysed, so that a small table is read in its stored order rather than an index's.
async fn the_whole_plan_keeps_its_order_however_its_rows_are_stored(app: TestApp) {
    let plan = lisas_full_plan(&app).await;
    let uri = plan_uri(&plan, "/document");
    let before = app.get(&uri, &reader()).await.expect(200).body;
    assert!(before["goals"].as_array().map_or(0, Vec::len) >= 2);
    assert!(before["interventions"].as_array().map_or(0, Vec::len) >= 2);
    let firsts = [
        ("goals", "position", "position, id"),
        ("interventions", "position", "position, id"),
        ("summons_recipients", "position", "summons_id, position"),
        ("consent_parties", "position", "consent_id, position"),
        ("consent_givers", "position", "consent_id, position"),
        ("intervention_goals", "goal_id", "intervention_id, goal_id"),
        ("follow_ups", "scheduled_on", "scheduled_on, id"),
    ];
    for (table, column, order) in firsts {
        app.run_sql(format!(
            "UPDATE {table} SET {column} = {column} WHERE ({order}) = \
             (SELECT {order} FROM {table} ORDER BY {order} LIMIT 1)"
        ))
        .await;
    }
    app.run_sql("ANALYZE").await;
    let after = app.get(&uri, &reader()).await.expect(200).body;
    assert_eq!(after, before);
}

on_both_databases!(
    every_state_of_a_plan_renders_with_every_section,
    the_whole_plan_keeps_its_order_however_its_rows_are_stored,
    a_full_plan_reads_as_html_in_plain_swedish,
    a_full_plan_reads_as_a_pdf_a_with_its_text_searchable,
    a_revision_renders_what_was_given_then_not_what_came_later,
    a_document_is_an_access_like_any_other,
    a_form_the_client_cannot_take_is_406_naming_those_offered,
);

//! `sip-service backup`: a consistent copy of a running SQLite database, and its restore.

use std::cell::{Cell, RefCell};

use serde_json::{json, Value};

use crate::common::*;

/// A backup taken while writers commit holds every write acknowledged before it began; the copy,
/// restored as the service's database, is served like the original.
#[actix_web::test]
async fn a_backup_under_write_load_restores_every_acknowledged_write() {
    let app = TestApp::sqlite().await;
    let lisa = app.individual(LISA_PNR, "Lisa", json!([])).await;
    let acknowledged: RefCell<Vec<String>> = RefCell::new(Vec::new());
    let copy = std::env::temp_dir().join(format!("sip-backup-{}.sqlite3", uuid::Uuid::new_v4()));
    // The writers write until the backup has finished (ten plans each at the least), so that it
    // runs among writes however fast they are: a fixed number of writes could all be done before
    // the backup starts (SQLite's group commit takes ten in a few milliseconds).
    let backup_done = Cell::new(false);
    let writers = futures_util::future::join_all((0..4).map(|_| async {
        let mut written = 0;
        while written < 10 || !backup_done.get() {
            let plan = app.plan_for(id(&lisa)).await;
            acknowledged.borrow_mut().push(id(&plan).to_string());
            written += 1;
        }
    }));
    let backup = async {
        eventually("some writes before the backup", || async {
            (acknowledged.borrow().len() >= 8).then_some(())
        })
        .await;
        let before = acknowledged.borrow().clone();
        let (db, target) = (app.db().clone(), copy.clone());
        actix_web::web::block(move || db.backup_to(&target))
            .await
            .unwrap()
            .expect("the backup");
        backup_done.set(true);
        before
    };
    let (_, before) = futures_util::future::join(writers, backup).await;
    assert!(
        before.len() < acknowledged.borrow().len(),
        "writes were acknowledged while the backup ran"
    );

    // A backup never overwrites a file.
    let again = app.db().backup_to(&copy).unwrap_err();
    assert!(again.contains("exists"), "{again}");

    // Restore: the copy is the database of a service, which serves every write acknowledged
    // before the backup began.
    let restored = TestApp::sqlite_from(copy).await;
    let mut listed: Vec<String> = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = restored
            .get(&format!("/api/v1/plans?limit=200{cursor}"), &reader())
            .await
            .expect(200)
            .body;
        listed.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| id(p).to_string()),
        );
        match page["next_cursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => break,
        }
    }
    for plan in &before {
        assert!(
            listed.contains(plan),
            "plan {plan} acknowledged before the backup is missing"
        );
    }
    // And it goes on working: a new plan, and the change feed still in order.
    restored.plan_for(id(&lisa)).await;
    let feed: Value = restored
        .get("/api/v1/events?limit=200", &reader())
        .await
        .expect(200)
        .body;
    assert!(!feed["items"].as_array().unwrap().is_empty());
}

#[actix_web::test]
async fn postgres_is_backed_up_with_its_own_tools() {
    let app = TestApp::postgres().await;
    let path = std::env::temp_dir().join("never-written.sqlite3");
    let refusal = app.db().backup_to(&path).unwrap_err();
    assert!(refusal.contains("pg_dump"), "{refusal}");
    assert!(!path.exists());
}

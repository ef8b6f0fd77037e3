//! The test harness: a fresh database per test (SQLite file or PostgreSQL database), the real app
//! built by `build_app`, and a small JSON client over actix's in-process test service. The
//! plans the tests build are in `fixtures`.

pub mod conformance;
mod fixtures;
pub use fixtures::*;

use std::path::PathBuf;
use std::rc::Rc;

use actix_web::body::{to_bytes, BoxBody};
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::{header, Method, StatusCode};
use actix_web::{test, web};
use diesel::{Connection, RunQueryDsl};
use futures_util::future::LocalBoxFuture;
use serde_json::Value;
use sip::app::{build_app, AppState};
use sip::auth::{mint_token, Role, TokenVerifier};
use sip::clock::Clock;
use sip::config::{JwtKeySetting, JwtSettings};
use sip::db::Db;
use sip::domain::identity::HsaId;
use sip::domain::Principal;

pub const SECRET: &str = "test-secret-that-is-long-enough-for-hs256-0123456789";
pub const ISSUER: &str = "sip-test";
pub const AUDIENCE: &str = "sip-api";

/// Published test identity numbers (Skatteverket's test series), never a real person's.
pub const LISA_PNR: &str = "19121212-1212";
pub const ERIK_PNR: &str = "195309011913";
/// A child born 2012-05-05 (Alex, 14).
pub const ALEX_PNR: &str = "20120505-2382";
/// A child born 2020-03-03 (Noah, 6).
pub const NOAH_PNR: &str = "20200303-2394";

/// The one browser origin the test app allows.
/// Where the test service says clients reach it.
pub const PUBLIC_URL: &str = "https://sip.test";
pub const CORS_ORIGIN: &str = "https://frontend.example";

pub const REGION_UNIT: &str = "SE2321000016-PSY1";
pub const MUNICIPALITY_UNIT: &str = "SE2120001314-SOC1";

pub fn jwt_settings(key: JwtKeySetting) -> JwtSettings {
    JwtSettings {
        issuer: ISSUER.into(),
        audience: AUDIENCE.into(),
        key,
        leeway_seconds: 0,
        individual: Default::default(),
        staff: Default::default(),
    }
}

pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

type Call = Rc<dyn Fn(actix_http::Request) -> LocalBoxFuture<'static, ServiceResponse<BoxBody>>>;

enum Cleanup {
    SqliteFile(PathBuf),
    Postgres(TempPostgres),
}

/// A PostgreSQL database of its own for one test, dropped afterwards. The server is at
/// `TEST_DATABASE_URL` (default: the local server); the tests fail loudly when it cannot be reached.
pub struct TempPostgres {
    pub url: String,
    admin_url: String,
    name: String,
}

impl TempPostgres {
    /// A database with every migration applied, copied from the template database (see
    /// `migrated_template`): a copy takes a fraction of the time of migrating anew.
    pub fn create() -> TempPostgres {
        let admin_url = admin_url();
        let template = migrated_template(&admin_url);
        Self::create_from(&admin_url, Some(template))
    }

    /// An empty database (no migrations applied).
    pub fn create_empty() -> TempPostgres {
        Self::create_from(&admin_url(), None)
    }

    fn create_from(admin_url: &str, template: Option<&str>) -> TempPostgres {
        let name = format!("sip_test_{}", uuid::Uuid::new_v4().simple());
        let mut admin = admin_connection(admin_url);
        let from = template
            .map(|t| format!(" TEMPLATE {t}"))
            .unwrap_or_default();
        diesel::sql_query(format!("CREATE DATABASE {name}{from}"))
            .execute(&mut admin)
            .expect("CREATE DATABASE");
        TempPostgres {
            url: database_url(admin_url, &name),
            admin_url: admin_url.to_string(),
            name,
        }
    }
}

fn admin_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

fn admin_connection(admin_url: &str) -> diesel::PgConnection {
    diesel::PgConnection::establish(admin_url).unwrap_or_else(|e| {
        panic!("PostgreSQL must be reachable at TEST_DATABASE_URL ({admin_url}) for the tests: {e}")
    })
}

/// The name of a database migrated by the service itself (`Db::connect`) that test databases are
/// copied from. It is named after the migrations' contents, so a run reuses the one an earlier run
/// made for the same migrations and a changed migration makes a new one (older ones are dropped).
/// It is made under a temporary name and renamed when complete, so a run that dies half-way never
/// leaves a half-migrated template behind.
fn migrated_template(admin_url: &str) -> &'static str {
    static TEMPLATE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    TEMPLATE.get_or_init(|| {
        let name = format!("sip_template_{:016x}", migrations_fingerprint());
        let mut admin = admin_connection(admin_url);
        #[derive(diesel::QueryableByName)]
        struct Name {
            #[diesel(sql_type = diesel::sql_types::Text)]
            datname: String,
        }
        let existing: Vec<Name> = diesel::sql_query(
            "SELECT datname FROM pg_database WHERE datname LIKE 'sip\\_template\\_%'",
        )
        .load(&mut admin)
        .expect("the list of databases");
        if existing.iter().any(|d| d.datname == name) {
            return name;
        }
        let building = TempPostgres::create_empty();
        drop(Db::connect(&building.url, 1).expect("the migrations apply"));
        let renamed =
            diesel::sql_query(format!("ALTER DATABASE {} RENAME TO {name}", building.name))
                .execute(&mut admin);
        if renamed.is_ok() {
            // The renamed database is no longer the temporary one `building` drops.
            std::mem::forget(building);
            for stale in existing {
                let _ = diesel::sql_query(format!(
                    "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                    stale.datname
                ))
                .execute(&mut admin);
            }
        }
        // Else another test process made the same template meanwhile; `building` is dropped.
        name
    })
}

/// A fingerprint of the PostgreSQL migrations: their paths and contents.
fn migrations_fingerprint() -> u64 {
    use std::hash::{Hash, Hasher};
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("migrations/postgres");
    let mut files = Vec::new();
    let mut folders = vec![root.clone()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).expect("the migrations folder") {
            let path = entry.expect("a migration").path();
            if path.is_dir() {
                folders.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    for file in files {
        file.strip_prefix(&root).unwrap().hash(&mut hasher);
        std::fs::read(&file)
            .expect("a migration file")
            .hash(&mut hasher);
    }
    hasher.finish()
}

impl TempPostgres {
    /// Cuts every connection to the database and refuses new ones (`false`), or lets them in again.
    pub fn set_reachable(&self, reachable: bool) {
        let mut admin =
            diesel::PgConnection::establish(&self.admin_url).expect("the admin connection");
        diesel::sql_query(format!(
            "ALTER DATABASE {} ALLOW_CONNECTIONS {reachable}",
            self.name
        ))
        .execute(&mut admin)
        .expect("ALTER DATABASE");
        if !reachable {
            diesel::sql_query(format!(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{}' AND pid <> pg_backend_pid()",
                self.name
            ))
            .execute(&mut admin)
            .expect("terminate connections");
        }
    }
}

impl TempPostgres {
    /// A function that terminates every session connected to the database (as an administrator's
    /// `pg_terminate_backend` or a crashed server would), leaving new connections allowed; for use
    /// from another thread.
    pub fn terminator(&self) -> impl Fn() + Send + 'static {
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        move || {
            if let Ok(mut admin) = diesel::PgConnection::establish(&admin_url) {
                let _ = diesel::sql_query(format!(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}' AND pid <> pg_backend_pid()"
                ))
                .execute(&mut admin);
            }
        }
    }
}

impl Drop for TempPostgres {
    fn drop(&mut self) {
        if let Ok(mut admin) = diesel::PgConnection::establish(&self.admin_url) {
            let _ = diesel::sql_query(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .execute(&mut admin);
        }
    }
}

pub struct TestApp {
    call: Call,
    db: Db,
    /// The app's clock, shared with its access log and the dispatchers it starts.
    clock: Clock,
    cleanup: Cleanup,
    jwt: JwtSettings,
}

/// A response, with its body parsed as JSON where it is JSON.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: header::HeaderMap,
    pub body: Value,
    /// The body as it came (a PDF is not text).
    pub bytes: actix_web::web::Bytes,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(String::from)
    }

    pub fn etag(&self) -> String {
        self.header("etag").expect("an ETag header")
    }

    /// Asserts the status and that an error is problem+json.
    pub fn expect(self, status: u16) -> Reply {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {:#}",
            self.body
        );
        if status >= 400 {
            assert_problem(&self);
        }
        self
    }

    /// The field paths of a problem's `errors`.
    pub fn error_fields(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .map(|errors| {
                errors
                    .iter()
                    .map(|e| e["field"].as_str().unwrap_or("").to_string())
                    .collect()
            })
            .unwrap_or_default()
    }
}

pub fn assert_problem(reply: &Reply) {
    assert_eq!(
        reply.header("content-type").as_deref(),
        Some("application/problem+json"),
        "errors are problem+json; body: {}",
        reply.body
    );
    let b = &reply.body;
    assert!(
        b["type"].is_string() && b["title"].is_string() && b["detail"].is_string(),
        "{b}"
    );
    assert_eq!(
        b["status"].as_u64(),
        Some(reply.status.as_u16() as u64),
        "{b}"
    );
}

/// A caller: unit, principal, roles.
#[derive(Clone)]
pub struct Who {
    pub unit: &'static str,
    pub principal: Principal,
    pub roles: Vec<Role>,
}

impl Who {
    /// An individual, identified by e-ID through an e-service: the token names the person
    /// (`unit` holds the identity number here; an individual's token has no unit and no role).
    pub fn individual(identity_number: &'static str) -> Who {
        Who {
            unit: identity_number,
            principal: Principal::Other,
            roles: vec![],
        }
    }
}

pub fn region_writer() -> Who {
    Who {
        unit: REGION_UNIT,
        principal: Principal::Region,
        roles: vec![Role::Read, Role::Write],
    }
}

pub fn municipality_writer() -> Who {
    Who {
        unit: MUNICIPALITY_UNIT,
        principal: Principal::Municipality,
        roles: vec![Role::Read, Role::Write],
    }
}

pub fn reader() -> Who {
    Who {
        unit: REGION_UNIT,
        principal: Principal::Region,
        roles: vec![Role::Read],
    }
}

impl TestApp {
    pub async fn sqlite() -> TestApp {
        Self::sqlite_with_jwt(jwt_settings(JwtKeySetting::Hs256Secret(SECRET.into()))).await
    }

    /// A SQLite app with another token configuration (e.g. RS256 with a public key).
    pub async fn sqlite_with_jwt(jwt: JwtSettings) -> TestApp {
        let path = std::env::temp_dir().join(format!(
            "sip-test-{}.sqlite3",
            uuid::Uuid::new_v4().simple()
        ));
        let db = Db::connect(path.to_str().unwrap(), 4).expect("a SQLite database");
        Self::start(db, Cleanup::SqliteFile(path), jwt).await
    }

    /// A SQLite app over an existing database file (a restored backup); the file is removed after.
    pub async fn sqlite_from(path: PathBuf) -> TestApp {
        let db = Db::connect(path.to_str().unwrap(), 4).expect("a SQLite database");
        Self::start(
            db,
            Cleanup::SqliteFile(path),
            jwt_settings(JwtKeySetting::Hs256Secret(SECRET.into())),
        )
        .await
    }

    pub async fn postgres() -> TestApp {
        let database = TempPostgres::create();
        let db = Db::connect(&database.url, 4).expect("a PostgreSQL database");
        Self::start(
            db,
            Cleanup::Postgres(database),
            jwt_settings(JwtKeySetting::Hs256Secret(SECRET.into())),
        )
        .await
    }

    async fn start(db: Db, cleanup: Cleanup, jwt: JwtSettings) -> TestApp {
        Self::start_limited(db, cleanup, jwt, Default::default()).await
    }

    /// A SQLite app with rate limits.
    pub async fn sqlite_limited(limits: sip::config::RateLimits) -> TestApp {
        let path = std::env::temp_dir().join(format!(
            "sip-test-{}.sqlite3",
            uuid::Uuid::new_v4().simple()
        ));
        let db = Db::connect(path.to_str().unwrap(), 4).expect("a SQLite database");
        let jwt = jwt_settings(JwtKeySetting::Hs256Secret(SECRET.into()));
        Self::start_limited(db, Cleanup::SqliteFile(path), jwt, limits).await
    }

    async fn start_limited(
        db: Db,
        cleanup: Cleanup,
        jwt: JwtSettings,
        limits: sip::config::RateLimits,
    ) -> TestApp {
        let clock = Clock::system();
        TestApp {
            call: Self::service(db.clone(), clock.clone(), &jwt, limits).await,
            db,
            clock,
            cleanup,
            jwt,
        }
    }

    /// Moves the app's clock `days` ahead — its requests, access log, import runner and webhook
    /// dispatchers all see the later time — so the service decides as it would that much later (a
    /// consent expires, a follow-up falls due), with nothing stored edited behind its back.
    pub fn pass_days(&self, days: i64) {
        self.clock.advance(chrono::Duration::days(days));
    }

    /// Today in Sweden by the app's clock.
    pub fn today(&self) -> chrono::NaiveDate {
        self.clock.today()
    }

    /// Runs SQL on the test's database and says whether the database accepted it.
    pub async fn try_sql(&self, sql: &'static str) -> bool {
        use diesel::connection::SimpleConnection;
        self.db
            .write(move |c| {
                c.batch_execute(sql)?;
                Ok(())
            })
            .await
            .is_ok()
    }

    /// Starts a webhook dispatcher on this app's database (stopped when dropped), as `main` does.
    pub fn start_webhooks(
        &self,
        settings: sip::domain::webhook::WebhookSettings,
    ) -> sip::webhooks::Dispatcher {
        sip::webhooks::Dispatcher::start(
            self.db.clone(),
            self.clock.clone(),
            settings,
            Default::default(),
        )
    }

    /// Starts a webhook dispatcher with hooks into its work (e.g. one that stalls mid-round).
    pub fn start_webhooks_with(
        &self,
        settings: sip::domain::webhook::WebhookSettings,
        hooks: sip::webhooks::DispatcherHooks,
    ) -> sip::webhooks::Dispatcher {
        sip::webhooks::Dispatcher::start_with(
            self.db.clone(),
            self.clock.clone(),
            settings,
            Default::default(),
            hooks,
        )
    }

    /// The number `sql` (a query of one row with one BIGINT column named `n`) answers.
    pub async fn count(&self, sql: String) -> i64 {
        use diesel::prelude::*;
        #[derive(QueryableByName)]
        struct Count {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        self.db
            .read(move |c| {
                let row: Count = match c {
                    sip::db::DbConn::Postgres(c) => diesel::sql_query(&sql).get_result(c)?,
                    sip::db::DbConn::Sqlite(c) => diesel::sql_query(&sql).get_result(c)?,
                };
                Ok(row.n)
            })
            .await
            .expect("the query runs")
    }

    /// The app's database handle.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// The PostgreSQL database of a `postgres()` app.
    pub fn postgres_database(&self) -> Option<&TempPostgres> {
        match &self.cleanup {
            Cleanup::Postgres(database) => Some(database),
            Cleanup::SqliteFile(_) => None,
        }
    }

    /// Runs SQL on the test's database, to set up what no request makes: another instance's
    /// running import, a crashed dispatcher's lease, keys an older version stored. (Time is moved
    /// with `pass_days`, never by editing stored dates.)
    pub async fn run_sql(&self, sql: impl Into<String>) {
        use diesel::connection::SimpleConnection;
        let sql = sql.into();
        self.db
            .write(move |c| {
                c.batch_execute(&sql)?;
                Ok(())
            })
            .await
            .expect("the SQL runs");
    }

    /// PostgreSQL only (what is measured there is its plan for a query): `copies` more rows of
    /// `table`, each its first row with the `changed` columns set to SQL expressions of the copied
    /// row `x` and the copy's number `g`; then the table is analysed and the statistics flushed.
    pub async fn copy_first_row(&self, table: &str, copies: u32, changed: &[(&str, &str)]) {
        use diesel::connection::SimpleConnection;
        if self.postgres_database().is_none() {
            return;
        }
        let cases: String = changed
            .iter()
            .map(|(column, value)| {
                format!(
                    "WHEN column_name = '{column}' THEN '{}' ",
                    value.replace('\'', "''")
                )
            })
            .collect();
        let sql = format!(
            "DO $$
             DECLARE q text;
             BEGIN
               SELECT format('INSERT INTO {table} SELECT %s FROM (SELECT * FROM {table} LIMIT 1) x, generate_series(1, {copies}) g',
                             string_agg(CASE {cases} ELSE 'x.' || quote_ident(column_name) END, ', ' ORDER BY ordinal_position))
                 INTO q
                 FROM information_schema.columns
                WHERE table_schema = current_schema() AND table_name = '{table}';
               EXECUTE q;
             END $$;
             ANALYZE;
             SELECT pg_stat_force_next_flush();"
        );
        self.db
            .write(move |c| {
                c.batch_execute(&sql)?;
                Ok(())
            })
            .await
            .expect("the SQL runs");
    }

    /// The ids of every item of a list, page after page (`first_page` has a query string).
    pub async fn every_id(&self, first_page: &str, who: &Who) -> Vec<String> {
        let (mut ids, mut uri) = (Vec::new(), first_page.to_string());
        loop {
            let page = self.get(&uri, who).await.expect(200).body;
            ids.extend(
                page["items"]
                    .as_array()
                    .expect("a page of items")
                    .iter()
                    .map(|item| id(item).to_string()),
            );
            match page["next_cursor"].as_str() {
                Some(next) => uri = format!("{first_page}&cursor={next}"),
                None => return ids,
            }
        }
    }

    /// The access log as it looks after months in service: 100,000 more records of the region's
    /// unit, each sealed (with a hash no chain verifies: for measuring what a query reads, not
    /// for `seals::verify`), and the tables analysed, as autovacuum would have.
    pub async fn grow_the_access_log(&self) {
        self.run_sql(if self.postgres_database().is_some() {
            "INSERT INTO audit_events (id, occurred_at, subject, unit, principal, action, resource_type, result, status, request_id)
               SELECT g, now(), 'earlier', 'SE2321000016-PSY1', 'region', 'read', 'plans', 'allowed', 200, 'earlier'
                 FROM generate_series((SELECT MAX(id) FROM audit_events) + 1, (SELECT MAX(id) FROM audit_events) + 100000) g;
             INSERT INTO audit_seals (chain_seq, event_id, hash, sealed_at)
               SELECT ROW_NUMBER() OVER (ORDER BY e.id) + (SELECT COALESCE(MAX(chain_seq), 0) FROM audit_seals), e.id, 'earlier', now()
                 FROM audit_events e WHERE e.id > (SELECT COALESCE(MAX(event_id), 0) FROM audit_seals);
             SELECT setval('audit_events_id_seq', (SELECT MAX(id) FROM audit_events));
             ANALYZE audit_events; ANALYZE audit_seals;
             SELECT pg_stat_force_next_flush();"
        } else {
            "INSERT INTO audit_events (id, occurred_at, subject, unit, principal, action, resource_type, result, status, request_id)
               WITH RECURSIVE s(g) AS (SELECT (SELECT MAX(id) FROM audit_events) + 1 UNION ALL
                                       SELECT g + 1 FROM s WHERE g < (SELECT MAX(id) FROM audit_events) + 100000)
               SELECT g, strftime('%Y-%m-%d %H:%M:%f', 'now'), 'earlier', 'SE2321000016-PSY1', 'region', 'read', 'plans', 'allowed', 200, 'earlier' FROM s;
             INSERT INTO audit_seals (chain_seq, event_id, hash, sealed_at)
               SELECT ROW_NUMBER() OVER (ORDER BY e.id) + (SELECT COALESCE(MAX(chain_seq), 0) FROM audit_seals), e.id, 'earlier', strftime('%Y-%m-%d %H:%M:%f', 'now')
                 FROM audit_events e WHERE e.id > (SELECT COALESCE(MAX(event_id), 0) FROM audit_seals);
             ANALYZE;"
        })
        .await;
    }

    /// PostgreSQL: how many rows `f` read from `table`, through its indexes or by scanning it (the
    /// statistics views), run on one connection that reports its counts when it is done; `None`
    /// on SQLite, which keeps no such counts. For a test that a query's work does not grow with
    /// the table, counted in rows, not in time.
    pub async fn rows_read_by<T>(
        &self,
        table: &'static str,
        f: impl FnOnce(&mut sip::db::DbConn) -> sip::error::Result<T>,
    ) -> (T, Option<i64>) {
        let postgres = self.postgres_database().is_some();
        let read_so_far = format!(
            "SELECT CAST((SELECT COALESCE(SUM(idx_tup_read), 0) FROM pg_stat_user_indexes WHERE relname = '{table}')
                       + (SELECT COALESCE(seq_tup_read, 0) FROM pg_stat_user_tables WHERE relname = '{table}') AS BIGINT) AS n"
        );
        let before = if postgres {
            self.count(read_so_far.clone()).await
        } else {
            0
        };
        let value = self
            .db
            .write_now(|c| {
                if let sip::db::DbConn::Postgres(pg) = c {
                    // The counts reach the views when this transaction ends, not up to ten
                    // seconds later.
                    diesel::sql_query("SELECT pg_stat_force_next_flush()").execute(pg)?;
                }
                f(c)
            })
            .expect("the measured statements run");
        let read = if postgres {
            Some(self.count(read_so_far).await - before)
        } else {
            None
        };
        (value, read)
    }

    async fn service(
        db: Db,
        clock: Clock,
        jwt: &JwtSettings,
        limits: sip::config::RateLimits,
    ) -> Call {
        sip::metrics::start_recording();
        let state = AppState {
            db: db.clone(),
            verifier: web::Data::new(TokenVerifier::new(jwt).expect("a token verifier")),
            max_body_bytes: 64 * 1024,
            deadlines: Default::default(),
            cors_origins: vec![CORS_ORIGIN.to_string()],
            audit: sip::audit::AuditLog::start(db.clone(), clock.clone(), false),
            feed: Default::default(),
            webhooks: Default::default(),
            clock,
            public_url: sip::config::PublicUrl(PUBLIC_URL.into()),
            metrics: sip::metrics::MetricsEnabled(true),
            limiters: web::Data::new(sip::auth::limits::Limiters::new(limits)),
        };
        let service = Rc::new(test::init_service(build_app(state)).await);
        Rc::new(move |req: actix_http::Request| {
            let service = service.clone();
            Box::pin(async move {
                match service.call(req).await {
                    Ok(response) => response.map_into_boxed_body(),
                    Err(e) => panic!("the service failed instead of answering: {e}"),
                }
            }) as LocalBoxFuture<'static, _>
        })
    }

    pub fn token(&self, who: &Who) -> String {
        let Ok(unit) = HsaId::parse(who.unit) else {
            let person = sip::domain::identity::IdentityNumber::parse(
                who.unit,
                sip::domain::calendar::swedish_date(chrono::Utc::now()),
            )
            .expect("a Who is a unit or an individual");
            return sip::auth::mint_individual_token(&self.jwt, &person, 600).unwrap();
        };
        mint_token(&self.jwt, "tester", &unit, who.principal, &who.roles, 600).unwrap()
    }

    /// Sends a request as `who` (None: without a token).
    pub async fn send(
        &self,
        method: Method,
        uri: &str,
        who: Option<&Who>,
        body: Option<&Value>,
        extra_headers: &[(&str, &str)],
    ) -> Reply {
        let mut req = test::TestRequest::default().method(method).uri(uri);
        if let Some(who) = who {
            req = req.insert_header((header::AUTHORIZATION, format!("Bearer {}", self.token(who))));
        }
        if let Some(body) = body {
            req = req
                .insert_header((header::CONTENT_TYPE, "application/json"))
                .set_payload(body.to_string());
        }
        for (name, value) in extra_headers {
            req = req.insert_header((*name, *value));
        }
        self.send_request(req).await
    }

    pub async fn send_request(&self, req: test::TestRequest) -> Reply {
        self.send_raw(req.to_request()).await
    }

    /// Sends a request built by hand (e.g. with a body that streams in).
    /// Every response is held to the OpenAPI document on the way (`conformance`).
    pub async fn send_raw(&self, req: actix_http::Request) -> Reply {
        let (method, path) = (req.method().clone(), req.path().to_string());
        let response = (self.call)(req).await;
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = to_bytes(response.into_body()).await.unwrap_or_default();
        let body = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        conformance::check(&method, &path, status, &headers, &body);
        Reply {
            status,
            headers,
            body,
            bytes,
        }
    }

    pub async fn get(&self, uri: &str, who: &Who) -> Reply {
        self.send(Method::GET, uri, Some(who), None, &[]).await
    }

    /// A GET as `who` asking for the media type `accept` (a document's HTML or PDF).
    pub async fn get_accepting(&self, uri: &str, who: &Who, accept: &str) -> Reply {
        self.send(Method::GET, uri, Some(who), None, &[("accept", accept)])
            .await
    }

    pub async fn post(&self, uri: &str, who: &Who, body: Value) -> Reply {
        self.send(Method::POST, uri, Some(who), Some(&body), &[])
            .await
    }

    pub async fn put(&self, uri: &str, who: &Who, body: Value, if_match: Option<&str>) -> Reply {
        let headers: Vec<(&str, &str)> =
            if_match.map(|e| vec![("if-match", e)]).unwrap_or_default();
        self.send(Method::PUT, uri, Some(who), Some(&body), &headers)
            .await
    }

    // --- Fixtures: the four cases of DOMAIN.md -------------------------------------------------

    pub async fn individual(
        &self,
        identity_number: &str,
        given_name: &str,
        guardians: Value,
    ) -> Value {
        self.post(
            "/api/v1/individuals",
            &region_writer(),
            serde_json::json!({
                "identity_number": identity_number,
                "given_name": given_name,
                "family_name": "Testsson",
                "guardians": guardians,
            }),
        )
        .await
        .expect(201)
        .body
    }

    pub async fn plan_for(&self, individual_id: &str) -> Value {
        self.post(
            "/api/v1/plans",
            &region_writer(),
            serde_json::json!({
                "individual_id": individual_id,
                "need_reason": "needs from psychiatry and social services at once",
                "what_matters": "to get going with work training",
            }),
        )
        .await
        .expect(201)
        .body
    }

    /// Lisa, 27: a new plan of hers, in `need_identified` (she is registered on first use).
    pub async fn lisas_plan(&self) -> Value {
        let search = serde_json::json!({"identity_number": LISA_PNR});
        let found = self
            .post("/api/v1/individuals/search", &reader(), search)
            .await;
        let lisa = match found.status.as_u16() {
            200 => found.body,
            _ => {
                self.individual(LISA_PNR, "Lisa", serde_json::json!([]))
                    .await
            }
        };
        self.plan_for(lisa["id"].as_str().unwrap()).await
    }
}

/// Lisa refuses the coordination, verbally, documented by the counsellor.
pub fn lisas_refusal() -> Value {
    serde_json::json!({
        "outcome": "refused",
        "form": "verbal",
        "documented_by": "Kim Berg, kurator",
        "givers": [{"role": "individual"}],
        "note": "does not want coordination now",
    })
}

/// A consent Lisa gives herself, covering a region and a municipality unit and Arbetsförmedlingen.
pub fn lisas_consent() -> Value {
    let today = Clock::system().today();
    serde_json::json!({
        "outcome": "given",
        "form": "written",
        "givers": [{"role": "individual"}],
        "covered_parties": [
            {"kind": "unit", "hsa_id": REGION_UNIT, "name": "Psykiatrisk öppenvård", "principal": "region"},
            {"kind": "unit", "hsa_id": MUNICIPALITY_UNIT, "name": "Socialtjänsten", "principal": "municipality"},
            {"kind": "actor", "name": "Arbetsförmedlingen", "principal": "other"}
        ],
        "permissions": {"share_information": true, "send_summons": true, "establish_plan": true},
        "valid_from": today.to_string(),
        "valid_until": (today + chrono::Duration::days(365)).to_string(),
    })
}

fn database_url(admin_url: &str, name: &str) -> String {
    let (base, query) = match admin_url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (admin_url, String::new()),
    };
    let prefix = match base.rfind('/') {
        Some(i) if base[..i].ends_with('/') => base.to_string(),
        Some(i) => base[..i].to_string(),
        None => base.to_string(),
    };
    format!("{}/{name}{query}", prefix.trim_end_matches('/'))
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Cleanup::SqliteFile(path) = &self.cleanup {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
            }
        }
    }
}

/// Declares each listed `async fn name(app: TestApp)` as two tests, one per database.
#[macro_export]
macro_rules! on_both_databases {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[actix_web::test]
                async fn $name() {
                    super::$name($crate::common::TestApp::sqlite().await).await
                }
            )+
        }
        mod postgres {
            $(
                #[actix_web::test]
                async fn $name() {
                    super::$name($crate::common::TestApp::postgres().await).await
                }
            )+
        }
    };
}

/// Polls `check` until it yields a value, for up to 30 seconds: for work done in the background
/// (webhook deliveries). A wait, not a timing assertion: a slow machine only waits longer.
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "gave up waiting for {what}"
        );
        actix_web::rt::time::sleep(std::time::Duration::from_millis(25)).await;
    }
}

/// For a migration's test: a database of each backend migrated up to just before the migration
/// whose name contains `migration`, with `before` (SQL, the data as it was) run on it; then
/// `check` gets the service's `Db`, connected as at start, which applies the rest. `before` is
/// given the backend's name ("sqlite" or "postgres") for SQL that differs.
pub fn across_a_migration(migration: &str, before: impl Fn(&str) -> String, check: impl Fn(&Db)) {
    use diesel::connection::SimpleConnection;
    use diesel_migrations::{EmbeddedMigrations, MigrationHarness};
    const POSTGRES: EmbeddedMigrations =
        diesel_migrations::embed_migrations!("migrations/postgres");
    const SQLITE: EmbeddedMigrations = diesel_migrations::embed_migrations!("migrations/sqlite");
    fn up_to<DB: diesel::backend::Backend>(
        c: &mut (impl MigrationHarness<DB> + SimpleConnection),
        migrations: EmbeddedMigrations,
        migration: &str,
        before: &str,
    ) {
        let pending = c.pending_migrations(migrations).unwrap();
        assert!(
            pending
                .iter()
                .any(|m| m.name().to_string().contains(migration)),
            "no migration is named {migration}"
        );
        for m in pending {
            if m.name().to_string().contains(migration) {
                break;
            }
            c.run_migration(&m).unwrap();
        }
        c.batch_execute(before).unwrap();
    }

    let path = std::env::temp_dir().join(format!(
        "sip-migration-{}.sqlite3",
        uuid::Uuid::new_v4().simple()
    ));
    let sqlite = path.to_str().unwrap().to_string();
    up_to(
        &mut diesel::SqliteConnection::establish(&sqlite).unwrap(),
        SQLITE,
        migration,
        &before("sqlite"),
    );
    check(&Db::connect(&sqlite, 2).expect("the rest of the migrations apply on SQLite"));
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }

    let database = TempPostgres::create_empty();
    up_to(
        &mut diesel::PgConnection::establish(&database.url).unwrap(),
        POSTGRES,
        migration,
        &before("postgres"),
    );
    check(&Db::connect(&database.url, 2).expect("the rest of the migrations apply on PostgreSQL"));
}

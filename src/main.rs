//! `sip-service`: runs the SIP API, mints development tokens, prints the OpenAPI document.

// No `.unwrap()` outside tests: what a client sends must never panic the server, so a fallible
// step answers through `error::Error`; the `expect`s left name invariants the server itself holds
// (embedded fonts, a version number as an ETag), never a client's input.
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

use std::process::ExitCode;

use actix_web::{web, HttpServer};
use sip::app::{build_app, AppState};
use sip::auth::{mint_token, Role, TokenVerifier};
use sip::config::Settings;
use sip::db::Db;
use sip::domain::identity::HsaId;
use sip::domain::Principal;

const USAGE: &str = "\
usage:
  sip-service [serve]           run the service (settings from the environment; see README)
  sip-service token --unit HSA-ID --principal region|municipality|other
                    [--roles read,write,admin] [--subject NAME] [--hours N]
                                print a development token signed with the configured HS256 key
  sip-service token --individual PERSONNUMMER [--hours N]
                                print a development token for an individual (an e-service after
                                e-ID login at assurance level 3), for the /api/v1/me operations
  sip-service backup PATH       write a consistent copy of the running SQLite database to PATH
                                (a new file); PostgreSQL: use pg_dump or WAL archiving (README)
  sip-service audit verify      check the access log's hash chain: names the first broken link
                                and any record left unsealed (exit 1 when either is found)
  sip-service openapi           print the OpenAPI document";

fn main() -> ExitCode {
    limit_malloc_arenas();
    sip::app::init_logging();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        None | Some("serve") => serve(),
        Some("token") => token(&args[1..]),
        Some("backup") => backup(&args[1..]),
        Some("audit") if args.get(1).map(String::as_str) == Some("verify") => verify_audit(),
        Some("openapi") => {
            print!("{}", sip::api::openapi_json());
            Ok(())
        }
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            Ok(())
        }
        Some(other) => Err(format!("unknown command {other:?}\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("sip-service: {message}");
            ExitCode::FAILURE
        }
    }
}

fn verify_audit() -> Result<(), String> {
    let settings = Settings::from_env()?;
    let db = Db::connect(&settings.database_url, 1)?;
    // A record committed in the last minute may not be sealed yet: the sealer runs every second.
    let before = (chrono::Utc::now() - chrono::Duration::minutes(1)).naive_utc();
    let report = db
        .read_now(|c| sip::db::seals::verify(c, before))
        .map_err(|e| format!("cannot read the access log: {e}"))?;
    println!(
        "{} link(s) of the access log's hash chain hold",
        report.sealed
    );
    if let Some((seq, event, why)) = &report.first_broken {
        return Err(format!(
            "the chain is broken at link {seq} (access-log record {event}): {why}"
        ));
    }
    if !report.unsealed.is_empty() {
        return Err(format!(
            "{} record(s) older than a minute are not sealed, from record {}",
            report.unsealed.len(),
            report.unsealed[0]
        ));
    }
    Ok(())
}

fn backup(args: &[String]) -> Result<(), String> {
    let [path] = args else {
        return Err(format!("backup takes one PATH\n{USAGE}"));
    };
    let settings = Settings::from_env()?;
    let db = Db::connect(&settings.database_url, 1)?;
    let path = std::path::Path::new(path);
    db.backup_to(path)?;
    println!("backed up to {}", path.display());
    Ok(())
}

fn serve() -> Result<(), String> {
    let settings = Settings::from_env()?;
    let verifier = web::Data::new(TokenVerifier::new(&settings.jwt)?);
    let db = Db::connect(&settings.database_url, settings.pool_size)?;
    db.listen_to_other_instances(&settings.database_url)?;
    log::info!("database: {:?}", db.backend());
    let clock = sip::clock::Clock::system();
    match db.write_now(|c| sip::service::imports::fail_stalled(c, clock.now())) {
        Ok(0) => {}
        Ok(n) => log::warn!("{n} import(s) stopped with the service before: marked failed"),
        Err(e) => log::warn!("cannot check for imports stopped with the service: {e}"),
    }
    if settings.metrics_enabled {
        sip::metrics::start_recording();
    }
    // Declared before the server: dropped after it stops, exporting the last spans.
    let _span_export = sip::trace::otlp::start()?;
    let state = AppState {
        db: db.clone(),
        verifier,
        max_body_bytes: settings.max_body_bytes,
        deadlines: settings.deadlines,
        cors_origins: settings.cors_origins.clone(),
        audit: sip::audit::AuditLog::start(db.clone(), clock.clone(), settings.audit_sealing),
        feed: settings.feed,
        webhooks: settings.webhooks.clone(),
        clock: clock.clone(),
        public_url: sip::config::PublicUrl(settings.public_url.clone()),
        metrics: sip::metrics::MetricsEnabled(settings.metrics_enabled),
        limiters: web::Data::new(sip::auth::limits::Limiters::new(settings.rate_limits)),
    };
    // Delivers webhooks until the server stops; dropping it gives back its subscriptions.
    let _dispatcher =
        sip::webhooks::Dispatcher::start(db, clock, settings.webhooks.clone(), settings.feed);
    let mut server = HttpServer::new(move || build_app(state.clone()))
        // In-flight requests get this long to finish after SIGTERM/SIGINT.
        .shutdown_timeout(30);
    if let Some(workers) = settings.workers {
        server = server.workers(workers);
    }
    let server = server
        .bind(&settings.bind_address)
        .map_err(|e| format!("cannot listen on {}: {e}", settings.bind_address))?;
    let address = &settings.bind_address;
    log::info!("listening on http://{address}");
    log::info!("API documentation: http://{address}/docs/ (OpenAPI at /api-docs/openapi.json)");
    log::info!(
        "get a development token: cargo run --release -- token --unit SE2321000016-ABC1 --principal region --roles read,write"
    );
    actix_web::rt::System::new()
        .block_on(server.run())
        .map_err(|e| format!("server error: {e}"))
}

fn token(args: &[String]) -> Result<(), String> {
    let mut unit = None;
    let mut principal = None;
    let mut roles = vec![Role::Read, Role::Write];
    let mut subject = "developer".to_string();
    let mut hours: i64 = 8;
    let mut individual = None;
    let mut rest = args.iter();
    while let Some(flag) = rest.next() {
        let value = rest
            .next()
            .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
        match flag.as_str() {
            "--unit" => unit = Some(HsaId::parse(value).map_err(|e| format!("--unit: {e}"))?),
            "--principal" => {
                principal = Some(
                    Principal::parse(value)
                        .ok_or("--principal must be region, municipality or other")?,
                )
            }
            "--roles" => {
                roles = value
                    .split(',')
                    .map(|r| Role::parse(r.trim()).ok_or(format!("unknown role {r:?}")))
                    .collect::<Result<_, _>>()?
            }
            "--subject" => subject = value.clone(),
            "--individual" => {
                let today = sip::domain::calendar::swedish_date(chrono::Utc::now());
                individual = Some(
                    sip::domain::identity::IdentityNumber::parse(value, today)
                        .map_err(|e| format!("--individual: {e}"))?,
                )
            }
            "--hours" => {
                hours = value
                    .parse()
                    .ok()
                    .filter(|h| (1..=24 * 30).contains(h))
                    .ok_or("--hours must be 1 to 720")?
            }
            other => return Err(format!("unknown option {other}\n{USAGE}")),
        }
    }
    if let Some(person) = individual {
        if unit.is_some() || principal.is_some() {
            return Err(format!(
                "an individual's token has no unit or principal\n{USAGE}"
            ));
        }
        let settings = Settings::from_env()?;
        println!(
            "{}",
            sip::auth::mint_individual_token(&settings.jwt, &person, hours * 3600)?
        );
        return Ok(());
    }
    let unit = unit.ok_or(format!("--unit is required\n{USAGE}"))?;
    let principal = principal.ok_or(format!("--principal is required\n{USAGE}"))?;
    let settings = Settings::from_env()?;
    let token = mint_token(
        &settings.jwt,
        &subject,
        &unit,
        principal,
        &roles,
        hours * 3600,
    )?;
    println!("{token}");
    Ok(())
}

/// glibc gives threads that allocate at the same time arenas of their own, up to eight a core, and
/// keeps what is freed in each. The service's threads (the workers, the blocking pool, the writers,
/// the import's lanes) left a 100,000-plan SQLite import at a peak RSS of 97–104 MB with the
/// default; with two arenas 61 MB (sixteenth session), but the workers then queued on the arenas'
/// lock (~11 % of a SQLite whole-plan read's samples, thirty-second session). Four arenas: 70 MB
/// for the same import, and every request scenario as fast or faster than with two, in three
/// alternating rounds (BENCHMARKS.md, thirty-third session). An operator's own `MALLOC_ARENA_MAX`
/// is left to win.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn limit_malloc_arenas() {
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: `mallopt` sets one parameter of the C allocator, here before any thread of the
        // process has started; it reads and writes no memory of ours.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 4);
        }
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn limit_malloc_arenas() {}

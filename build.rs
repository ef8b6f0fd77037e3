//! The migrations are embedded in the binary (`db::POSTGRES_MIGRATIONS`, `db::SQLITE_MIGRATIONS`).
//! Cargo notices a change to a migration it already embedded, but not a new one: without this, a
//! build after adding a migration kept the old binary, silently without it.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}

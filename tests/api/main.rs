//! One integration-test binary: every test goes through HTTP, on SQLite and on PostgreSQL.

mod common;

mod access;
mod audit;
mod auth;
mod backup;
mod consents;
mod deviations;
mod documents;
mod echo;
mod errors;
mod examples;
mod federation;
mod feed;
mod fhir;
mod hardening;
mod imports;
mod individuals;
mod layers;
mod lifecycle;
mod limits;
mod me;
mod metrics;
mod openapi;
mod plans;
mod process;
mod protected;
mod schema;
mod seals;
mod tracing;
mod webhooks;

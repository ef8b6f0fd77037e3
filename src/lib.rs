//! SIP — samordnad individuell plan (the coordinated individual plan) as a JSON REST API.
//!
//! Layers, outermost first: [`api`] (HTTP handlers, thin) → [`service`] (one use case per
//! function, one transaction each) → [`domain`] (the process rules, pure) and [`db`] (persistence).
//! [`error::Error`] is the one error type, mapped to HTTP in one place.

// No `.unwrap()` outside tests: what a client sends must never panic the server, so a fallible
// step answers through `error::Error`; the `expect`s left name invariants the server itself holds
// (embedded fonts, a version number as an ETag), never a client's input.
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod api;
pub mod app;
pub mod audit;
pub mod auth;
pub mod clock;
pub mod config;
pub mod db;
pub mod decode;
pub mod domain;
pub mod error;
pub mod metrics;
pub mod policy;
mod schema;
pub mod service;
pub mod trace;
pub mod views;
pub mod webhooks;

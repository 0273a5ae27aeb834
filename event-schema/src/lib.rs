//! The Shopstream event schema, defined once and shared by the wasm tracker and the ingest Lambdas.
//!
//! The wire format (a public contract) is documented in the repository README. Without the `json`
//! feature this crate is only the vocabulary: [`EventType`], the named [`limits`], the ISO 4217
//! [`currency`] table and [`Timestamp`]; it does no I/O and builds for `wasm32-unknown-unknown`.
//! With `json` (the default) it adds the typed model ([`model`]) and [`validate::validate_batch`].
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

pub mod currency;
mod event_type;
pub mod limits;
mod timestamp;

#[cfg(feature = "json")]
pub mod model;
#[cfg(feature = "json")]
mod tree;
#[cfg(feature = "json")]
pub mod validate;

pub use event_type::EventType;
pub use timestamp::Timestamp;

/// The only batch envelope version this build accepts.
pub const SCHEMA_VERSION: u32 = 1;

/// The store of a `purchase` that names no `store_id`: the web shop.
pub const ONLINE_STORE_ID: &str = "web";

/// The golden fixtures (`valid/`, `invalid/`, `manifest.json`), for the tests of every crate that
/// speaks the wire format.
#[cfg(feature = "json")]
pub const FIXTURES_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures");

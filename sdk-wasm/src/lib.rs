//! The Shopstream tracker. [`engine`] is the logic in plain Rust (tested natively); on wasm32 the
//! `wasm` module is a thin layer that moves strings and numbers between the engine and the JS shell
//! (`js/index.js`, which does all I/O: fetch, storage, timers, page events).
//!
//! Size budget: on wasm32 the crate is `no_std` with a small allocator and a panic handler that
//! traps, so neither `core::fmt` nor dlmalloc nor std's panic machinery reaches the bundle. No
//! serde, no futures, no js-sys.
#![cfg_attr(target_arch = "wasm32", no_std)]

extern crate alloc;

pub mod engine;

#[cfg(target_arch = "wasm32")]
mod wasm;

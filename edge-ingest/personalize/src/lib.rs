//! Personalisation: the stream processor ([`Processor`]) that keeps shopper profiles, item-to-item
//! scores and trending lists, and the recommendations use case ([`Recommender`]) that serves them.
//! Both work through the [`StateStore`] port (DynamoDB in AWS, SQLite locally, memory in tests).
//!
//! No I/O here, no AWS, no HTTP, no environment variables.

pub mod inventory;
pub mod model;
pub mod process;
pub mod recommend;
pub mod store;

#[cfg(feature = "contract")]
pub mod contract;

pub use inventory::{
    AlertError, AlertSink, MemoryAlertSink, NoStartingStock, StartingStock, Stock, StockAlert, ONLINE_STORE_ID,
};
pub use process::{decode, InputRecord, Outcome, ProcEvent, Processor};
pub use recommend::{BadParameter, Placement, RecRequest, Recommendations, Recommender, Strategy};
pub use store::{Commit, MemoryStore, StateStore, StoreError};

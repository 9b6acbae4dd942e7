//! Model: the report contract, data only — `Report` (`audit-scan/report/v1`), its rows,
//! health and sizing, findings (the input statistics are `report::InputRow`), the cost model
//! every layer prices with and the client libraries' known rate limits.
//! The ground floor: it imports none of our modules, and every other module may use it.

pub mod cost;
pub mod finding;
pub mod health;
pub mod limits;
pub mod report;
pub mod rows;
pub mod timeline;

//! Model: the report contract, data only — `Report` (`audit-scan/report/v1`), its rows,
//! health and sizing, findings (the input statistics are `report::InputRow`) and the cost model every layer prices with.
//! The ground floor: it imports none of our modules, and every other module may use it.

pub mod cost;
pub mod finding;
pub mod health;
pub mod report;
pub mod rows;
pub mod timeline;

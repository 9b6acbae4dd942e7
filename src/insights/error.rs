//! Insights: the layer's errors. A failed query names its template and sub-window, so a run of
//! hundreds of queries says which one failed and over which span.

use crate::timefmt::format_rfc3339;

/// What went wrong in the insights layer (templates, engine, merging the answers).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InsightsError {
    /// One query failed: the runner's message (the service's, or what to do).
    #[error("{template} over {} .. {}: {message}", time(*.start_ms), time(*.end_ms))]
    Query {
        /// Template name.
        template: String,
        /// Sub-window start, epoch ms (inclusive).
        start_ms: i64,
        /// Sub-window end, epoch ms (exclusive).
        end_ms: i64,
        /// Why it failed.
        message: String,
    },
    /// Ctrl-C: no further sub-window started.
    #[error("interrupted: no further sub-window started")]
    Interrupted,
    /// A query worker thread panicked (a bug).
    #[error("a query worker panicked")]
    WorkerPanicked,
    /// A template that does not render, a query that does not parse, or answers without the
    /// template's columns: the message says which.
    #[error("{0}")]
    Other(String),
}

impl From<String> for InsightsError {
    fn from(message: String) -> Self {
        Self::Other(message)
    }
}

fn time(ms: i64) -> String {
    format_rfc3339(ms * 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_error_names_its_template_and_span() {
        let e = InsightsError::Query {
            template: "client-qps".into(),
            start_ms: 3_600_000,
            end_ms: 7_200_000,
            message: "query timed out".into(),
        };
        assert_eq!(
            e.to_string(),
            "client-qps over 1970-01-01T01:00:00Z .. 1970-01-01T02:00:00Z: query timed out"
        );
        assert_eq!(InsightsError::from("x".to_owned()).to_string(), "x");
    }
}

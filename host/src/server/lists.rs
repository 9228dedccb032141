//! Paging of the lists clients read, and how a failed request that has no
//! `isError` result (resources, prompts, completions) reaches the client.

use rmcp::ErrorData as McpError;
use rmcp::model::PaginatedRequestParams;

use crate::provider::{FailureKind, ToolFailure};

/// One page of `items` (already in their fixed order) from the request's
/// cursor, which is the offset where the previous page ended.
pub fn page<T>(
    items: Vec<T>,
    request: Option<PaginatedRequestParams>,
    page_size: usize,
) -> Result<(Vec<T>, Option<String>), McpError> {
    let total = items.len();
    let start = match request.and_then(|r| r.cursor) {
        None => 0,
        Some(cursor) => cursor
            .parse::<usize>()
            .ok()
            .filter(|&offset| offset <= total)
            .ok_or_else(|| McpError::invalid_params(format!("invalid cursor `{cursor}`"), None))?,
    };
    let end = (start + page_size).min(total);
    let next = (end < total).then(|| end.to_string());
    Ok((
        items.into_iter().skip(start).take(end - start).collect(),
        next,
    ))
}

/// A failed resource, prompt or completion request as a JSON-RPC error:
/// an unknown resource carries its `uri` (rmcp sends -32602 to 2026-07-28
/// clients and -32002 to older ones, as each era's spec asks); unknown
/// names and bad arguments are -32602; a provider that failed, timed out or
/// is down is an internal error whose message names it.
pub fn request_error(failure: ToolFailure, uri: Option<&str>) -> McpError {
    let ToolFailure { kind, message } = failure;
    match (kind, uri) {
        (FailureKind::NotFound, Some(uri)) => {
            McpError::resource_not_found(message, Some(serde_json::json!({ "uri": uri })))
        }
        (FailureKind::NotFound | FailureKind::InvalidArguments, _) => {
            McpError::invalid_params(message, None)
        }
        (FailureKind::Denied | FailureKind::RateLimited, _) => {
            McpError::invalid_request(message, None)
        }
        (
            FailureKind::Timeout
            | FailureKind::Cancelled
            | FailureKind::Failed
            | FailureKind::InputRequired,
            _,
        ) => McpError::internal_error(message, None),
    }
}

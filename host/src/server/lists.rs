//! The lists clients page through (tools, resources, prompts) and the
//! resource and prompt requests routed to the upstream that owns them.

use rmcp::ErrorData as McpError;
use rmcp::model::{
    GetPromptRequestParams, GetPromptResult, ListPromptsResult, ListResourceTemplatesResult,
    ListResourcesResult, PaginatedRequestParams, ReadResourceRequestParams, ReadResourceResult,
};

use crate::dispatch::Dispatcher;
use crate::provider::ToolFailure;
use crate::upstream::{Upstream, split_resource_uri};

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

/// All upstreams' items of one kind, in a fixed order (by `key`), one page.
fn upstream_page<T, K: Ord + ?Sized>(
    dispatcher: &Dispatcher,
    items: impl Fn(&Upstream) -> Vec<T>,
    key: impl Fn(&T) -> &K,
    request: Option<PaginatedRequestParams>,
    page_size: usize,
) -> Result<(Vec<T>, Option<String>), McpError> {
    let mut all: Vec<T> = dispatcher
        .upstreams()
        .iter()
        .flat_map(|u| items(u))
        .collect();
    all.sort_by(|a, b| key(a).cmp(key(b)));
    page(all, request, page_size)
}

pub fn resources(
    dispatcher: &Dispatcher,
    request: Option<PaginatedRequestParams>,
    page_size: usize,
) -> Result<ListResourcesResult, McpError> {
    let (resources, next_cursor) = upstream_page(
        dispatcher,
        Upstream::resources,
        |r| r.uri.as_str(),
        request,
        page_size,
    )?;
    let mut result = ListResourcesResult::with_all_items(resources);
    result.next_cursor = next_cursor;
    Ok(result)
}

pub fn resource_templates(
    dispatcher: &Dispatcher,
    request: Option<PaginatedRequestParams>,
    page_size: usize,
) -> Result<ListResourceTemplatesResult, McpError> {
    let (templates, next_cursor) = upstream_page(
        dispatcher,
        Upstream::resource_templates,
        |t| t.uri_template.as_str(),
        request,
        page_size,
    )?;
    let mut result = ListResourceTemplatesResult::with_all_items(templates);
    result.next_cursor = next_cursor;
    Ok(result)
}

pub fn prompts(
    dispatcher: &Dispatcher,
    request: Option<PaginatedRequestParams>,
    page_size: usize,
) -> Result<ListPromptsResult, McpError> {
    let (prompts, next_cursor) = upstream_page(
        dispatcher,
        Upstream::prompts,
        |p| p.name.as_str(),
        request,
        page_size,
    )?;
    let mut result = ListPromptsResult::with_all_items(prompts);
    result.next_cursor = next_cursor;
    Ok(result)
}

pub async fn read_resource(
    dispatcher: &Dispatcher,
    request: ReadResourceRequestParams,
) -> Result<ReadResourceResult, McpError> {
    let unknown = || {
        McpError::resource_not_found(
            format!("unknown resource `{}`", request.uri),
            Some(serde_json::json!({ "uri": request.uri })),
        )
    };
    let (name, own_uri) = split_resource_uri(&request.uri).ok_or_else(unknown)?;
    let upstream = dispatcher
        .upstreams()
        .iter()
        .find(|u| u.name() == name)
        .ok_or_else(unknown)?;
    upstream
        .read_resource(own_uri)
        .await
        .map_err(request_failed)
}

pub async fn get_prompt(
    dispatcher: &Dispatcher,
    request: GetPromptRequestParams,
) -> Result<GetPromptResult, McpError> {
    let found = dispatcher
        .upstreams()
        .iter()
        .find_map(|u| u.own_prompt_name(&request.name).map(|own| (u, own)));
    let Some((upstream, own_name)) = found else {
        return Err(McpError::invalid_params(
            format!("unknown prompt `{}`", request.name),
            None,
        ));
    };
    upstream
        .get_prompt(&own_name, request.arguments)
        .await
        .map_err(request_failed)
}

/// Resource and prompt requests have no `isError` result: a failure is a
/// JSON-RPC error carrying the same message a tool call would.
fn request_failed(failure: ToolFailure) -> McpError {
    McpError::internal_error(failure.message, None)
}

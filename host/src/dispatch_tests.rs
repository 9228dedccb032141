//! Tests of the one request path ([`crate::dispatch`]), with a fake
//! provider each test configures. The fake is shared with the registry's
//! tests.
//!
//! Timing tests run on the real clock (tokio's `test-util`, which
//! `tokio::time::pause` needs, is not enabled for this crate): the timeouts
//! they wait for are tens of milliseconds and what the fake "works" for is
//! an hour, so the outcome never depends on how fast the machine is, and
//! nothing asserts how long anything took.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use rmcp::model::{
    ArgumentInfo, CallToolResult, CompleteRequestParams, CompleteResult, CompletionInfo,
    ContentBlock, GetPromptResult, JsonObject, Prompt, PromptMessage, ReadResourceResult,
    Reference, Resource, ResourceContents, ResourceTemplate, Role,
};
use serde_json::{Value, json};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::dispatch::{CallScope, Caller, Dispatcher, EventSink, RequestScope};
use crate::grants::Grants;
use crate::provider::{FailureKind, Offers, Provider, ToolFailure, ToolSpec};
use crate::registry::{ProviderSource, Registry};

/// Longer than any test runs: "never finishes on its own".
pub(crate) const FOREVER: Duration = Duration::from_secs(3600);

/// What the fake does when asked for one of its items.
#[derive(Clone, Default)]
pub(crate) struct Behaviour {
    /// How long it works before answering.
    pub work: Duration,
    /// Stops shortly before its deadline, or when cancelled, with its own
    /// failure (as a well-behaved provider does); otherwise it ignores both.
    pub honours_deadline: bool,
    pub reply: Reply,
}

#[derive(Clone, Default)]
pub(crate) enum Reply {
    /// Says what was asked: provider, local name and arguments.
    #[default]
    Echo,
    /// A tool result with this structured content.
    Structured(Value),
    /// A tool result with text only.
    Unstructured,
    /// A tool result with `isError: true`.
    ToolError(String),
    /// No result.
    Fail(FailureKind, String),
    /// Calls tool `.0` (a public name) as this plugin, through
    /// `scope.dispatcher` with `scope.nested()`, and returns what it gets.
    Nested(String),
}

impl Behaviour {
    pub fn reply(reply: Reply) -> Self {
        Self {
            reply,
            ..Self::default()
        }
    }

    /// Works `work`, ignoring the deadline and cancellation.
    pub fn slow(work: Duration) -> Self {
        Self {
            work,
            ..Self::default()
        }
    }
}

/// What the fake was asked, with the scope it was asked under.
#[derive(Clone)]
pub(crate) struct Seen {
    /// `call`, `read`, `prompt` or `complete`.
    pub kind: &'static str,
    /// The provider's own name or URI (for `complete`, of the reference).
    pub name: String,
    pub arguments: Option<JsonObject>,
    pub deadline: Instant,
    pub cancel: CancellationToken,
    pub chain: Vec<String>,
}

/// A provider whose every listing and answer a test sets.
pub(crate) struct Fake {
    name: String,
    timeout: Duration,
    offers: Offers,
    tools: Mutex<Vec<ToolSpec>>,
    resources: Mutex<Vec<Resource>>,
    templates: Mutex<Vec<ResourceTemplate>>,
    prompts: Mutex<Vec<Prompt>>,
    behaviours: Mutex<HashMap<String, Behaviour>>,
    listed: Mutex<HashMap<&'static str, usize>>,
    seen: Mutex<Vec<Seen>>,
    started: Notify,
    abandoned: AtomicUsize,
}

impl Fake {
    /// A provider named `name` with a 10 s timeout offering nothing.
    pub fn new(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            timeout: Duration::from_secs(10),
            offers: Offers::default(),
            tools: Mutex::default(),
            resources: Mutex::default(),
            templates: Mutex::default(),
            prompts: Mutex::default(),
            behaviours: Mutex::default(),
            listed: Mutex::default(),
            seen: Mutex::default(),
            started: Notify::new(),
            abandoned: AtomicUsize::new(0),
        }
    }

    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    pub fn offers(mut self, offers: Offers) -> Self {
        self.offers = offers;
        self
    }

    /// Adds a tool taking any object.
    pub fn tool(self, name: &str) -> Self {
        self.tool_spec(tool(name))
    }

    pub fn tool_spec(self, spec: ToolSpec) -> Self {
        lock(&self.tools).push(spec);
        self
    }

    /// Adds a listed resource (and says it offers resources).
    pub fn resource(mut self, uri: &str) -> Self {
        self.offers.resources = true;
        lock(&self.resources).push(Resource::new(uri, uri));
        self
    }

    /// Adds a resource template (and says it offers resources).
    pub fn template(mut self, uri_template: &str) -> Self {
        self.offers.resources = true;
        lock(&self.templates).push(ResourceTemplate::new(uri_template, uri_template));
        self
    }

    /// Adds a prompt (and says it offers prompts).
    pub fn prompt(mut self, name: &str) -> Self {
        self.offers.prompts = true;
        lock(&self.prompts).push(Prompt::new(name, Some(format!("prompt {name}")), None));
        self
    }

    /// Adds a tool, a resource (local URI `name`) and a prompt all named
    /// `name`, and completions: one item of every request kind.
    pub fn item(mut self, name: &str) -> Self {
        self.offers.completions = true;
        self.tool(name).resource(name).prompt(name)
    }

    /// What it does when asked for `name` (a tool, prompt, URI or
    /// completion reference, by its own name).
    pub fn on(self, name: &str, behaviour: Behaviour) -> Self {
        self.set_behaviour(name, behaviour);
        self
    }

    pub fn arc(self) -> Arc<Self> {
        Arc::new(self)
    }

    pub fn set_behaviour(&self, name: &str, behaviour: Behaviour) {
        lock(&self.behaviours).insert(name.to_owned(), behaviour);
    }

    /// What it lists from now on.
    pub fn set_tools(&self, tools: Vec<ToolSpec>) {
        *lock(&self.tools) = tools;
    }

    pub fn set_prompts(&self, names: &[&str]) {
        *lock(&self.prompts) = names
            .iter()
            .map(|name| Prompt::new(*name, None::<String>, None))
            .collect();
    }

    pub fn set_resources(&self, uris: &[&str]) {
        *lock(&self.resources) = uris.iter().map(|uri| Resource::new(*uri, *uri)).collect();
    }

    /// How often `what` (`tools`, `resources`, `templates`, `prompts`) was
    /// listed.
    pub fn listed(&self, what: &str) -> usize {
        lock(&self.listed).get(what).copied().unwrap_or(0)
    }

    /// Every request that reached it, in order.
    pub fn seen(&self) -> Vec<Seen> {
        lock(&self.seen).clone()
    }

    /// The last request that reached it.
    pub fn last(&self) -> Seen {
        self.seen()
            .pop()
            .unwrap_or_else(|| panic!("`{}` was asked nothing", self.name))
    }

    /// How many of its requests were dropped before they finished.
    pub fn abandoned(&self) -> usize {
        self.abandoned.load(Ordering::SeqCst)
    }

    /// Waits until a request reaches it (one wake per request).
    pub async fn started(&self) {
        self.started.notified().await;
    }

    fn count(&self, what: &'static str) {
        *lock(&self.listed).entry(what).or_default() += 1;
    }

    /// Records the request, works as configured, and says how to reply.
    async fn work(
        &self,
        kind: &'static str,
        name: &str,
        arguments: Option<JsonObject>,
        scope: &CallScope,
    ) -> Result<Reply, ToolFailure> {
        lock(&self.seen).push(Seen {
            kind,
            name: name.to_owned(),
            arguments,
            deadline: scope.deadline,
            cancel: scope.cancel.clone(),
            chain: scope.chain.to_vec(),
        });
        self.started.notify_one();
        let behaviour = lock(&self.behaviours)
            .get(name)
            .cloned()
            .unwrap_or_default();
        let mut unfinished = Unfinished(&self.abandoned, true);
        if behaviour.honours_deadline {
            let stop = scope.deadline - Duration::from_millis(10);
            tokio::select! {
                () = tokio::time::sleep(behaviour.work) => {}
                () = tokio::time::sleep_until(stop.into()) => {
                    unfinished.1 = false;
                    return Err(ToolFailure::new(
                        FailureKind::Timeout,
                        format!("fake `{}` gave up on `{name}` before its deadline", self.name),
                    ));
                }
                () = scope.cancel.cancelled() => {
                    unfinished.1 = false;
                    return Err(ToolFailure::new(
                        FailureKind::Cancelled,
                        format!("fake `{}` stopped `{name}`", self.name),
                    ));
                }
            }
        } else if !behaviour.work.is_zero() {
            tokio::time::sleep(behaviour.work).await;
        }
        unfinished.1 = false;
        match behaviour.reply {
            Reply::Fail(kind, message) => Err(ToolFailure::new(kind, message)),
            reply => Ok(reply),
        }
    }

    fn echo(&self, name: &str, arguments: Option<&JsonObject>) -> String {
        let arguments = arguments.map_or(Value::Null, |a| Value::Object(a.clone()));
        format!("{}.{name} {arguments}", self.name)
    }
}

/// Counts a request whose future was dropped before it finished.
struct Unfinished<'a>(&'a AtomicUsize, bool);

impl Drop for Unfinished<'_> {
    fn drop(&mut self) {
        if self.1 {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
}

impl Provider for Fake {
    fn name(&self) -> &str {
        &self.name
    }

    fn timeout(&self) -> Duration {
        self.timeout
    }

    fn tools(&self) -> Vec<ToolSpec> {
        self.count("tools");
        lock(&self.tools).clone()
    }

    fn call<'a>(
        &'a self,
        tool: &'a str,
        arguments: JsonObject,
        scope: CallScope,
    ) -> BoxFuture<'a, Result<CallToolResult, ToolFailure>> {
        Box::pin(async move {
            let reply = self
                .work("call", tool, Some(arguments.clone()), &scope)
                .await?;
            Ok(match reply {
                Reply::Echo => CallToolResult::success(vec![ContentBlock::text(
                    self.echo(tool, Some(&arguments)),
                )]),
                Reply::Structured(value) => CallToolResult::structured(value),
                Reply::Unstructured => {
                    CallToolResult::success(vec![ContentBlock::text("text only")])
                }
                Reply::ToolError(message) => {
                    CallToolResult::error(vec![ContentBlock::text(message)])
                }
                Reply::Nested(target) => {
                    let caller = Caller::Plugin(self.name.clone());
                    return scope
                        .dispatcher
                        .call(&caller, &target, Some(arguments), scope.nested())
                        .await;
                }
                Reply::Fail(..) => unreachable!("work returns failures"),
            })
        })
    }

    fn offers(&self) -> Offers {
        self.offers
    }

    fn resources(&self) -> Vec<Resource> {
        self.count("resources");
        lock(&self.resources).clone()
    }

    fn resource_templates(&self) -> Vec<ResourceTemplate> {
        self.count("templates");
        lock(&self.templates).clone()
    }

    /// Answers with a text part under `uri` and a blob part under
    /// `uri#blob` (its own URIs).
    fn read_resource<'a>(
        &'a self,
        uri: &'a str,
        scope: CallScope,
    ) -> BoxFuture<'a, Result<ReadResourceResult, ToolFailure>> {
        Box::pin(async move {
            self.work("read", uri, None, &scope).await?;
            Ok(ReadResourceResult::new(vec![
                ResourceContents::text(self.echo(uri, None), uri),
                ResourceContents::blob("AAAA", format!("{uri}#blob")),
            ]))
        })
    }

    fn prompts(&self) -> Vec<Prompt> {
        self.count("prompts");
        lock(&self.prompts).clone()
    }

    fn get_prompt<'a>(
        &'a self,
        name: &'a str,
        arguments: Option<JsonObject>,
        scope: CallScope,
    ) -> BoxFuture<'a, Result<GetPromptResult, ToolFailure>> {
        Box::pin(async move {
            self.work("prompt", name, arguments.clone(), &scope).await?;
            let echo = self.echo(name, arguments.as_ref());
            Ok(
                GetPromptResult::new(vec![PromptMessage::new_text(Role::User, &echo)])
                    .with_description(echo),
            )
        })
    }

    /// Completes with the reference as it arrived and the argument.
    fn complete<'a>(
        &'a self,
        request: CompleteRequestParams,
        scope: CallScope,
    ) -> BoxFuture<'a, Result<CompleteResult, ToolFailure>> {
        Box::pin(async move {
            let local = request
                .r#ref
                .as_prompt_name()
                .or(request.r#ref.as_resource_uri())
                .expect("a prompt or resource reference")
                .to_owned();
            self.work("complete", &local, None, &scope).await?;
            let argument = format!("{}={}", request.argument.name, request.argument.value);
            Ok(CompleteResult::new(
                CompletionInfo::new(vec![local, argument]).expect("two values"),
            ))
        })
    }
}

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

pub(crate) fn schema(value: Value) -> JsonObject {
    match value {
        Value::Object(object) => object,
        other => panic!("not an object: {other}"),
    }
}

/// A tool taking any object.
pub(crate) fn tool(name: &str) -> ToolSpec {
    tool_with(name, json!({"type": "object"}), None)
}

pub(crate) fn tool_with(name: &str, input: Value, output: Option<Value>) -> ToolSpec {
    ToolSpec {
        name: name.to_owned(),
        title: None,
        description: format!("tool {name}"),
        input_schema: schema(input),
        output_schema: output.map(schema),
        annotations: None,
    }
}

/// `fake` under `prefix`, all its tools exposed, resources as `upstream://`.
pub(crate) fn source(fake: &Arc<Fake>, prefix: &str) -> Arc<ProviderSource> {
    Arc::new(ProviderSource {
        provider: fake.clone(),
        prefix: prefix.to_owned(),
        expose: None,
        scheme: "upstream",
    })
}

/// `fake` under `prefix`, clients seeing only tools matching `expose`.
pub(crate) fn source_exposing(
    fake: &Arc<Fake>,
    prefix: &str,
    expose: &[&str],
) -> Arc<ProviderSource> {
    Arc::new(ProviderSource {
        provider: fake.clone(),
        prefix: prefix.to_owned(),
        expose: Some(expose.iter().map(|p| (*p).to_owned()).collect()),
        scheme: "upstream",
    })
}

/// A registry of `sources`, which must all be valid.
pub(crate) fn registry(sources: Vec<Arc<ProviderSource>>, grants: Grants) -> Registry {
    registry_with_depth(sources, grants, crate::dispatch::DEFAULT_MAX_DEPTH)
}

fn registry_with_depth(
    sources: Vec<Arc<ProviderSource>>,
    grants: Grants,
    max_depth: usize,
) -> Registry {
    let (registry, errors) = Registry::build(sources, grants, max_depth);
    assert!(errors.is_empty(), "unexpected registry errors: {errors:?}");
    registry
}

/// Each fake under its own name as prefix.
fn dispatcher(fakes: &[&Arc<Fake>], grants: Grants) -> Arc<Dispatcher> {
    Dispatcher::new(registry(
        fakes.iter().map(|fake| source(fake, &fake.name)).collect(),
        grants,
    ))
}

fn grants(plugin: &str, patterns: &[&str]) -> Grants {
    let mut grants = Grants::default();
    grants.allow_tools(plugin, patterns.iter().map(|p| (*p).to_owned()).collect());
    grants
}

fn root() -> RequestScope {
    RequestScope::root(CancellationToken::new(), EventSink::discard())
}

fn scope_with_chain(chain: &[&str]) -> RequestScope {
    RequestScope {
        chain: chain
            .iter()
            .map(|p| (*p).to_owned())
            .collect::<Vec<_>>()
            .into(),
        ..root()
    }
}

fn args(value: Value) -> Option<JsonObject> {
    Some(schema(value))
}

fn text(result: &CallToolResult) -> String {
    result
        .content
        .iter()
        .filter_map(|block| block.as_text().map(|t| t.text.as_str()))
        .collect::<Vec<_>>()
        .join("\n")
}

#[track_caller]
fn assert_failure<T: std::fmt::Debug>(
    outcome: &Result<T, ToolFailure>,
    kind: FailureKind,
    fragments: &[&str],
) {
    match outcome {
        Ok(value) => panic!("expected {kind:?}, got Ok({value:?})"),
        Err(failure) => {
            assert_eq!(failure.kind, kind, "{}", failure.message);
            for fragment in fragments {
                assert!(
                    failure.message.contains(fragment),
                    "`{}` lacks `{fragment}`",
                    failure.message
                );
            }
        }
    }
}

/// Every kind of request dispatch serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Call,
    Read,
    Prompt,
    CompletePrompt,
    CompleteResource,
}

const KINDS: [Kind; 5] = [
    Kind::Call,
    Kind::Read,
    Kind::Prompt,
    Kind::CompletePrompt,
    Kind::CompleteResource,
];

impl Kind {
    /// How the audit line names it.
    fn request(self) -> &'static str {
        match self {
            Kind::Call => "tools/call",
            Kind::Read => "resources/read",
            Kind::Prompt => "prompts/get",
            Kind::CompletePrompt | Kind::CompleteResource => "completion/complete",
        }
    }

    /// What the fake records for it.
    fn seen(self) -> &'static str {
        match self {
            Kind::Call => "call",
            Kind::Read => "read",
            Kind::Prompt => "prompt",
            Kind::CompletePrompt | Kind::CompleteResource => "complete",
        }
    }

    /// The name clients use for `local` of `provider` (prefixed with its
    /// own name, as [`dispatcher`] makes it).
    fn public(self, provider: &str, local: &str) -> String {
        match self {
            Kind::Call | Kind::Prompt | Kind::CompletePrompt => format!("{provider}_{local}"),
            Kind::Read | Kind::CompleteResource => format!("upstream://{provider}/{local}"),
        }
    }

    /// How "not found" reads for it.
    fn unknown(self, name: &str) -> String {
        match self {
            Kind::Call => format!("unknown tool `{name}`"),
            Kind::Read | Kind::CompleteResource => format!("unknown resource `{name}`"),
            Kind::Prompt | Kind::CompletePrompt => format!("unknown prompt `{name}`"),
        }
    }
}

/// Makes a request of `kind` for `name`; a result comes back as the text
/// it carries.
async fn request(
    dispatcher: &Arc<Dispatcher>,
    caller: &Caller,
    kind: Kind,
    name: &str,
    scope: RequestScope,
) -> Result<String, ToolFailure> {
    let argument = || ArgumentInfo::new("arg", "val");
    match kind {
        Kind::Call => dispatcher
            .call(caller, name, None, scope)
            .await
            .map(|r| text(&r)),
        Kind::Read => dispatcher
            .read_resource(caller, name, scope)
            .await
            .map(|r| format!("{:?}", r.contents)),
        Kind::Prompt => dispatcher
            .get_prompt(caller, name, None, scope)
            .await
            .map(|r| r.description.unwrap_or_default()),
        Kind::CompletePrompt => dispatcher
            .complete(
                caller,
                CompleteRequestParams::new(Reference::for_prompt(name), argument()),
                scope,
            )
            .await
            .map(|r| r.completion.values.join(",")),
        Kind::CompleteResource => dispatcher
            .complete(
                caller,
                CompleteRequestParams::new(Reference::for_resource(name), argument()),
                scope,
            )
            .await
            .map(|r| r.completion.values.join(",")),
    }
}

/// Audit lines written while a test runs, on its thread.
///
/// One global subscriber, installed once, writes each audit event into the
/// buffer of the thread that emitted it. Tests are `#[tokio::test]` on the
/// current-thread runtime, so the requests they run stay on their thread.
/// (A subscriber per test through `tracing::subscriber::set_default` loses
/// events when tests run in parallel: every scoped dispatcher that comes or
/// goes makes tracing-core recompute its global max level from the ones
/// still alive, and a recomputation racing another test's can leave it at
/// `OFF`, so a test saw none of its lines about half the time.)
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

thread_local! {
    static CAPTURE: std::cell::RefCell<Option<Captured>> = const { std::cell::RefCell::new(None) };
}

/// Writes into the capture of the current thread, if it has one.
struct ThisThread;

impl std::io::Write for ThisThread {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        CAPTURE.with(|capture| {
            if let Some(captured) = &*capture.borrow() {
                lock(&captured.0).extend_from_slice(bytes);
            }
        });
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Stops capturing on this thread when dropped.
struct CaptureGuard;

impl Drop for CaptureGuard {
    fn drop(&mut self) {
        CAPTURE.with(|capture| capture.borrow_mut().take());
    }
}

impl Captured {
    /// Captures the audit lines this thread writes until the guard drops.
    fn start() -> (Self, CaptureGuard) {
        static SUBSCRIBER: std::sync::Once = std::sync::Once::new();
        SUBSCRIBER.call_once(|| {
            let subscriber = tracing_subscriber::fmt()
                .with_writer(|| ThisThread)
                .with_ansi(false)
                .without_time()
                .with_env_filter(tracing_subscriber::EnvFilter::new(
                    "switchboard::audit=trace",
                ))
                .finish();
            tracing::subscriber::set_global_default(subscriber)
                .expect("no other test installs a global subscriber");
        });
        let captured = Captured::default();
        CAPTURE.with(|capture| *capture.borrow_mut() = Some(captured.clone()));
        (captured, CaptureGuard)
    }

    fn audit(&self) -> Vec<String> {
        String::from_utf8_lossy(&lock(&self.0))
            .lines()
            .filter(|line| line.contains("switchboard::audit:"))
            .map(str::to_owned)
            .collect()
    }
}

/// Asserts `line` has every `key=value` fragment (values as the fmt
/// subscriber writes them: strings quoted, the caller not).
#[track_caller]
fn assert_line(line: &str, fragments: &[&str]) {
    for fragment in fragments {
        assert!(
            line.contains(fragment),
            "audit line `{line}` lacks `{fragment}`"
        );
    }
}

// ----- found, routed, rewritten ---------------------------------------------

#[tokio::test]
async fn a_call_reaches_the_provider_under_its_own_name() {
    let a = Fake::new("a").tool("echo").arc();
    let dispatcher = dispatcher(&[&a], Grants::default());
    let before = Instant::now();
    let result = dispatcher
        .call(
            &Caller::LOCAL_CLIENT,
            "a_echo",
            args(json!({"x": 1})),
            root(),
        )
        .await
        .expect("ok");
    let after = Instant::now();
    assert_eq!(text(&result), r#"a.echo {"x":1}"#);
    let seen = a.last();
    assert_eq!((seen.kind, seen.name.as_str()), ("call", "echo"));
    assert_eq!(seen.arguments, args(json!({"x": 1})));
    assert_eq!(seen.chain, ["a"]);
    // No caller deadline: the provider's 10 s timeout from when it started.
    assert!(
        seen.deadline >= before + Duration::from_secs(10)
            && seen.deadline <= after + Duration::from_secs(10)
    );
    assert!(!seen.cancel.is_cancelled());
}

#[tokio::test]
async fn missing_arguments_reach_the_provider_as_an_empty_object() {
    let a = Fake::new("a").tool("echo").arc();
    let dispatcher = dispatcher(&[&a], Grants::default());
    let result = dispatcher
        .call(&Caller::LOCAL_CLIENT, "a_echo", None, root())
        .await
        .expect("ok");
    assert_eq!(text(&result), "a.echo {}");
    assert_eq!(a.last().arguments, args(json!({})));
}

#[tokio::test]
async fn read_resource_contents_come_back_namespaced() {
    let up = Fake::new("up")
        .resource("demo://doc/1")
        .template("demo://doc/{id}")
        .arc();
    let dispatcher = dispatcher(&[&up], Grants::default());
    for (public, local) in [
        ("upstream://up/demo://doc/1", "demo://doc/1"),
        // Made from the template, not listed.
        ("upstream://up/demo://doc/42", "demo://doc/42"),
    ] {
        let result = dispatcher
            .read_resource(&Caller::LOCAL_CLIENT, public, root())
            .await
            .expect("ok");
        assert_eq!(up.last().name, local);
        let uris: Vec<String> = result
            .contents
            .iter()
            .map(|contents| match contents {
                ResourceContents::TextResourceContents { uri, .. } => format!("text {uri}"),
                ResourceContents::BlobResourceContents { uri, .. } => format!("blob {uri}"),
                other => panic!("unexpected contents {other:?}"),
            })
            .collect();
        assert_eq!(
            uris,
            [format!("text {public}"), format!("blob {public}#blob")]
        );
    }
}

#[tokio::test]
async fn get_prompt_reaches_the_provider_under_its_own_name() {
    let a = Fake::new("a").prompt("greet").arc();
    let dispatcher = dispatcher(&[&a], Grants::default());
    let result = dispatcher
        .get_prompt(
            &Caller::LOCAL_CLIENT,
            "a_greet",
            args(json!({"who": "you"})),
            root(),
        )
        .await
        .expect("ok");
    assert_eq!(
        result.description.as_deref(),
        Some(r#"a.greet {"who":"you"}"#)
    );
    let seen = a.last();
    assert_eq!((seen.kind, seen.name.as_str()), ("prompt", "greet"));
    assert_eq!(seen.arguments, args(json!({"who": "you"})));
}

#[tokio::test]
async fn completion_references_reach_the_provider_as_its_own() {
    let a = Fake::new("a")
        .prompt("greet")
        .template("demo://doc/{id}")
        .offers(Offers {
            resources: true,
            prompts: true,
            completions: true,
            list_changes: false,
            resource_updates: false,
        })
        .arc();
    let dispatcher = dispatcher(&[&a], Grants::default());
    let result = request(
        &dispatcher,
        &Caller::LOCAL_CLIENT,
        Kind::CompletePrompt,
        "a_greet",
        root(),
    )
    .await;
    assert_eq!(result.expect("ok"), "greet,arg=val");
    let result = request(
        &dispatcher,
        &Caller::LOCAL_CLIENT,
        Kind::CompleteResource,
        "upstream://a/demo://doc/{id}",
        root(),
    )
    .await;
    assert_eq!(result.expect("ok"), "demo://doc/{id},arg=val");
    assert_eq!(a.last().kind, "complete");
}

#[tokio::test]
async fn every_kind_reaches_the_provider_with_the_chain() {
    let a = Fake::new("a").item("it").arc();
    let dispatcher = dispatcher(&[&a], Grants::default());
    for kind in KINDS {
        let name = kind.public("a", "it");
        request(&dispatcher, &Caller::LOCAL_CLIENT, kind, &name, root())
            .await
            .unwrap_or_else(|f| panic!("{kind:?}: {f}"));
        let seen = a.last();
        assert_eq!(
            (seen.kind, seen.name.as_str()),
            (kind.seen(), "it"),
            "{kind:?}"
        );
        assert_eq!(seen.chain, ["a"], "{kind:?}");
    }
}

// ----- not found, refused -----------------------------------------------------

#[tokio::test]
async fn unknown_names_are_not_found_for_every_kind() {
    let a = Fake::new("a").item("it").arc();
    // Offers nothing but tools: its URIs are unknown too.
    let t = Fake::new("t").tool("only").arc();
    let dispatcher = dispatcher(&[&a, &t], Grants::default());
    for kind in KINDS {
        let mut names = vec![kind.public("a", "nope")];
        if matches!(kind, Kind::Read | Kind::CompleteResource) {
            names.clear();
            names.extend([
                "upstream://nobody/it".to_owned(),
                "upstream://t/it".to_owned(),
                // The right provider under another scheme.
                "plugin://a/it".to_owned(),
                "not a uri".to_owned(),
            ]);
        }
        for name in names {
            let outcome = request(&dispatcher, &Caller::LOCAL_CLIENT, kind, &name, root()).await;
            assert_failure(&outcome, FailureKind::NotFound, &[&kind.unknown(&name)]);
        }
    }
    assert!(a.seen().is_empty() && t.seen().is_empty());
}

#[tokio::test]
async fn a_tool_hidden_from_clients_is_unknown_to_them_but_callable_by_a_granted_plugin() {
    let a = Fake::new("a").tool("open").tool("secret").arc();
    let dispatcher = Dispatcher::new(registry(
        vec![source_exposing(&a, "a", &["open"])],
        grants("p", &["a_*"]),
    ));
    let outcome = dispatcher
        .call(&Caller::LOCAL_CLIENT, "a_secret", None, root())
        .await;
    assert_failure(
        &outcome,
        FailureKind::NotFound,
        &["unknown tool `a_secret`"],
    );
    assert!(a.seen().is_empty());
    dispatcher
        .call(&Caller::LOCAL_CLIENT, "a_open", None, root())
        .await
        .expect("exposed");
    dispatcher
        .call(&Caller::Plugin("p".into()), "a_secret", None, root())
        .await
        .expect("granted");
    assert_eq!(a.last().name, "secret");
}

#[tokio::test]
async fn a_plugin_without_the_grant_is_denied_with_what_it_is_granted() {
    let a = Fake::new("a").tool("one").tool("two").arc();
    let dispatcher = dispatcher(&[&a], grants("p", &["a_one"]));
    let outcome = dispatcher
        .call(&Caller::Plugin("p".into()), "a_two", None, root())
        .await;
    assert_failure(
        &outcome,
        FailureKind::Denied,
        &["plugin `p` may not call `a_two`: it is granted only a_one"],
    );
    let outcome = dispatcher
        .call(&Caller::Plugin("q".into()), "a_one", None, root())
        .await;
    assert_failure(
        &outcome,
        FailureKind::Denied,
        &["plugin `q` may not call `a_one`: no tools are granted to it"],
    );
    // An unknown name stays unknown to a plugin, granted or not.
    let outcome = dispatcher
        .call(&Caller::Plugin("p".into()), "a_three", None, root())
        .await;
    assert_failure(&outcome, FailureKind::NotFound, &["unknown tool `a_three`"]);
    assert!(a.seen().is_empty());
}

#[tokio::test]
async fn plugins_are_denied_resources_prompts_and_completions() {
    let a = Fake::new("a").item("it").arc();
    // Granted every tool: still no resources or prompts.
    let dispatcher = dispatcher(&[&a], grants("p", &["*"]));
    let plugin = Caller::Plugin("p".into());
    for kind in [
        Kind::Read,
        Kind::Prompt,
        Kind::CompletePrompt,
        Kind::CompleteResource,
    ] {
        let name = kind.public("a", "it");
        let outcome = request(&dispatcher, &plugin, kind, &name, root()).await;
        assert_failure(
            &outcome,
            FailureKind::Denied,
            &[&format!(
                "plugin `p` may not request `{name}`: plugins are granted tools only"
            )],
        );
    }
    assert!(a.seen().is_empty());
    request(&dispatcher, &plugin, Kind::Call, "a_it", root())
        .await
        .expect("tools are granted");
}

#[tokio::test]
async fn invalid_arguments_are_refused_with_where_before_the_provider_runs() {
    let a = Fake::new("a")
        .tool_spec(tool_with(
            "add",
            json!({
                "type": "object",
                "properties": {"n": {"type": "integer"}, "m": {"type": "string"}},
                "required": ["n"]
            }),
            None,
        ))
        .arc();
    let dispatcher = dispatcher(&[&a], Grants::default());
    let outcome = dispatcher
        .call(
            &Caller::LOCAL_CLIENT,
            "a_add",
            args(json!({"n": "x", "m": 1})),
            root(),
        )
        .await;
    assert_failure(
        &outcome,
        FailureKind::InvalidArguments,
        &[
            "invalid arguments for `a_add`: ",
            "at `/n`",
            "at `/m`",
            "; ",
        ],
    );
    let outcome = dispatcher
        .call(&Caller::LOCAL_CLIENT, "a_add", None, root())
        .await;
    assert_failure(
        &outcome,
        FailureKind::InvalidArguments,
        &[
            "invalid arguments for `a_add`",
            "\"n\" is a required property",
        ],
    );
    assert!(a.seen().is_empty());
    dispatcher
        .call(
            &Caller::LOCAL_CLIENT,
            "a_add",
            args(json!({"n": 2})),
            root(),
        )
        .await
        .expect("valid");
}

// ----- chains -----------------------------------------------------------------

#[tokio::test]
async fn a_provider_already_on_the_chain_is_refused_for_every_kind() {
    let a = Fake::new("a").item("it").arc();
    let dispatcher = dispatcher(&[&a], Grants::default());
    for kind in KINDS {
        let name = kind.public("a", "it");
        let outcome = request(
            &dispatcher,
            &Caller::LOCAL_CLIENT,
            kind,
            &name,
            scope_with_chain(&["x", "a", "y"]),
        )
        .await;
        assert_failure(
            &outcome,
            FailureKind::Denied,
            &[&format!(
                "call cycle refused: x -> a -> y -> a (`{name}`); plugin `a` is already on the chain"
            )],
        );
    }
    assert!(a.seen().is_empty());
}

#[tokio::test]
async fn the_depth_limit_is_refused_for_every_kind() {
    let a = Fake::new("a").item("it").arc();
    let dispatcher = Dispatcher::new(registry_with_depth(
        vec![source(&a, "a")],
        Grants::default(),
        3,
    ));
    for kind in KINDS {
        let name = kind.public("a", "it");
        let outcome = request(
            &dispatcher,
            &Caller::LOCAL_CLIENT,
            kind,
            &name,
            scope_with_chain(&["x", "y", "z"]),
        )
        .await;
        assert_failure(
            &outcome,
            FailureKind::Denied,
            &[&format!(
                "call chain depth limit (3) reached calling `{name}`: x -> y -> z"
            )],
        );
        // One short of the limit still runs.
        request(
            &dispatcher,
            &Caller::LOCAL_CLIENT,
            kind,
            &name,
            scope_with_chain(&["x", "y"]),
        )
        .await
        .unwrap_or_else(|f| panic!("{kind:?}: {f}"));
        assert_eq!(a.last().chain, ["x", "y", "a"]);
    }
}

#[tokio::test]
async fn a_nested_call_carries_the_chain_deadline_and_cancellation() {
    let a = Fake::new("a")
        .tool("outer")
        .on("outer", Behaviour::reply(Reply::Nested("b_inner".into())))
        .arc();
    let b = Fake::new("b").timeout(FOREVER).tool("inner").arc();
    let dispatcher = dispatcher(&[&a, &b], grants("a", &["b_*"]));
    let result = dispatcher
        .call(
            &Caller::LOCAL_CLIENT,
            "a_outer",
            args(json!({"k": "v"})),
            root(),
        )
        .await
        .expect("ok");
    assert_eq!(text(&result), r#"b.inner {"k":"v"}"#);
    let (outer, inner) = (a.last(), b.last());
    assert_eq!(outer.chain, ["a"]);
    assert_eq!(inner.chain, ["a", "b"]);
    // `b` allows an hour; the chain only has what `a` was given.
    assert_eq!(inner.deadline, outer.deadline);
    assert!(!inner.cancel.is_cancelled());
    outer.cancel.cancel();
    assert!(inner.cancel.is_cancelled());
}

#[tokio::test]
async fn a_nested_call_is_checked_against_the_calling_plugins_grants() {
    let a = Fake::new("a")
        .tool("outer")
        .on("outer", Behaviour::reply(Reply::Nested("b_inner".into())))
        .arc();
    let b = Fake::new("b").tool("inner").arc();
    let dispatcher = dispatcher(&[&a, &b], grants("a", &["b_other"]));
    let outcome = dispatcher
        .call(&Caller::LOCAL_CLIENT, "a_outer", None, root())
        .await;
    // The failure reaches the client unchanged through `a`.
    assert_failure(
        &outcome,
        FailureKind::Denied,
        &["plugin `a` may not call `b_inner`: it is granted only b_other"],
    );
    assert!(b.seen().is_empty());
}

#[tokio::test]
async fn a_nested_call_sees_tools_hidden_from_clients() {
    let a = Fake::new("a")
        .tool("outer")
        .on("outer", Behaviour::reply(Reply::Nested("b_inner".into())))
        .arc();
    let b = Fake::new("b").tool("inner").arc();
    let dispatcher = Dispatcher::new(registry(
        vec![source(&a, "a"), source_exposing(&b, "b", &[])],
        grants("a", &["b_*"]),
    ));
    let outcome = dispatcher
        .call(&Caller::LOCAL_CLIENT, "b_inner", None, root())
        .await;
    assert_failure(&outcome, FailureKind::NotFound, &["unknown tool `b_inner`"]);
    let result = dispatcher
        .call(&Caller::LOCAL_CLIENT, "a_outer", None, root())
        .await
        .expect("the plugin is granted it");
    assert_eq!(text(&result), "b.inner {}");
}

#[tokio::test]
async fn nested_cycles_are_refused() {
    // a calls itself.
    let a = Fake::new("a")
        .tool("again")
        .on("again", Behaviour::reply(Reply::Nested("a_again".into())))
        .tool("ping")
        .on("ping", Behaviour::reply(Reply::Nested("b_pong".into())))
        .arc();
    // b calls back into a.
    let b = Fake::new("b")
        .tool("pong")
        .on("pong", Behaviour::reply(Reply::Nested("a_ping".into())))
        .arc();
    let mut grants = grants("a", &["*"]);
    grants.allow_tools("b", vec!["a_*".into()]);
    let dispatcher = dispatcher(&[&a, &b], grants);
    let outcome = dispatcher
        .call(&Caller::LOCAL_CLIENT, "a_again", None, root())
        .await;
    assert_failure(
        &outcome,
        FailureKind::Denied,
        &["call cycle refused: a -> a (`a_again`); plugin `a` is already on the chain"],
    );
    assert_eq!(a.seen().len(), 1);
    let outcome = dispatcher
        .call(&Caller::LOCAL_CLIENT, "a_ping", None, root())
        .await;
    assert_failure(
        &outcome,
        FailureKind::Denied,
        &["call cycle refused: a -> b -> a (`a_ping`); plugin `a` is already on the chain"],
    );
    assert_eq!(b.last().chain, ["a", "b"]);
}

/// `p0` calls `p1_hop`, which calls `p2_hop`, … up to `p{n-1}`, which
/// answers.
fn hops(n: usize) -> (Vec<Arc<Fake>>, Grants) {
    let mut grants = Grants::default();
    let fakes: Vec<Arc<Fake>> = (0..n)
        .map(|i| {
            let name = format!("p{i}");
            grants.allow_tools(&name, vec!["*_hop".into()]);
            let mut fake = Fake::new(&name).tool("hop");
            if i + 1 < n {
                fake = fake.on(
                    "hop",
                    Behaviour::reply(Reply::Nested(format!("p{}_hop", i + 1))),
                );
            }
            fake.arc()
        })
        .collect();
    (fakes, grants)
}

#[tokio::test]
async fn nested_calls_stop_at_the_depth_limit() {
    let (fakes, grants) = hops(4);
    let sources = fakes.iter().map(|f| source(f, &f.name)).collect();
    let dispatcher = Dispatcher::new(registry_with_depth(sources, grants, 3));
    let outcome = dispatcher
        .call(&Caller::LOCAL_CLIENT, "p0_hop", None, root())
        .await;
    assert_failure(
        &outcome,
        FailureKind::Denied,
        &["call chain depth limit (3) reached calling `p3_hop`: p0 -> p1 -> p2"],
    );
    assert!(fakes[3].seen().is_empty());
    assert_eq!(fakes[2].last().chain, ["p0", "p1", "p2"]);

    // Three providers on the chain are within a limit of three.
    let (fakes, grants) = hops(3);
    let sources = fakes.iter().map(|f| source(f, &f.name)).collect();
    let dispatcher = Dispatcher::new(registry_with_depth(sources, grants, 3));
    let result = dispatcher
        .call(&Caller::LOCAL_CLIENT, "p0_hop", None, root())
        .await
        .expect("within the limit");
    assert_eq!(text(&result), "p2.hop {}");
}

// ----- deadlines and cancellation ---------------------------------------------

#[tokio::test]
async fn a_provider_ignoring_its_timeout_is_stopped_for_every_kind() {
    let a = Fake::new("a")
        .timeout(Duration::from_millis(30))
        .item("slow")
        .on("slow", Behaviour::slow(FOREVER))
        .arc();
    let dispatcher = dispatcher(&[&a], Grants::default());
    for (i, kind) in KINDS.into_iter().enumerate() {
        let name = kind.public("a", "slow");
        let outcome = request(&dispatcher, &Caller::LOCAL_CLIENT, kind, &name, root()).await;
        assert_failure(
            &outcome,
            FailureKind::Timeout,
            &[&format!(
                "`{name}` on `a` did not finish within its 30 ms timeout"
            )],
        );
        let seen = a.last();
        assert_eq!(seen.kind, kind.seen());
        assert!(seen.cancel.is_cancelled(), "{kind:?}: the provider is told");
        assert_eq!(a.abandoned(), i + 1, "{kind:?}: its work was dropped");
    }
}

#[tokio::test]
async fn an_earlier_caller_deadline_is_the_one_the_provider_gets() {
    let a = Fake::new("a")
        .timeout(FOREVER)
        .item("it")
        .item("slow")
        .on("slow", Behaviour::slow(FOREVER))
        .arc();
    let dispatcher = dispatcher(&[&a], Grants::default());
    for kind in KINDS {
        let deadline = Instant::now() + Duration::from_secs(5);
        let scope = RequestScope {
            deadline: Some(deadline),
            ..root()
        };
        request(
            &dispatcher,
            &Caller::LOCAL_CLIENT,
            kind,
            &kind.public("a", "it"),
            scope,
        )
        .await
        .unwrap_or_else(|f| panic!("{kind:?}: {f}"));
        assert_eq!(a.last().deadline, deadline, "{kind:?}");

        // Passed, it stops the provider and says whose deadline it was.
        let name = kind.public("a", "slow");
        let scope = RequestScope {
            deadline: Some(Instant::now() + Duration::from_millis(30)),
            ..root()
        };
        let outcome = request(&dispatcher, &Caller::LOCAL_CLIENT, kind, &name, scope).await;
        assert_failure(
            &outcome,
            FailureKind::Timeout,
            &[&format!(
                "`{name}` on `a` did not finish within the caller's deadline"
            )],
        );
        assert!(a.last().cancel.is_cancelled());
    }
}

#[tokio::test]
async fn a_later_caller_deadline_is_narrowed_to_the_provider_timeout() {
    let a = Fake::new("a").tool("it").arc();
    let dispatcher = dispatcher(&[&a], Grants::default());
    let before = Instant::now();
    let scope = RequestScope {
        deadline: Some(before + FOREVER),
        ..root()
    };
    dispatcher
        .call(&Caller::LOCAL_CLIENT, "a_it", None, scope)
        .await
        .expect("ok");
    let after = Instant::now();
    let deadline = a.last().deadline;
    assert!(
        deadline >= before + Duration::from_secs(10) && deadline <= after + Duration::from_secs(10)
    );
}

#[tokio::test]
async fn a_provider_stopping_before_its_deadline_is_heard_unchanged() {
    let a = Fake::new("a")
        .timeout(Duration::from_millis(40))
        .tool("polite")
        .on(
            "polite",
            Behaviour {
                work: FOREVER,
                honours_deadline: true,
                reply: Reply::Echo,
            },
        )
        .arc();
    let dispatcher = dispatcher(&[&a], Grants::default());
    let outcome = dispatcher
        .call(&Caller::LOCAL_CLIENT, "a_polite", None, root())
        .await;
    assert_failure(
        &outcome,
        FailureKind::Timeout,
        &["fake `a` gave up on `polite` before its deadline"],
    );
    assert_eq!(a.abandoned(), 0);
}

#[tokio::test]
async fn cancelling_the_request_cancels_the_provider_for_every_kind() {
    let a = Fake::new("a")
        .item("slow")
        .on("slow", Behaviour::slow(FOREVER))
        .arc();
    let dispatcher = dispatcher(&[&a], Grants::default());
    for (i, kind) in KINDS.into_iter().enumerate() {
        let name = kind.public("a", "slow");
        let cancel = CancellationToken::new();
        let scope = RequestScope::root(cancel.clone(), EventSink::discard());
        let (outcome, ()) = tokio::join!(
            request(&dispatcher, &Caller::LOCAL_CLIENT, kind, &name, scope),
            async {
                a.started().await;
                cancel.cancel();
            }
        );
        assert_failure(
            &outcome,
            FailureKind::Cancelled,
            &[&format!("request for `{name}` was cancelled by the caller")],
        );
        assert!(a.last().cancel.is_cancelled(), "{kind:?}");
        assert_eq!(a.abandoned(), i + 1, "{kind:?}: its work was dropped");
    }
}

#[tokio::test]
async fn a_cancelled_nested_chain_cancels_every_provider_on_it() {
    let a = Fake::new("a")
        .tool("outer")
        .on("outer", Behaviour::reply(Reply::Nested("b_inner".into())))
        .arc();
    let b = Fake::new("b")
        .tool("inner")
        .on("inner", Behaviour::slow(FOREVER))
        .arc();
    let dispatcher = dispatcher(&[&a, &b], grants("a", &["b_*"]));
    let cancel = CancellationToken::new();
    let scope = RequestScope::root(cancel.clone(), EventSink::discard());
    let (outcome, ()) = tokio::join!(
        dispatcher.call(&Caller::LOCAL_CLIENT, "a_outer", None, scope),
        async {
            b.started().await;
            cancel.cancel();
        }
    );
    assert_eq!(outcome.expect_err("cancelled").kind, FailureKind::Cancelled);
    assert!(a.last().cancel.is_cancelled());
    assert!(b.last().cancel.is_cancelled());
    assert_eq!(b.abandoned(), 1);
}

#[tokio::test]
async fn a_request_keeps_the_registry_it_started_with() {
    let a = Fake::new("a")
        .tool("slow")
        .on("slow", Behaviour::slow(Duration::from_millis(20)))
        .arc();
    let dispatcher = dispatcher(&[&a], Grants::default());
    let (outcome, ()) = tokio::join!(
        dispatcher.call(&Caller::LOCAL_CLIENT, "a_slow", None, root()),
        async {
            a.started().await;
            dispatcher.replace_registry(Registry::empty());
        }
    );
    assert_eq!(text(&outcome.expect("ran on its snapshot")), "a.slow {}");
    let outcome = dispatcher
        .call(&Caller::LOCAL_CLIENT, "a_slow", None, root())
        .await;
    assert_failure(&outcome, FailureKind::NotFound, &["unknown tool `a_slow`"]);
}

// ----- results ------------------------------------------------------------------

#[tokio::test]
async fn output_breaking_the_output_schema_is_a_failure() {
    let output = json!({
        "type": "object",
        "properties": {"n": {"type": "integer"}},
        "required": ["n"]
    });
    let a = Fake::new("a")
        .tool_spec(tool_with("out", json!({"type": "object"}), Some(output)))
        .arc();
    let dispatcher = dispatcher(&[&a], Grants::default());
    let call = || dispatcher.call(&Caller::LOCAL_CLIENT, "a_out", None, root());

    a.set_behaviour(
        "out",
        Behaviour::reply(Reply::Structured(json!({"n": "x"}))),
    );
    assert_failure(
        &call().await,
        FailureKind::Failed,
        &["`a_out` returned output that breaks its output schema: at `/n`"],
    );
    a.set_behaviour("out", Behaviour::reply(Reply::Unstructured));
    assert_failure(
        &call().await,
        FailureKind::Failed,
        &[
            "`a_out` returned output that breaks its output schema: the tool declares an output schema but returned no structured content",
        ],
    );
    a.set_behaviour("out", Behaviour::reply(Reply::Structured(json!({"n": 1}))));
    let result = call().await.expect("valid output");
    assert_eq!(result.structured_content, Some(json!({"n": 1})));
    // A tool error is passed on, whatever its output.
    a.set_behaviour("out", Behaviour::reply(Reply::ToolError("broke".into())));
    let result = call().await.expect("a tool error is a result");
    assert_eq!(result.is_error, Some(true));
    assert_eq!(text(&result), "broke");
}

#[tokio::test]
async fn a_provider_failure_is_passed_on_unchanged_for_every_kind() {
    let a = Fake::new("a")
        .item("bad")
        .on(
            "bad",
            Behaviour::reply(Reply::Fail(FailureKind::Failed, "it broke".into())),
        )
        .arc();
    let dispatcher = dispatcher(&[&a], Grants::default());
    for kind in KINDS {
        let outcome = request(
            &dispatcher,
            &Caller::LOCAL_CLIENT,
            kind,
            &kind.public("a", "bad"),
            root(),
        )
        .await;
        assert_eq!(
            outcome,
            Err(ToolFailure::new(FailureKind::Failed, "it broke")),
            "{kind:?}"
        );
    }
}

// ----- the audit line ---------------------------------------------------------

#[tokio::test]
async fn every_kind_writes_one_audit_line_naming_the_request() {
    let (captured, _guard) = Captured::start();
    let a = Fake::new("a")
        .timeout(Duration::from_millis(30))
        .item("it")
        .item("slow")
        .on("slow", Behaviour::slow(FOREVER))
        .arc();
    let dispatcher = dispatcher(&[&a], Grants::default());
    let mut expected = Vec::new();
    for kind in KINDS {
        let name = kind.public("a", "it");
        request(&dispatcher, &Caller::LOCAL_CLIENT, kind, &name, root())
            .await
            .unwrap_or_else(|f| panic!("{kind:?}: {f}"));
        expected.push((kind, name, "a", "ok"));
        let name = kind.public("a", "nope");
        let name = if matches!(kind, Kind::Read | Kind::CompleteResource) {
            "upstream://nobody/x".to_owned()
        } else {
            name
        };
        request(&dispatcher, &Caller::LOCAL_CLIENT, kind, &name, root())
            .await
            .expect_err("unknown");
        expected.push((kind, name, "-", "not-found"));
        let name = kind.public("a", "slow");
        request(&dispatcher, &Caller::LOCAL_CLIENT, kind, &name, root())
            .await
            .expect_err("timeout");
        expected.push((kind, name, "a", "timeout"));
    }
    let lines = captured.audit();
    assert_eq!(lines.len(), expected.len(), "{lines:#?}");
    for (line, (kind, name, callee, outcome)) in lines.iter().zip(&expected) {
        assert_line(
            line,
            &[
                " INFO ",
                "caller=client",
                &format!("request=\"{}\"", kind.request()),
                &format!("callee=\"{callee}\""),
                &format!("name=\"{name}\""),
                &format!("outcome=\"{outcome}\""),
                "elapsed_us=",
            ],
        );
    }
    assert_line(
        &lines[2],
        &["reason=\"`a_slow` on `a` did not finish within its 30 ms timeout\""],
    );
}

#[tokio::test]
async fn failures_write_one_audit_line_each_with_the_outcome_and_reason() {
    let (captured, _guard) = Captured::start();
    let a = Fake::new("a")
        .tool_spec(tool_with(
            "strict",
            json!({"type": "object", "properties": {"n": {"type": "integer"}}}),
            None,
        ))
        .tool("oops")
        .on("oops", Behaviour::reply(Reply::ToolError("no".into())))
        .tool("slow")
        .on("slow", Behaviour::slow(FOREVER))
        .arc();
    let dispatcher = dispatcher(&[&a], grants("p", &["a_strict"]));
    let plugin = Caller::Plugin("p".into());

    let _ = dispatcher
        .call(
            &Caller::LOCAL_CLIENT,
            "a_strict",
            args(json!({"n": "x"})),
            root(),
        )
        .await;
    let _ = dispatcher.call(&plugin, "a_oops", None, root()).await;
    let _ = dispatcher
        .call(&Caller::LOCAL_CLIENT, "a_oops", None, root())
        .await;
    let _ = dispatcher
        .call(
            &Caller::LOCAL_CLIENT,
            "a_strict",
            None,
            scope_with_chain(&["a"]),
        )
        .await;
    let cancel = CancellationToken::new();
    cancel.cancel();
    let scope = RequestScope::root(cancel, EventSink::discard());
    let _ = dispatcher
        .call(&Caller::LOCAL_CLIENT, "a_slow", None, scope)
        .await;

    let lines = captured.audit();
    assert_eq!(lines.len(), 5, "{lines:#?}");
    assert_line(
        &lines[0],
        &[
            " INFO ",
            "caller=client",
            "callee=\"a\"",
            "name=\"a_strict\"",
            "outcome=\"invalid-arguments\"",
            "reason=\"invalid arguments for `a_strict`: at `/n`",
        ],
    );
    // Denials stand out at warn level.
    assert_line(
        &lines[1],
        &[
            " WARN ",
            "caller=plugin:p",
            "request=\"tools/call\"",
            "name=\"a_oops\"",
            "outcome=\"denied\"",
            "reason=\"plugin `p` may not call `a_oops`: it is granted only a_strict\"",
        ],
    );
    assert_line(
        &lines[2],
        &[
            " INFO ",
            "name=\"a_oops\"",
            "outcome=\"tool-error\"",
            "reason=\"\"",
        ],
    );
    assert_line(
        &lines[3],
        &[
            " WARN ",
            "outcome=\"denied\"",
            "reason=\"call cycle refused: a -> a",
        ],
    );
    assert_line(
        &lines[4],
        &[
            " INFO ",
            "name=\"a_slow\"",
            "outcome=\"cancelled\"",
            "reason=\"request for `a_slow` was cancelled by the caller\"",
        ],
    );
}

#[tokio::test]
async fn an_abandoned_request_still_writes_one_audit_line() {
    let (captured, _guard) = Captured::start();
    let a = Fake::new("a")
        .item("slow")
        .on("slow", Behaviour::slow(FOREVER))
        .arc();
    let dispatcher = dispatcher(&[&a], Grants::default());
    for (i, kind) in KINDS.into_iter().enumerate() {
        let name = kind.public("a", "slow");
        // The caller stops waiting once the provider runs: the request's
        // future is dropped mid-flight.
        tokio::select! {
            outcome = request(&dispatcher, &Caller::LOCAL_CLIENT, kind, &name, root()) => {
                panic!("{kind:?} finished: {outcome:?}")
            }
            () = a.started() => {}
        }
        assert_eq!(a.abandoned(), i + 1);
        let lines = captured.audit();
        assert_eq!(lines.len(), i + 1, "{lines:#?}");
        assert_line(
            &lines[i],
            &[
                "caller=client",
                &format!("request=\"{}\"", kind.request()),
                "callee=\"a\"",
                &format!("name=\"{name}\""),
                "outcome=\"cancelled\"",
                "reason=\"abandoned: the caller stopped waiting\"",
            ],
        );
    }
}

#[tokio::test]
async fn a_nested_call_writes_its_own_audit_line_naming_the_calling_plugin() {
    let (captured, _guard) = Captured::start();
    let a = Fake::new("a")
        .tool("outer")
        .on("outer", Behaviour::reply(Reply::Nested("b_inner".into())))
        .arc();
    let b = Fake::new("b").tool("inner").arc();
    let dispatcher = dispatcher(&[&a, &b], grants("a", &["b_*"]));
    dispatcher
        .call(&Caller::LOCAL_CLIENT, "a_outer", None, root())
        .await
        .expect("ok");
    let lines = captured.audit();
    assert_eq!(lines.len(), 2, "{lines:#?}");
    // The inner request ends first.
    assert_line(
        &lines[0],
        &[
            "caller=plugin:a",
            "request=\"tools/call\"",
            "callee=\"b\"",
            "name=\"b_inner\"",
            "outcome=\"ok\"",
        ],
    );
    assert_line(
        &lines[1],
        &[
            "caller=client",
            "callee=\"a\"",
            "name=\"a_outer\"",
            "outcome=\"ok\"",
        ],
    );
}

/// A plugin denied a tool (or a resource or prompt) that exists: the audit
/// line names the provider it would have reached, as it does for every
/// other outcome of a found item.
#[tokio::test]
async fn a_grant_denial_names_the_provider_it_would_have_reached() {
    let (captured, _guard) = Captured::start();
    let a = Fake::new("a").item("it").arc();
    let dispatcher = dispatcher(&[&a], grants("p", &["other"]));
    let plugin = Caller::Plugin("p".into());
    for kind in KINDS {
        let name = kind.public("a", "it");
        let outcome = request(&dispatcher, &plugin, kind, &name, root()).await;
        assert_eq!(outcome.expect_err("denied").kind, FailureKind::Denied);
    }
    let lines = captured.audit();
    assert_eq!(lines.len(), KINDS.len(), "{lines:#?}");
    for line in &lines {
        assert_line(line, &["outcome=\"denied\"", "callee=\"a\""]);
    }
}

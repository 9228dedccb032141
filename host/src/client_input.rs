//! Input a plugin asks of the client of the request it serves (sampling,
//! elicitation, roots), and how the question reaches that client in each
//! protocol era.
//!
//! A 2025-11-25 session is a connection the host can send requests on: the
//! questions go to the client while the call waits. A 2026-07-28 client is
//! stateless and the server may not send it requests: the call runs with the
//! answers the client sent along (`inputResponses`, plus those of earlier
//! rounds carried in `requestState`), and a question still open ends the run
//! with an `input_required` result asking it. Every call already runs in a
//! fresh instance, so the retried request simply runs again from the start.

// Sampling and roots are deprecated by SEP-2577, yet part of both eras.
#![allow(deprecated)]

use std::sync::{Arc, Mutex};
use std::time::Instant;

use rmcp::model::{
    ClientCapabilities, CreateMessageRequest, CreateMessageRequestParams, CreateMessageResult,
    ElicitRequest, ElicitRequestParams, ElicitResult, ElicitationCapability, InputRequest,
    InputRequests, InputResponses, ListRootsRequest, ListRootsResult, RootsCapabilities,
    SamplingCapability, ServerRequest,
};
use rmcp::{Peer, RoleServer};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::config::ClientRequestKind;
use crate::provider::{FailureKind, ToolFailure};

/// What a plugin asks, in MCP's terms.
#[derive(Debug, Clone)]
pub enum Ask {
    Sampling(CreateMessageRequestParams),
    Elicitation(ElicitRequestParams),
    Roots,
}

/// One question under the plugin's key for it.
#[derive(Debug, Clone)]
pub struct Question {
    pub key: String,
    pub ask: Ask,
}

/// The client's answer, of its question's kind.
#[derive(Debug, Clone)]
pub enum Answer {
    Sampling(CreateMessageResult),
    Elicitation(ElicitResult),
    Roots(ListRootsResult),
}

impl Ask {
    pub fn kind(&self) -> ClientRequestKind {
        match self {
            Ask::Sampling(_) => ClientRequestKind::Sampling,
            Ask::Elicitation(_) => ClientRequestKind::Elicitation,
            Ask::Roots => ClientRequestKind::Roots,
        }
    }

    /// Whether the client declared what this question needs.
    fn declared_by(&self, capabilities: &ClientCapabilities) -> bool {
        match self {
            Ask::Sampling(_) => capabilities.sampling.is_some(),
            // An empty `elicitation` object means form mode (2025-11-25).
            Ask::Elicitation(ElicitRequestParams::UrlElicitationParams { .. }) => capabilities
                .elicitation
                .as_ref()
                .is_some_and(|e| e.url.is_some()),
            Ask::Elicitation(_) => capabilities.elicitation.is_some(),
            Ask::Roots => capabilities.roots.is_some(),
        }
    }

    /// The capability this question needs, as `-32021` names it.
    fn required_capability(&self, into: &mut ClientCapabilities) {
        match self {
            Ask::Sampling(_) => into.sampling = Some(SamplingCapability::default()),
            Ask::Elicitation(ElicitRequestParams::UrlElicitationParams { .. }) => {
                into.elicitation = Some(ElicitationCapability::new().with_url(Default::default()));
            }
            Ask::Elicitation(_) => into.elicitation = Some(ElicitationCapability::default()),
            Ask::Roots => into.roots = Some(RootsCapabilities::default()),
        }
    }

    fn into_request(self) -> InputRequest {
        match self {
            Ask::Sampling(params) => InputRequest::CreateMessage(CreateMessageRequest::new(params)),
            Ask::Elicitation(params) => InputRequest::Elicitation(ElicitRequest::new(params)),
            Ask::Roots => InputRequest::ListRoots(ListRootsRequest {
                method: Default::default(),
                extensions: Default::default(),
            }),
        }
    }

    fn into_server_request(self) -> ServerRequest {
        match self.into_request() {
            InputRequest::CreateMessage(request) => ServerRequest::CreateMessageRequest(request),
            InputRequest::Elicitation(request) => ServerRequest::ElicitRequest(request),
            InputRequest::ListRoots(request) => ServerRequest::ListRootsRequest(request),
            // `InputRequest` is non-exhaustive; `into_request` makes only the three above.
            other => unreachable!("into_request made an unknown input request: {other:?}"),
        }
    }
}

impl Answer {
    /// Reads a client's answer (JSON) to a question of `kind`.
    fn parse(kind: ClientRequestKind, answer: Value) -> Result<Self, String> {
        let parsed = match kind {
            ClientRequestKind::Sampling => serde_json::from_value(answer).map(Answer::Sampling),
            ClientRequestKind::Elicitation => {
                serde_json::from_value(answer).map(Answer::Elicitation)
            }
            ClientRequestKind::Roots => serde_json::from_value(answer).map(Answer::Roots),
        };
        parsed.map_err(|e| format!("not a {} result: {e}", kind.method()))
    }
}

/// How the host reaches the client of the outermost request; shared by
/// every call on that request's chain.
#[derive(Clone, Default)]
pub struct ClientLink(Option<Arc<Link>>);

struct Link {
    capabilities: ClientCapabilities,
    /// Capabilities questions needed and the client had not declared.
    missing: Mutex<Option<ClientCapabilities>>,
    channel: Channel,
}

enum Channel {
    /// A 2025-11-25 session: ask now.
    Session(Peer<RoleServer>),
    /// A 2026-07-28 request: answer from what the client sent.
    Round(Round),
}

struct Round {
    /// The client's answers: this request's `inputResponses` over those
    /// carried from earlier rounds.
    answers: InputResponses,
    progress: Mutex<RoundProgress>,
}

#[derive(Default)]
struct RoundProgress {
    /// Questions left open, for the next `input_required` result.
    open: InputRequests,
    /// Answers the run used: carried to the next round.
    used: InputResponses,
}

/// A run stopped at a question the client has not answered yet (2026-07-28):
/// the request ends `input_required`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InputPending;

impl ClientLink {
    /// No client can be asked (a request with no client behind it).
    pub fn none() -> Self {
        Self(None)
    }

    /// A 2025-11-25 session's client, asked over its connection.
    pub fn session(peer: Peer<RoleServer>, capabilities: ClientCapabilities) -> Self {
        Self::new(capabilities, Channel::Session(peer))
    }

    /// A 2026-07-28 request, with the answers its client already gave.
    pub fn round(capabilities: ClientCapabilities, answers: InputResponses) -> Self {
        Self::new(
            capabilities,
            Channel::Round(Round {
                answers,
                progress: Mutex::default(),
            }),
        )
    }

    fn new(capabilities: ClientCapabilities, channel: Channel) -> Self {
        Self(Some(Arc::new(Link {
            capabilities,
            missing: Mutex::new(None),
            channel,
        })))
    }

    /// Asks the client `questions`, each answered in order or failed on its
    /// own. `Err` means the run must stop: a question waits for the next
    /// round (2026-07-28), which the host then asks for.
    pub async fn ask(
        &self,
        questions: Vec<Question>,
        deadline: Instant,
        cancel: &CancellationToken,
    ) -> Result<Vec<Result<Answer, ToolFailure>>, InputPending> {
        let Some(link) = &self.0 else {
            let failure = ToolFailure::new(
                FailureKind::Failed,
                "no client to ask: this request did not come from an MCP client",
            );
            return Ok(questions.iter().map(|_| Err(failure.clone())).collect());
        };
        let mut seen = std::collections::HashSet::new();
        if let Some(question) = questions.iter().find(|q| !seen.insert(q.key.as_str())) {
            let failure = ToolFailure::new(
                FailureKind::InvalidArguments,
                format!(
                    "two questions share the key `{}`: keys must be unique",
                    question.key
                ),
            );
            return Ok(questions.iter().map(|_| Err(failure.clone())).collect());
        }
        let mut answers: Vec<Option<Result<Answer, ToolFailure>>> = Vec::new();
        let mut to_ask = Vec::new();
        for question in questions {
            if question.ask.declared_by(&link.capabilities) {
                answers.push(None);
                to_ask.push(question);
            } else {
                link.note_missing(&question.ask);
                answers.push(Some(Err(ToolFailure::new(
                    FailureKind::Failed,
                    format!(
                        "the client did not declare the `{}` capability, so it cannot be sent {}",
                        question.ask.kind().as_str(),
                        question.ask.kind().method()
                    ),
                ))));
            }
        }
        let asked = match &link.channel {
            Channel::Session(peer) => ask_session(peer, to_ask, deadline, cancel).await,
            Channel::Round(round) => round.answer(to_ask)?,
        };
        Ok(fill_in(answers, asked))
    }

    /// The capabilities the request needed and the client lacked, if any.
    pub fn missing_capabilities(&self) -> Option<ClientCapabilities> {
        let link = self.0.as_ref()?;
        link.missing
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// What the next round needs, once a run stopped for input: the open
    /// questions, and every answer the run used (to carry in
    /// `requestState`). `None` if nothing is open.
    pub fn next_round(&self) -> Option<(InputRequests, InputResponses)> {
        let Channel::Round(round) = &self.0.as_ref()?.channel else {
            return None;
        };
        let progress = round.progress.lock().unwrap_or_else(|e| e.into_inner());
        if progress.open.is_empty() {
            return None;
        }
        Some((progress.open.clone(), progress.used.clone()))
    }
}

impl Link {
    fn note_missing(&self, ask: &Ask) {
        let mut missing = self.missing.lock().unwrap_or_else(|e| e.into_inner());
        ask.required_capability(missing.get_or_insert_with(ClientCapabilities::default));
    }
}

impl Round {
    /// Answers from what the client sent; a question without a (valid)
    /// answer is opened for the next round, and stops this run.
    fn answer(
        &self,
        questions: Vec<Question>,
    ) -> Result<Vec<Result<Answer, ToolFailure>>, InputPending> {
        let mut progress = self.progress.lock().unwrap_or_else(|e| e.into_inner());
        let mut answers = Vec::with_capacity(questions.len());
        let mut pending = false;
        for question in questions {
            let kind = question.ask.kind();
            // A malformed answer is asked again rather than failed: the
            // client may do better, and its round limit ends a loop.
            match self
                .answers
                .get(&question.key)
                .map(|answer| (answer, Answer::parse(kind, answer.clone())))
            {
                Some((raw, Ok(answer))) => {
                    progress.used.insert(question.key, raw.clone());
                    answers.push(Ok(answer));
                }
                Some((_, Err(problem))) => {
                    tracing::debug!(key = %question.key, "re-asking: the client's answer is {problem}");
                    pending = true;
                    progress
                        .open
                        .insert(question.key, question.ask.into_request());
                }
                None => {
                    pending = true;
                    progress
                        .open
                        .insert(question.key, question.ask.into_request());
                }
            }
        }
        if pending {
            Err(InputPending)
        } else {
            Ok(answers)
        }
    }
}

/// Sends every question to a 2025-11-25 client at once and waits for the
/// answers, within the call's deadline and cancellation.
async fn ask_session(
    peer: &Peer<RoleServer>,
    questions: Vec<Question>,
    deadline: Instant,
    cancel: &CancellationToken,
) -> Vec<Result<Answer, ToolFailure>> {
    let asks = questions.into_iter().map(|question| async move {
        let kind = question.ask.kind();
        let method = kind.method();
        let sent = peer.send_request(question.ask.into_server_request());
        let answer = tokio::select! {
            answer = tokio::time::timeout_at(deadline.into(), sent) => answer,
            () = cancel.cancelled() => {
                return Err(ToolFailure::new(
                    FailureKind::Cancelled,
                    format!("cancelled while waiting for the client's answer to {method}"),
                ));
            }
        };
        match answer {
            Err(_) => Err(ToolFailure::new(
                FailureKind::Timeout,
                format!("the client did not answer {method} before the call's deadline"),
            )),
            Ok(Err(e)) => Err(ToolFailure::new(
                FailureKind::Failed,
                format!("the client refused {method}: {e}"),
            )),
            Ok(Ok(result)) => serde_json::to_value(&result)
                .map_err(|e| e.to_string())
                .and_then(|value| Answer::parse(kind, value))
                .map_err(|problem| {
                    ToolFailure::new(
                        FailureKind::Failed,
                        format!("the client's answer to {method} is {problem}"),
                    )
                }),
        }
    });
    futures::future::join_all(asks).await
}

/// Answers in the order asked: `settled` has those known up front (a
/// failure) and a gap for each question that was asked, in `asked` order.
pub fn fill_in(
    settled: Vec<Option<Result<Answer, ToolFailure>>>,
    asked: Vec<Result<Answer, ToolFailure>>,
) -> Vec<Result<Answer, ToolFailure>> {
    let mut asked = asked.into_iter();
    settled
        .into_iter()
        .map(|answer| {
            answer.unwrap_or_else(|| {
                asked.next().unwrap_or_else(|| {
                    Err(ToolFailure::new(
                        FailureKind::Failed,
                        "question not answered",
                    ))
                })
            })
        })
        .collect()
}

/// The answers a request carries: those of earlier rounds (from its
/// verified `requestState`) under the ones it sends now.
pub fn merge_answers(carried: InputResponses, sent: Option<InputResponses>) -> InputResponses {
    let mut answers = carried;
    answers.extend(sent.unwrap_or_default());
    answers
}

//! An upstream's questions for the client of the call it serves, however
//! they come: as 2025-11-25 requests during the call
//! ([`super::connection`]) or in a 2026-07-28 `input_required` result
//! ([`super::Upstream`]'s call loop). Each kind needs the admin's grant;
//! granted ones go to the client through the dispatcher, audited like a
//! plugin's, in the client's era.

// Sampling and roots are deprecated by SEP-2577, yet part of both eras.
#![allow(deprecated)]

use rmcp::model::{InputRequest, InputRequests, InputResponses};

use crate::client_input::{Answer, Ask, InputPending, Question, fill_in};
use crate::config::ClientRequestGrants;
use crate::dispatch::{CallScope, Caller};
use crate::provider::{FailureKind, ToolFailure};

/// Asks the client of `scope` `questions` for upstream `upstream`: the
/// ungranted ones fail on their own (named and audited), the rest go to the
/// client. `Err`: the client answers in its next request (2026-07-28).
pub async fn ask_client(
    upstream: &str,
    grants: ClientRequestGrants,
    questions: Vec<Question>,
    scope: &CallScope,
) -> Result<Vec<Result<Answer, ToolFailure>>, InputPending> {
    let caller = Caller::Upstream(upstream.to_owned());
    let mut settled = Vec::with_capacity(questions.len());
    let mut to_ask = Vec::new();
    for question in questions {
        let kind = question.ask.kind();
        if grants.allows(kind) {
            settled.push(None);
            to_ask.push(question);
            continue;
        }
        let failure = ToolFailure::new(
            FailureKind::Denied,
            format!(
                "upstream `{upstream}` may not send {}: grant it with `grants.{} = true` in [upstreams.{upstream}]",
                kind.method(),
                kind.as_str(),
            ),
        );
        scope
            .dispatcher
            .audit_refused(&caller, kind.method(), &failure, &scope.trace);
        settled.push(Some(Err(failure)));
    }
    let asked = if to_ask.is_empty() {
        Vec::new()
    } else {
        scope.dispatcher.ask_client(&caller, to_ask, scope).await?
    };
    Ok(fill_in(settled, asked))
}

/// The questions of an upstream's `input_required` result, keyed
/// `<upstream>.<its key>` for the client (so two upstreams' keys never
/// meet), in key order.
pub fn questions_of(upstream: &str, requests: InputRequests) -> Vec<(String, Question)> {
    requests
        .into_iter()
        .filter_map(|(key, request)| {
            let ask = match request {
                InputRequest::CreateMessage(request) => Ask::Sampling(request.params),
                InputRequest::Elicitation(request) => Ask::Elicitation(request.params),
                InputRequest::ListRoots(_) => Ask::Roots,
                // `InputRequest` is non-exhaustive: a kind this host does
                // not know gets no answer, and the upstream says what it
                // makes of that.
                _ => return None,
            };
            let question = Question {
                key: format!("{upstream}.{key}"),
                ask,
            };
            Some((key, question))
        })
        .collect()
}

/// The responses to send the upstream: each answered question's result
/// under the upstream's own key. A question that failed gets no response;
/// `Err` names the first failure when nothing was answered at all.
pub fn responses_of(
    keys: Vec<String>,
    answers: Vec<Result<Answer, ToolFailure>>,
) -> Result<InputResponses, ToolFailure> {
    let mut responses = InputResponses::new();
    let mut first_failure = None;
    for (key, answer) in keys.into_iter().zip(answers) {
        let value = match answer {
            Ok(Answer::Sampling(result)) => serde_json::to_value(result),
            Ok(Answer::Elicitation(result)) => serde_json::to_value(result),
            Ok(Answer::Roots(result)) => serde_json::to_value(result),
            Err(failure) => {
                first_failure.get_or_insert(failure);
                continue;
            }
        };
        match value {
            Ok(value) => {
                responses.insert(key, value);
            }
            Err(e) => {
                first_failure.get_or_insert(ToolFailure::new(
                    FailureKind::Failed,
                    format!("the client's answer to `{key}` does not serialize: {e}"),
                ));
            }
        }
    }
    match first_failure {
        Some(failure) if responses.is_empty() => Err(failure),
        _ => Ok(responses),
    }
}

#[cfg(test)]
mod tests {
    use rmcp::model::{ElicitResult, ElicitationAction, ListRootsRequest, ListRootsResult, Root};

    use super::*;

    #[test]
    fn questions_are_namespaced_and_answers_go_back_under_the_upstreams_keys() {
        let mut requests = InputRequests::new();
        requests.insert(
            "where".into(),
            InputRequest::ListRoots(ListRootsRequest {
                method: Default::default(),
                extensions: Default::default(),
            }),
        );
        let questions = questions_of("up", requests);
        assert_eq!(questions.len(), 1);
        assert_eq!(questions[0].0, "where");
        assert_eq!(questions[0].1.key, "up.where");
        assert!(matches!(questions[0].1.ask, Ask::Roots));

        let roots = ListRootsResult::new(vec![Root::new("file:///w")]);
        let responses =
            responses_of(vec!["where".into()], vec![Ok(Answer::Roots(roots))]).expect("answered");
        assert_eq!(responses["where"]["roots"][0]["uri"], "file:///w");
    }

    #[test]
    fn failures_leave_a_key_unanswered_or_fail_the_call_when_nothing_was_answered() {
        let denied = || ToolFailure::new(FailureKind::Denied, "not granted");
        let accepted = Answer::Elicitation(ElicitResult::new(ElicitationAction::Accept));
        let some = responses_of(
            vec!["a".into(), "b".into()],
            vec![Err(denied()), Ok(accepted)],
        )
        .expect("one answer");
        assert_eq!(some.keys().collect::<Vec<_>>(), ["b"]);
        let none = responses_of(vec!["a".into()], vec![Err(denied())]).expect_err("none");
        assert_eq!(none.kind, FailureKind::Denied);
    }
}

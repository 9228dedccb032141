//! Asking the client of the request for input: a completion from its model
//! ([`Sampling`]), an answer from its user ([`Context::elicit`]), or its
//! roots ([`Context::roots`]).
//!
//! Each kind needs its grant in the host's config (`grants.sampling`,
//! `grants.elicitation`, `grants.roots`) and a client that declared the
//! capability; otherwise the question fails with a [`ToolError`] saying
//! which.
//!
//! A 2026-07-28 client is stateless, so the host cannot ask it mid-call:
//! the first question ends the run, the client is asked, and the request
//! runs again from the start with the answer. Two things follow for plugin
//! code: ask what one step needs together ([`Context::ask`]), not one
//! question after another's answer where it can be avoided, and do nothing
//! before a question that must not happen twice (the run before the answer
//! is thrown away, but what it sent elsewhere is not).
//!
//! ```no_run
//! # use switchboard_sdk::{Context, Elicited, Sampling, ToolError};
//! # use switchboard_sdk::schemars::JsonSchema;
//! # use switchboard_sdk::serde::Deserialize;
//! #[derive(Deserialize, JsonSchema)]
//! struct Confirm {
//!     /// Delete it?
//!     ok: bool,
//! }
//!
//! # fn run(cx: &Context) -> Result<String, ToolError> {
//! // One question.
//! match cx.elicit::<Confirm>("Delete note `groceries`?")? {
//!     Elicited::Accepted(Confirm { ok: true }) => {}
//!     _ => return Ok("kept".into()),
//! }
//! // Several at once, each under a key of your choice.
//! let mut ask = cx.ask();
//! let summary = ask.sample("summary", Sampling::new("Summarise: ...").max_tokens(200));
//! let roots = ask.roots("roots");
//! let mut answers = ask.send();
//! let summary = answers.take(summary)?;
//! let roots = answers.take(roots)?;
//! Ok(format!("{} ({} roots)", summary.text().unwrap_or(""), roots.len()))
//! # }
//! ```

use std::marker::PhantomData;

use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::{Content, Context, Role, ToolError, input_schema_for};

/// One question for the client, as the host carries it.
#[derive(Clone, Debug, PartialEq)]
pub enum Question {
    /// MCP `sampling/createMessage`.
    Sampling(Sampling),
    /// MCP `elicitation/create`.
    Elicitation(Elicitation),
    /// MCP `roots/list`.
    Roots,
}

/// The client's answer, of its question's kind.
#[derive(Clone, Debug, PartialEq)]
pub enum Answer {
    /// What the model said.
    Sampled(Sampled),
    /// What the user did; accepted content as JSON.
    Elicited(Elicited<Value>),
    /// The client's roots.
    Roots(Vec<Root>),
}

/// A request for a completion from the client's model.
#[derive(Clone, Debug, PartialEq)]
pub struct Sampling {
    /// The conversation so far.
    pub messages: Vec<SamplingMessage>,
    /// A system prompt the client may use.
    pub system_prompt: Option<String>,
    /// Most tokens to sample.
    pub max_tokens: u32,
    /// Sampling temperature.
    pub temperature: Option<f64>,
    /// Sequences that end sampling.
    pub stop_sequences: Vec<String>,
    /// Model names to prefer, most preferred first (hints the client may map).
    pub model_hints: Vec<String>,
}

/// One message of a [`Sampling`] conversation.
#[derive(Clone, Debug, PartialEq)]
pub struct SamplingMessage {
    /// Who says it.
    pub role: Role,
    /// Text, image or audio.
    pub content: Vec<Content>,
}

/// What the client's model answered.
#[derive(Clone, Debug, PartialEq)]
pub struct Sampled {
    /// Who said it (the assistant, normally).
    pub role: Role,
    /// Text, image or audio.
    pub content: Vec<Content>,
    /// The model that answered.
    pub model: String,
    /// Why sampling stopped (`endTurn`, `maxTokens`, ...).
    pub stop_reason: Option<String>,
}

/// A question for the client's user.
#[derive(Clone, Debug, PartialEq)]
pub enum Elicitation {
    /// Fill in a form: `schema` is a JSON Schema of a flat object of
    /// primitive fields, as MCP elicitation allows.
    Form {
        /// What the user is asked.
        message: String,
        /// The form.
        schema: Value,
    },
    /// Visit a URL (a sign-in, a payment): the answer carries no content.
    Url {
        /// What the user is asked.
        message: String,
        /// Where to go.
        url: String,
        /// The plugin's id for this interaction.
        id: String,
    },
}

/// What the user did with an elicitation.
#[derive(Clone, Debug, PartialEq)]
pub enum Elicited<T> {
    /// Accepted, with the form's content.
    Accepted(T),
    /// Said no.
    Declined,
    /// Dismissed it without choosing.
    Cancelled,
}

/// A root the client exposes (a folder or other place it works in).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Root {
    /// Its URI, e.g. `file:///home/ada/project`.
    pub uri: String,
    /// A name to show.
    pub name: Option<String>,
}

impl Sampling {
    /// One user message of text; 1000 tokens at most.
    pub fn new(prompt: impl Into<String>) -> Self {
        Self {
            messages: vec![SamplingMessage {
                role: Role::User,
                content: vec![Content::Text(prompt.into())],
            }],
            system_prompt: None,
            max_tokens: 1000,
            temperature: None,
            stop_sequences: Vec::new(),
            model_hints: Vec::new(),
        }
    }

    /// Adds a message to the conversation.
    pub fn message(mut self, role: Role, content: impl Into<Content>) -> Self {
        self.messages.push(SamplingMessage {
            role,
            content: vec![content.into()],
        });
        self
    }

    /// Sets the most tokens to sample.
    pub fn max_tokens(mut self, max_tokens: u32) -> Self {
        self.max_tokens = max_tokens;
        self
    }

    /// Sets the system prompt.
    pub fn system_prompt(mut self, prompt: impl Into<String>) -> Self {
        self.system_prompt = Some(prompt.into());
        self
    }

    /// Sets the temperature.
    pub fn temperature(mut self, temperature: f64) -> Self {
        self.temperature = Some(temperature);
        self
    }

    /// Adds a model name hint (e.g. `claude`), most preferred first.
    pub fn model_hint(mut self, hint: impl Into<String>) -> Self {
        self.model_hints.push(hint.into());
        self
    }
}

impl Sampled {
    /// The first text block, if any.
    pub fn text(&self) -> Option<&str> {
        self.content.iter().find_map(|content| match content {
            Content::Text(text) => Some(text.as_str()),
            _ => None,
        })
    }
}

impl<T> Elicited<T> {
    /// The accepted content, or `None` if the user declined or cancelled.
    pub fn accepted(self) -> Option<T> {
        match self {
            Elicited::Accepted(content) => Some(content),
            Elicited::Declined | Elicited::Cancelled => None,
        }
    }
}

/// The form schema the SDK derives for `T`: its properties as MCP
/// elicitation allows them (an `Option` field is simply not required).
pub fn elicitation_schema_for<T: JsonSchema>() -> Value {
    let mut schema = input_schema_for::<T>();
    if let Some(properties) = schema.get_mut("properties").and_then(Value::as_object_mut) {
        for property in properties.values_mut() {
            unwrap_nullable(property);
        }
    }
    if let Some(fields) = schema.as_object_mut() {
        // Elicitation forms are flat objects; these keywords are not part of them.
        fields.remove("$schema");
        fields.remove("additionalProperties");
    }
    schema
}

/// `{"anyOf": [S, {"type": "null"}], ...}` becomes `S` with the outer
/// keywords (title, description, default) kept.
fn unwrap_nullable(property: &mut Value) {
    let Some(fields) = property.as_object_mut() else {
        return;
    };
    let Some(Value::Array(branches)) = fields.get("anyOf") else {
        return;
    };
    let not_null: Vec<&Value> = branches
        .iter()
        .filter(|branch| branch.get("type").and_then(Value::as_str) != Some("null"))
        .collect();
    let [only] = not_null.as_slice() else {
        return;
    };
    let mut merged = (*only).clone();
    fields.remove("anyOf");
    if let Some(merged_fields) = merged.as_object_mut() {
        for (key, value) in std::mem::take(fields) {
            merged_fields.entry(key).or_insert(value);
        }
    }
    if merged.get("default") == Some(&Value::Null)
        && let Some(merged_fields) = merged.as_object_mut()
    {
        merged_fields.remove("default");
    }
    *property = merged;
}

/// Where an answer will be once [`Questions::send`] returns; read it with
/// [`Answers::take`].
#[derive(Debug)]
pub struct Ticket<T> {
    index: usize,
    read: fn(Answer) -> Result<T, ToolError>,
    _answer: PhantomData<T>,
}

/// Questions to send together (see the [module docs](crate::ask)).
#[derive(Debug)]
pub struct Questions<'a> {
    cx: &'a Context,
    asked: Vec<(String, Question)>,
}

/// The answers to [`Questions`], in order.
#[derive(Debug)]
pub struct Answers(Vec<Option<Result<Answer, ToolError>>>);

impl<'a> Questions<'a> {
    pub(crate) fn new(cx: &'a Context) -> Self {
        Self {
            cx,
            asked: Vec::new(),
        }
    }

    fn push<T>(
        &mut self,
        key: impl Into<String>,
        question: Question,
        read: fn(Answer) -> Result<T, ToolError>,
    ) -> Ticket<T> {
        self.asked.push((key.into(), question));
        Ticket {
            index: self.asked.len() - 1,
            read,
            _answer: PhantomData,
        }
    }

    /// Asks the client's model.
    pub fn sample(&mut self, key: impl Into<String>, request: Sampling) -> Ticket<Sampled> {
        self.push(key, Question::Sampling(request), |answer| match answer {
            Answer::Sampled(sampled) => Ok(sampled),
            other => Err(wrong_kind("sampling", &other)),
        })
    }

    /// Asks the user to fill in the form `T` describes (its schema from
    /// [`elicitation_schema_for`]).
    pub fn elicit<T: DeserializeOwned + JsonSchema>(
        &mut self,
        key: impl Into<String>,
        message: impl Into<String>,
    ) -> Ticket<Elicited<T>> {
        let question = Question::Elicitation(Elicitation::Form {
            message: message.into(),
            schema: elicitation_schema_for::<T>(),
        });
        self.push(key, question, read_elicited::<T>)
    }

    /// Asks the user to fill in a form given as a JSON Schema.
    pub fn elicit_form(
        &mut self,
        key: impl Into<String>,
        message: impl Into<String>,
        schema: Value,
    ) -> Ticket<Elicited<Value>> {
        let question = Question::Elicitation(Elicitation::Form {
            message: message.into(),
            schema,
        });
        self.push(key, question, read_elicited::<Value>)
    }

    /// Sends the user to `url`; `Accepted(())` once they say they are done.
    pub fn visit(
        &mut self,
        key: impl Into<String>,
        message: impl Into<String>,
        url: impl Into<String>,
    ) -> Ticket<Elicited<()>> {
        let key = key.into();
        let question = Question::Elicitation(Elicitation::Url {
            message: message.into(),
            url: url.into(),
            id: key.clone(),
        });
        self.push(key, question, |answer| match answer {
            Answer::Elicited(Elicited::Accepted(_)) => Ok(Elicited::Accepted(())),
            Answer::Elicited(Elicited::Declined) => Ok(Elicited::Declined),
            Answer::Elicited(Elicited::Cancelled) => Ok(Elicited::Cancelled),
            other => Err(wrong_kind("elicitation", &other)),
        })
    }

    /// Asks for the client's roots.
    pub fn roots(&mut self, key: impl Into<String>) -> Ticket<Vec<Root>> {
        self.push(key, Question::Roots, |answer| match answer {
            Answer::Roots(roots) => Ok(roots),
            other => Err(wrong_kind("roots", &other)),
        })
    }

    /// Sends every question and waits for the answers (for a 2026-07-28
    /// client this run ends here until they come; see the module docs).
    pub fn send(self) -> Answers {
        let answers = self.cx.host().ask(self.asked);
        Answers(answers.into_iter().map(Some).collect())
    }
}

impl Answers {
    /// The answer `ticket` stands for, or why there is none.
    pub fn take<T>(&mut self, ticket: Ticket<T>) -> Result<T, ToolError> {
        let answer = self
            .0
            .get_mut(ticket.index)
            .and_then(Option::take)
            .ok_or_else(|| ToolError::failed("this answer was already taken or never asked"))?;
        answer.and_then(ticket.read)
    }
}

fn read_elicited<T: DeserializeOwned>(answer: Answer) -> Result<Elicited<T>, ToolError> {
    match answer {
        Answer::Elicited(Elicited::Accepted(content)) => serde_json::from_value(content)
            .map(Elicited::Accepted)
            .map_err(|e| {
                ToolError::failed(format!("the user's answer does not fit the form: {e}"))
            }),
        Answer::Elicited(Elicited::Declined) => Ok(Elicited::Declined),
        Answer::Elicited(Elicited::Cancelled) => Ok(Elicited::Cancelled),
        other => Err(wrong_kind("elicitation", &other)),
    }
}

fn wrong_kind(expected: &str, got: &Answer) -> ToolError {
    ToolError::failed(format!(
        "the host answered a {expected} question with {got:?}"
    ))
}

impl Context {
    /// Questions to send to the client together, each under its own key.
    pub fn ask(&self) -> Questions<'_> {
        Questions::new(self)
    }

    /// Asks the client's model for a completion.
    pub fn sample(&self, request: Sampling) -> Result<Sampled, ToolError> {
        let mut ask = self.ask();
        let ticket = ask.sample(self.next_key("sampling"), request);
        ask.send().take(ticket)
    }

    /// Asks the user to fill in the form `T` describes.
    pub fn elicit<T: DeserializeOwned + JsonSchema>(
        &self,
        message: impl Into<String>,
    ) -> Result<Elicited<T>, ToolError> {
        let mut ask = self.ask();
        let ticket = ask.elicit::<T>(self.next_key("elicitation"), message);
        ask.send().take(ticket)
    }

    /// The client's roots.
    pub fn roots(&self) -> Result<Vec<Root>, ToolError> {
        let mut ask = self.ask();
        let ticket = ask.roots(self.next_key("roots"));
        ask.send().take(ticket)
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;
    use serde_json::json;

    use super::*;
    use crate::testing::MockHost;

    #[derive(Deserialize, JsonSchema, Debug, PartialEq)]
    struct Profile {
        /// Your name
        name: String,
        age: Option<u32>,
    }

    #[test]
    fn an_option_field_is_a_plain_optional_form_field() {
        let schema = elicitation_schema_for::<Profile>();
        assert_eq!(schema["type"], "object");
        assert_eq!(schema["properties"]["name"]["type"], "string");
        assert_eq!(schema["properties"]["name"]["description"], "Your name");
        assert_eq!(schema["properties"]["age"]["type"], "integer");
        assert!(
            schema["properties"]["age"].get("anyOf").is_none(),
            "{schema}"
        );
        assert_eq!(schema["required"], json!(["name"]));
        assert!(schema.get("$schema").is_none());
    }

    #[test]
    fn single_questions_get_stable_keys_and_typed_answers() {
        let host = MockHost::new()
            .on_question(
                "elicitation-1",
                Ok(Answer::Elicited(Elicited::Accepted(json!({"name": "Ada"})))),
            )
            .on_question(
                "roots-2",
                Ok(Answer::Roots(vec![Root {
                    uri: "file:///a".into(),
                    name: None,
                }])),
            );
        let cx = host.context("t");
        let profile = cx.elicit::<Profile>("Who are you?").expect("answered");
        assert_eq!(
            profile,
            Elicited::Accepted(Profile {
                name: "Ada".into(),
                age: None
            })
        );
        assert_eq!(cx.roots().expect("answered")[0].uri, "file:///a");
        let unanswered = cx
            .sample(Sampling::new("hi"))
            .expect_err("no answer for sampling-3");
        assert!(
            unanswered.to_string().contains("sampling-3"),
            "{unanswered}"
        );
        let keys: Vec<String> = host.questions().into_iter().map(|(key, _)| key).collect();
        assert_eq!(keys, ["elicitation-1", "roots-2", "sampling-3"]);
    }

    #[test]
    fn a_batch_answers_each_ticket_once_and_a_form_that_does_not_fit_fails() {
        let host = MockHost::new()
            .on_question(
                "who",
                Ok(Answer::Elicited(Elicited::Accepted(json!({"name": 7})))),
            )
            .on_question("no", Ok(Answer::Elicited(Elicited::Declined)));
        let cx = host.context("t");
        let mut ask = cx.ask();
        let who = ask.elicit::<Profile>("who", "Who?");
        let no = ask.elicit::<Profile>("no", "Again?");
        let mut answers = ask.send();
        let error = answers.take(who).expect_err("7 is not a name");
        assert!(
            error.to_string().contains("does not fit the form"),
            "{error}"
        );
        assert_eq!(answers.take(no).expect("declined"), Elicited::Declined);
        assert_eq!(host.questions().len(), 2);
    }
}

//! The `requestState` of 2026-07-28 input rounds (SEP-2322): the answers a
//! client gave in earlier rounds, carried by the client and signed by the
//! host, because the client echoes back whatever it likes.
//!
//! A state is `<payload>.<tag>`, both base64url: the payload is JSON (the
//! answers and an expiry), the tag an HMAC-SHA256 over the request it
//! belongs to (caller, method, target, arguments) and the payload. So a
//! state cannot be edited, nor replayed on another request or by another
//! client, nor used after it expires. It is signed, not encrypted: the
//! answers are the client's own.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as BASE64URL;
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};
use rmcp::model::InputResponses;
use serde::{Deserialize, Serialize};

/// Shortest key `server.request_state_keys` accepts.
pub const MIN_KEY_BYTES: usize = 32;

/// How long a client may take to answer a round.
const STATE_TTL: Duration = Duration::from_secs(3600);

/// The host's signing keys: the first signs, every one verifies (so keys
/// rotate without breaking rounds in flight, and replicas share them).
pub struct RequestStates {
    keys: Vec<hmac::Key>,
}

#[derive(Serialize, Deserialize)]
struct Payload {
    /// Seconds since the Unix epoch after which the state is refused.
    expires: u64,
    answers: InputResponses,
}

/// Why an echoed `requestState` was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum StateError {
    #[error("requestState is malformed")]
    Malformed,
    #[error(
        "requestState failed its integrity check (altered, from another request, or signed by another host)"
    )]
    Forged,
    #[error("requestState has expired; send the request again without it")]
    Expired,
}

impl RequestStates {
    /// Keys from config, or a random one for this process when none are
    /// configured (then only this process can open its states).
    pub fn new(configured: &[String]) -> anyhow::Result<Self> {
        let keys = if configured.is_empty() {
            let mut key = [0u8; 32];
            SystemRandom::new()
                .fill(&mut key)
                .map_err(|_| anyhow::anyhow!("no randomness for the requestState key"))?;
            vec![hmac::Key::new(hmac::HMAC_SHA256, &key)]
        } else {
            configured
                .iter()
                .map(|key| hmac::Key::new(hmac::HMAC_SHA256, key.as_bytes()))
                .collect()
        };
        Ok(Self { keys })
    }

    /// The state carrying `answers` for the request `binding` names.
    pub fn seal(&self, binding: &[u8], answers: InputResponses) -> String {
        let expires = now_secs().saturating_add(STATE_TTL.as_secs());
        let payload =
            serde_json::to_vec(&Payload { expires, answers }).expect("JSON values serialize");
        let tag = hmac::sign(&self.keys[0], &signed_bytes(binding, &payload));
        format!(
            "{}.{}",
            BASE64URL.encode(&payload),
            BASE64URL.encode(tag.as_ref())
        )
    }

    /// The answers in `state`, if it is the host's own, for this request,
    /// and not expired.
    pub fn open(&self, binding: &[u8], state: &str) -> Result<InputResponses, StateError> {
        let (payload, tag) = state.split_once('.').ok_or(StateError::Malformed)?;
        let payload = BASE64URL
            .decode(payload)
            .map_err(|_| StateError::Malformed)?;
        let tag = BASE64URL.decode(tag).map_err(|_| StateError::Malformed)?;
        let signed = signed_bytes(binding, &payload);
        if !self
            .keys
            .iter()
            .any(|key| hmac::verify(key, &signed, &tag).is_ok())
        {
            return Err(StateError::Forged);
        }
        let payload: Payload =
            serde_json::from_slice(&payload).map_err(|_| StateError::Malformed)?;
        if payload.expires < now_secs() {
            return Err(StateError::Expired);
        }
        Ok(payload.answers)
    }
}

/// The request a state belongs to, as bytes the tag covers.
pub fn binding(
    caller: &str,
    method: &str,
    target: &str,
    arguments: Option<&serde_json::Map<String, serde_json::Value>>,
) -> Vec<u8> {
    let arguments = arguments
        .and_then(|arguments| serde_json::to_string(arguments).ok())
        .unwrap_or_default();
    [caller, method, target, &arguments].join("\n").into_bytes()
}

fn signed_bytes(binding: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(binding.len() + 1 + payload.len());
    bytes.extend_from_slice(binding);
    // The binding's length, so no split of binding and payload collides.
    bytes.extend_from_slice(&(binding.len() as u64).to_be_bytes());
    bytes.extend_from_slice(payload);
    bytes
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answers() -> InputResponses {
        let mut answers = InputResponses::new();
        answers.insert(
            "user_name".into(),
            serde_json::json!({"action": "accept", "content": {"name": "Ada"}}),
        );
        answers
    }

    #[test]
    fn a_sealed_state_opens_for_its_own_request_only() {
        let states = RequestStates::new(&[]).expect("a key");
        let request = binding("local", "tools/call", "fx_greet", None);
        let state = states.seal(&request, answers());
        assert_eq!(states.open(&request, &state), Ok(answers()));
        let other = binding("local", "tools/call", "fx_other", None);
        assert_eq!(states.open(&other, &state), Err(StateError::Forged));
        let other_client = binding("alice", "tools/call", "fx_greet", None);
        assert_eq!(states.open(&other_client, &state), Err(StateError::Forged));
    }

    #[test]
    fn an_altered_state_is_refused() {
        let states = RequestStates::new(&[]).expect("a key");
        let request = binding("local", "tools/call", "fx_greet", None);
        let state = states.seal(&request, answers());
        let (payload, tag) = state.split_once('.').expect("two parts");
        let mut forged = BASE64URL.decode(payload).expect("base64");
        let at = forged.iter().position(|b| *b == b'A').expect("an A in Ada");
        forged[at] = b'B';
        let forged = format!("{}.{tag}", BASE64URL.encode(&forged));
        assert_eq!(states.open(&request, &forged), Err(StateError::Forged));
        assert_eq!(
            states.open(&request, "nonsense"),
            Err(StateError::Malformed)
        );
    }

    #[test]
    fn replicas_sharing_keys_open_each_others_states_and_old_keys_still_verify() {
        let old = "an-old-key-that-is-at-least-32-bytes-long".to_owned();
        let new = "a-new-key-that-is-at-least-32-bytes-long!".to_owned();
        let before = RequestStates::new(std::slice::from_ref(&old)).expect("keys");
        let after = RequestStates::new(&[new, old]).expect("keys");
        let request = binding("local", "prompts/get", "fx_prompt", None);
        let state = before.seal(&request, answers());
        assert_eq!(after.open(&request, &state), Ok(answers()));
        let stranger = RequestStates::new(&[]).expect("a key");
        assert_eq!(stranger.open(&request, &state), Err(StateError::Forged));
    }
}

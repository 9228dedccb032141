//! `codec-tools`: hashes, encodings, UUIDs and JWT inspection as a
//! Switchboard plugin.
//!
//! Tools: `hash`, `encode`, `decode`, `uuid_v4`, `jwt_decode`. All but
//! `uuid_v4` are pure computations; `uuid_v4` reads WASI randomness, so it is
//! read-only but not idempotent.
//!
//! Build: `cargo build --target wasm32-wasip2 --release -p codec-tools`
//! (writes `codec_tools.wasm`).

use base64::Engine as _;
use base64::engine::general_purpose::{
    STANDARD, STANDARD_NO_PAD, STANDARD_PAD_INDIFFERENT, URL_SAFE, URL_SAFE_NO_PAD,
    URL_SAFE_PAD_INDIFFERENT,
};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode, percent_encode};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::Digest as _;
use switchboard_sdk::{Context, Json, Plugin, Tool, ToolError, ToolSet, export_plugin};

/// The plugin.
pub struct CodecTools;

impl Plugin for CodecTools {
    fn tools() -> ToolSet {
        ToolSet::new()
            .tool(
                Tool::new(
                    "hash",
                    "Hash text or bytes with SHA-256 (default), SHA-384, SHA-512, SHA-1 or MD5 \
                     and return the digest in hex (default) or base64. SHA-1 and MD5 are for \
                     checksums and legacy systems only, not for security.",
                    hash,
                )
                .title("Hash")
                .pure(),
            )
            .tool(
                Tool::new(
                    "encode",
                    "Encode text (or bytes given as hex/base64) as base64, base64url, hex, URL \
                     percent-encoding or HTML form encoding. Also converts between byte \
                     formats, e.g. hex to base64.",
                    encode,
                )
                .title("Encode")
                .pure(),
            )
            .tool(
                Tool::new(
                    "decode",
                    "Decode base64, base64url, hex, URL percent-encoding or HTML form encoding \
                     into text (UTF-8, default) or bytes shown as hex or base64. Base64 input may \
                     use either alphabet, with or without padding; whitespace is ignored.",
                    decode,
                )
                .title("Decode")
                .pure(),
            )
            .tool(
                Tool::new(
                    "uuid_v4",
                    "Generate random (version 4) UUIDs, one per line.",
                    uuid_v4,
                )
                .title("Random UUID")
                .read_only()
                .open_world(false),
            )
            .tool(
                Tool::new(
                    "jwt_decode",
                    "Decode a JSON Web Token's header and payload WITHOUT verifying its \
                     signature (for inspection only). Standard time claims (exp, iat, nbf) are \
                     also shown as UTC dates.",
                    jwt_decode,
                )
                .title("Decode JWT")
                .pure(),
            )
    }
}

export_plugin!(CodecTools);

// ------------------------------------------------------------- byte formats

/// How bytes are written as text.
#[derive(Clone, Copy, Debug, Default, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ByteFormat {
    /// UTF-8 text.
    #[default]
    Utf8,
    /// Hexadecimal (whitespace and a leading "0x" are ignored on input).
    Hex,
    /// Base64, either alphabet, padding optional (on output: standard, padded).
    Base64,
}

fn read_bytes(text: &str, format: ByteFormat, field: &str) -> Result<Vec<u8>, ToolError> {
    match format {
        ByteFormat::Utf8 => Ok(text.as_bytes().to_vec()),
        ByteFormat::Hex => {
            hex_decode(text).map_err(|e| ToolError::invalid_arguments(format!("`{field}`: {e}")))
        }
        ByteFormat::Base64 => {
            base64_decode(text).map_err(|e| ToolError::invalid_arguments(format!("`{field}`: {e}")))
        }
    }
}

fn write_bytes(bytes: Vec<u8>, format: ByteFormat) -> Result<String, ToolError> {
    match format {
        ByteFormat::Utf8 => String::from_utf8(bytes).map_err(|_| {
            ToolError::invalid_arguments(
                "the decoded bytes are not valid UTF-8 text; set `to` to \"hex\" or \"base64\" to see them",
            )
        }),
        ByteFormat::Hex => Ok(hex_encode(&bytes, false)),
        ByteFormat::Base64 => Ok(STANDARD.encode(bytes)),
    }
}

fn hex_encode(bytes: &[u8], uppercase: bool) -> String {
    let digits = if uppercase {
        b"0123456789ABCDEF"
    } else {
        b"0123456789abcdef"
    };
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(digits[usize::from(b >> 4)]));
        out.push(char::from(digits[usize::from(b & 0x0f)]));
    }
    out
}

fn hex_decode(text: &str) -> Result<Vec<u8>, String> {
    let trimmed = text.trim();
    let body = trimmed
        .strip_prefix("0x")
        .or_else(|| trimmed.strip_prefix("0X"))
        .unwrap_or(trimmed);
    let mut nibbles = Vec::with_capacity(body.len());
    for (i, c) in body.chars().enumerate() {
        if c.is_whitespace() {
            continue;
        }
        match c.to_digit(16) {
            // A hex digit is below 16: the cast cannot truncate.
            Some(d) => nibbles.push(d as u8),
            None => return Err(format!("invalid hex digit {c:?} at position {i}")),
        }
    }
    if nibbles.len() % 2 != 0 {
        return Err(format!(
            "hex needs an even number of digits, got {}",
            nibbles.len()
        ));
    }
    Ok(nibbles.chunks(2).map(|p| (p[0] << 4) | p[1]).collect())
}

fn base64_decode(text: &str) -> Result<Vec<u8>, String> {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let url_safe = compact.contains(['-', '_']);
    let engine = if url_safe {
        URL_SAFE_PAD_INDIFFERENT
    } else {
        STANDARD_PAD_INDIFFERENT
    };
    engine
        .decode(compact.as_bytes())
        .map_err(|e| format!("invalid base64: {e}"))
}

// ---------------------------------------------------------------------- hash

/// Hash algorithms.
#[derive(Clone, Copy, Debug, Default, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Algorithm {
    /// SHA-256 (default).
    #[default]
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
    /// SHA-1 (legacy; not collision resistant).
    Sha1,
    /// MD5 (legacy; not collision resistant).
    Md5,
}

/// How a digest is written.
#[derive(Clone, Copy, Debug, Default, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum DigestFormat {
    /// Lowercase hexadecimal (default).
    #[default]
    Hex,
    /// Standard base64 with padding.
    Base64,
}

/// Arguments of `hash`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HashArgs {
    /// The data to hash.
    pub input: String,
    /// How `input` is written (default utf8: hash the text's UTF-8 bytes).
    #[serde(default)]
    pub input_format: Option<ByteFormat>,
    /// The algorithm (default sha256).
    #[serde(default)]
    pub algorithm: Option<Algorithm>,
    /// How to write the digest (default hex).
    #[serde(default)]
    pub output_format: Option<DigestFormat>,
}

/// Hash data.
pub fn hash(args: HashArgs, _cx: &Context) -> Result<String, ToolError> {
    let data = read_bytes(&args.input, args.input_format.unwrap_or_default(), "input")?;
    let digest = digest(args.algorithm.unwrap_or_default(), &data);
    Ok(match args.output_format.unwrap_or_default() {
        DigestFormat::Hex => hex_encode(&digest, false),
        DigestFormat::Base64 => STANDARD.encode(digest),
    })
}

fn digest(algorithm: Algorithm, data: &[u8]) -> Vec<u8> {
    match algorithm {
        Algorithm::Sha256 => sha2::Sha256::digest(data).to_vec(),
        Algorithm::Sha384 => sha2::Sha384::digest(data).to_vec(),
        Algorithm::Sha512 => sha2::Sha512::digest(data).to_vec(),
        Algorithm::Sha1 => sha1::Sha1::digest(data).to_vec(),
        Algorithm::Md5 => md5::Md5::digest(data).to_vec(),
    }
}

// ----------------------------------------------------------- encode / decode

/// Text encodings for `encode` and `decode`.
#[derive(Clone, Copy, Debug, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Scheme {
    /// Base64, standard alphabet (RFC 4648 §4); padded unless `padding` is false.
    Base64,
    /// Base64 with the URL-safe alphabet (RFC 4648 §5); unpadded unless
    /// `padding` is true.
    Base64url,
    /// Hexadecimal, lowercase unless `uppercase` is true.
    Hex,
    /// URL percent-encoding of a component: everything but A-Z a-z 0-9 - . _ ~
    /// is escaped.
    Url,
    /// HTML form encoding (application/x-www-form-urlencoded): like `url`,
    /// with spaces as "+".
    Form,
}

/// Arguments of `encode`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EncodeArgs {
    /// The data to encode.
    pub input: String,
    /// The encoding to produce.
    pub to: Scheme,
    /// How `input` is written (default utf8). Use hex or base64 to encode
    /// raw bytes, e.g. to convert hex to base64.
    #[serde(default)]
    pub input_format: Option<ByteFormat>,
    /// Base64 padding with "=" (default: true for base64, false for
    /// base64url).
    #[serde(default)]
    pub padding: Option<bool>,
    /// Uppercase hex digits (default false).
    #[serde(default)]
    pub uppercase: Option<bool>,
}

// Unreserved characters (RFC 3986 §2.3) stay; everything else is escaped.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');
const FORM: &AsciiSet = &COMPONENT.add(b'~').remove(b'*');

/// Encode data.
pub fn encode(args: EncodeArgs, _cx: &Context) -> Result<String, ToolError> {
    let format = args.input_format.unwrap_or_default();
    let bytes = read_bytes(&args.input, format, "input")?;
    Ok(match args.to {
        Scheme::Base64 if args.padding.unwrap_or(true) => STANDARD.encode(bytes),
        Scheme::Base64 => STANDARD_NO_PAD.encode(bytes),
        Scheme::Base64url if args.padding.unwrap_or(false) => URL_SAFE.encode(bytes),
        Scheme::Base64url => URL_SAFE_NO_PAD.encode(bytes),
        Scheme::Hex => hex_encode(&bytes, args.uppercase.unwrap_or(false)),
        Scheme::Url | Scheme::Form => {
            let set = if args.to == Scheme::Url {
                COMPONENT
            } else {
                FORM
            };
            let encoded = percent_encode(&bytes, set).to_string();
            if args.to == Scheme::Form {
                // `FORM` escapes spaces as %20; forms write them as "+".
                encoded.replace("%20", "+")
            } else {
                encoded
            }
        }
    })
}

/// Arguments of `decode`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DecodeArgs {
    /// The encoded text.
    pub input: String,
    /// The encoding `input` is in.
    pub from: Scheme,
    /// How to show the decoded bytes (default utf8 text).
    #[serde(default)]
    pub to: Option<ByteFormat>,
}

/// Decode data.
pub fn decode(args: DecodeArgs, _cx: &Context) -> Result<String, ToolError> {
    let invalid = |e: String| ToolError::invalid_arguments(format!("`input`: {e}"));
    let bytes = match args.from {
        Scheme::Base64 | Scheme::Base64url => base64_decode(&args.input).map_err(invalid)?,
        Scheme::Hex => hex_decode(&args.input).map_err(invalid)?,
        Scheme::Url => percent_decode(args.input.as_bytes()).collect(),
        Scheme::Form => percent_decode(args.input.replace('+', " ").as_bytes()).collect(),
    };
    write_bytes(bytes, args.to.unwrap_or_default())
}

// ------------------------------------------------------------------- uuid_v4

/// Arguments of `uuid_v4`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UuidArgs {
    /// How many UUIDs, 1 to 100 (default 1).
    #[serde(default)]
    pub count: Option<u32>,
    /// Uppercase hex digits (default false).
    #[serde(default)]
    pub uppercase: Option<bool>,
}

/// Generate random UUIDs.
pub fn uuid_v4(args: UuidArgs, _cx: &Context) -> Result<String, ToolError> {
    let count = args.count.unwrap_or(1);
    if !(1..=100).contains(&count) {
        return Err(ToolError::invalid_arguments(
            "`count` must be between 1 and 100",
        ));
    }
    let mut lines = Vec::new();
    for _ in 0..count {
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes)
            .map_err(|e| ToolError::failed(format!("no randomness available: {e}")))?;
        lines.push(format_uuid(bytes, args.uppercase.unwrap_or(false)));
    }
    Ok(lines.join("\n"))
}

/// Set the version (4) and variant (RFC 9562) bits and format.
fn format_uuid(mut bytes: [u8; 16], uppercase: bool) -> String {
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex = hex_encode(&bytes, uppercase);
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

// ---------------------------------------------------------------- jwt_decode

/// Arguments of `jwt_decode`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JwtArgs {
    /// The token (`header.payload.signature`); a leading "Bearer " is ignored.
    pub token: String,
}

/// What `jwt_decode` returns.
#[derive(Debug, PartialEq, Serialize, JsonSchema)]
pub struct DecodedJwt {
    /// The JOSE header (e.g. `alg`, `typ`, `kid`).
    pub header: Value,
    /// The claims.
    pub payload: Value,
    /// Whether the token has a non-empty signature part. It is NOT verified.
    pub signed: bool,
    /// `exp` as an ISO 8601 UTC date, when present and numeric.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    /// `iat` as an ISO 8601 UTC date, when present and numeric.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issued_at: Option<String>,
    /// `nbf` as an ISO 8601 UTC date, when present and numeric.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_before: Option<String>,
}

/// Decode a JWT without verifying it.
pub fn jwt_decode(args: JwtArgs, _cx: &Context) -> Result<Json<DecodedJwt>, ToolError> {
    let token = args.token.trim();
    let token = token.strip_prefix("Bearer ").unwrap_or(token).trim();
    let parts: Vec<&str> = token.split('.').collect();
    if parts.len() != 3 {
        return Err(ToolError::invalid_arguments(format!(
            "a JWT has 3 dot-separated parts (header.payload.signature); this has {}",
            parts.len()
        )));
    }
    let part = |index: usize, name: &str| -> Result<Value, ToolError> {
        let bytes = URL_SAFE_PAD_INDIFFERENT.decode(parts[index]).map_err(|e| {
            ToolError::invalid_arguments(format!("the {name} is not base64url: {e}"))
        })?;
        serde_json::from_slice(&bytes)
            .map_err(|e| ToolError::invalid_arguments(format!("the {name} is not JSON: {e}")))
    };
    let header = part(0, "header")?;
    let payload = part(1, "payload")?;
    let date = |claim: &str| {
        payload
            .get(claim)
            .and_then(Value::as_f64)
            .and_then(iso_date)
    };
    Ok(Json(DecodedJwt {
        expires_at: date("exp"),
        issued_at: date("iat"),
        not_before: date("nbf"),
        signed: !parts[2].is_empty(),
        header,
        payload,
    }))
}

/// Seconds since the Unix epoch as `YYYY-MM-DDTHH:MM:SSZ` (years 0..=9999).
fn iso_date(seconds: f64) -> Option<String> {
    // 253402300799 = 9999-12-31T23:59:59Z.
    if !seconds.is_finite() || !(-62_167_219_200.0..=253_402_300_799.0).contains(&seconds) {
        return None;
    }
    // In range (checked above), so the cast is exact enough and cannot overflow.
    let seconds = seconds.floor() as i64;
    let days = seconds.div_euclid(86_400);
    let secs = seconds.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    Some(format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use switchboard_sdk::CallResult;
    use switchboard_sdk::testing::MockHost;

    fn call(tool: &str, args: Value) -> Result<CallResult, ToolError> {
        CodecTools::tools().call_json(tool, &args, &MockHost::new().context(tool))
    }

    fn text(tool: &str, args: Value) -> String {
        match call(tool, args) {
            Ok(r) => r.first_text().unwrap_or_default().to_owned(),
            Err(e) => panic!("{tool}: {e}"),
        }
    }

    fn invalid(tool: &str, args: Value) -> String {
        match call(tool, args) {
            Err(ToolError::InvalidArguments(m)) => m,
            other => panic!("{tool}: expected invalid arguments, got {other:?}"),
        }
    }

    #[test]
    fn lists_tools_with_object_schemas() {
        let tools = CodecTools::tools().list();
        let names: Vec<_> = tools.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["hash", "encode", "decode", "uuid_v4", "jwt_decode"]);
        for t in &tools {
            assert_eq!(t.input_schema["type"], "object", "{}", t.name);
        }
        assert_eq!(tools[3].annotations.and_then(|a| a.idempotent), None);
        assert_eq!(tools[0].annotations.and_then(|a| a.idempotent), Some(true));
    }

    #[test]
    fn hashes_match_known_vectors() {
        let cases = [
            (
                "sha256",
                "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
            ),
            ("sha1", "a9993e364706816aba3e25717850c26c9cd0d89d"),
            ("md5", "900150983cd24fb0d6963f7d28e17f72"),
            (
                "sha384",
                "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7",
            ),
            (
                "sha512",
                "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
            ),
        ];
        for (algorithm, want) in cases {
            assert_eq!(
                text("hash", json!({"input": "abc", "algorithm": algorithm})),
                want
            );
        }
        assert_eq!(
            text(
                "hash",
                json!({"input": "616263", "input_format": "hex", "output_format": "base64"})
            ),
            "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0="
        );
        assert!(
            invalid("hash", json!({"input": "abc", "input_format": "hex"})).contains("even number")
        );
        assert!(
            invalid("hash", json!({"input": "x", "algorithm": "crc32"}))
                .contains("unknown variant")
        );
    }

    #[test]
    fn encoding() {
        let e = |args: Value| text("encode", args);
        assert_eq!(e(json!({"input": "hi?>", "to": "base64"})), "aGk/Pg==");
        assert_eq!(
            e(json!({"input": "hi?>", "to": "base64", "padding": false})),
            "aGk/Pg"
        );
        assert_eq!(e(json!({"input": "hi?>", "to": "base64url"})), "aGk_Pg");
        assert_eq!(
            e(json!({"input": "hi?>", "to": "base64url", "padding": true})),
            "aGk_Pg=="
        );
        assert_eq!(e(json!({"input": "Hi", "to": "hex"})), "4869");
        assert_eq!(
            e(json!({"input": "\u{ff}", "to": "hex", "uppercase": true})),
            "C3BF"
        );
        assert_eq!(
            e(json!({"input": "a b&c=d/é~*", "to": "url"})),
            "a%20b%26c%3Dd%2F%C3%A9~%2A"
        );
        assert_eq!(
            e(json!({"input": "a b&c=d/é~*", "to": "form"})),
            "a+b%26c%3Dd%2F%C3%A9%7E*"
        );
        assert_eq!(
            e(json!({"input": "0xDEAD beef", "input_format": "hex", "to": "base64"})),
            "3q2+7w=="
        );
        assert!(
            invalid(
                "encode",
                json!({"input": "zz", "input_format": "hex", "to": "base64"})
            )
            .contains("invalid hex digit")
        );
    }

    #[test]
    fn decoding() {
        let d = |args: Value| text("decode", args);
        assert_eq!(d(json!({"input": "aGk/Pg==", "from": "base64"})), "hi?>");
        assert_eq!(d(json!({"input": "aGk_Pg", "from": "base64"})), "hi?>");
        assert_eq!(
            d(json!({"input": " aGk/\nPg ", "from": "base64url"})),
            "hi?>"
        );
        assert_eq!(d(json!({"input": "4869", "from": "hex"})), "Hi");
        assert_eq!(
            d(json!({"input": "a%20b%26c%3Dd%2F%C3%A9", "from": "url"})),
            "a b&c=d/é"
        );
        assert_eq!(d(json!({"input": "a+b%2Bc", "from": "form"})), "a b+c");
        assert_eq!(d(json!({"input": "a+b", "from": "url"})), "a+b");
        assert_eq!(
            d(json!({"input": "/w==", "from": "base64", "to": "hex"})),
            "ff"
        );
        assert_eq!(
            d(json!({"input": "ff", "from": "hex", "to": "base64"})),
            "/w=="
        );
        assert!(
            invalid("decode", json!({"input": "/w==", "from": "base64"}))
                .contains("not valid UTF-8")
        );
        assert!(
            invalid("decode", json!({"input": "a$b", "from": "base64"})).contains("invalid base64")
        );
    }

    #[test]
    fn uuids() {
        assert_eq!(
            format_uuid([0; 16], false),
            "00000000-0000-4000-8000-000000000000"
        );
        assert_eq!(
            format_uuid([0xff; 16], true),
            "FFFFFFFF-FFFF-4FFF-BFFF-FFFFFFFFFFFF"
        );
        let out = text("uuid_v4", json!({"count": 3}));
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 3);
        for l in &lines {
            assert_eq!(l.len(), 36);
            assert_eq!(&l[14..15], "4");
        }
        assert_ne!(lines[0], lines[1]);
        assert_eq!(text("uuid_v4", json!({})).len(), 36);
        assert!(invalid("uuid_v4", json!({"count": 0})).contains("between 1 and 100"));
    }

    #[test]
    fn jwts() {
        // From RFC 7519 §3.1 (signature truncated: it is not checked).
        let token = "Bearer eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.\
                     eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.\
                     dBjftJeZ4CVP";
        let r = call("jwt_decode", json!({"token": token})).expect("ok");
        assert_eq!(
            r.structured_content,
            Some(json!({
                "header": {"typ": "JWT", "alg": "HS256"},
                "payload": {"iss": "joe", "exp": 1300819380, "http://example.com/is_root": true},
                "signed": true,
                "expires_at": "2011-03-22T18:43:00Z"
            }))
        );
        assert!(invalid("jwt_decode", json!({"token": "abc"})).contains("3 dot-separated parts"));
        assert!(invalid("jwt_decode", json!({"token": "a.b.c"})).contains("header"));
    }

    #[test]
    fn dates() {
        assert_eq!(iso_date(0.0).as_deref(), Some("1970-01-01T00:00:00Z"));
        assert_eq!(
            iso_date(951_782_400.0).as_deref(),
            Some("2000-02-29T00:00:00Z")
        );
        assert_eq!(iso_date(-1.0).as_deref(), Some("1969-12-31T23:59:59Z"));
        assert_eq!(
            iso_date(253_402_300_799.0).as_deref(),
            Some("9999-12-31T23:59:59Z")
        );
        assert_eq!(iso_date(1e20), None);
        assert_eq!(iso_date(f64::NAN), None);
    }
}

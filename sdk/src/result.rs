//! [`CallResult`] and its content blocks: what a tool produced.

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::ToolError;

/// What a tool produced: content blocks, optional structured content, and
/// whether it is an error the model should see.
///
/// Most tools never build one: they return a `String` or a [`Json`](crate::Json)
/// and the SDK does it. Build one for full control:
///
/// ```
/// use switchboard_sdk::{CallResult, ResourceLink};
///
/// let result = CallResult::text("Rendered 3 pages")
///     .with_image(vec![0x89, b'P', b'N', b'G'], "image/png")
///     .with_resource_link(ResourceLink::new("file:///out/report.pdf", "report.pdf")
///         .mime_type("application/pdf"))
///     .with_structured(serde_json::json!({ "pages": 3 }));
/// assert_eq!(result.content.len(), 3);
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CallResult {
    /// Content blocks, in order.
    pub content: Vec<Content>,
    /// Structured content (a JSON object) matching the tool's output schema.
    pub structured_content: Option<Value>,
    /// A failure the model should see and may act on.
    pub is_error: bool,
}

/// One content block of a [`CallResult`].
#[derive(Clone, Debug, PartialEq)]
pub enum Content {
    /// Plain text.
    Text(String),
    /// Image bytes; the host base64-encodes them for clients.
    Image {
        /// Raw bytes.
        data: Vec<u8>,
        /// E.g. `image/png`.
        mime_type: String,
    },
    /// Audio bytes; the host base64-encodes them for clients.
    Audio {
        /// Raw bytes.
        data: Vec<u8>,
        /// E.g. `audio/wav`.
        mime_type: String,
    },
    /// A resource embedded in the result.
    Resource(EmbeddedResource),
    /// A link to a resource the client may read elsewhere.
    ResourceLink(ResourceLink),
}

/// A resource embedded in a result.
#[derive(Clone, Debug, PartialEq)]
pub struct EmbeddedResource {
    /// The resource's URI.
    pub uri: String,
    /// Its MIME type, if known.
    pub mime_type: Option<String>,
    /// Text or bytes.
    pub contents: ResourceContents,
}

/// The contents of an [`EmbeddedResource`].
#[derive(Clone, Debug, PartialEq)]
pub enum ResourceContents {
    /// Text contents.
    Text(String),
    /// Binary contents (base64-encoded by the host).
    Blob(Vec<u8>),
}

impl From<String> for ResourceContents {
    fn from(text: String) -> Self {
        ResourceContents::Text(text)
    }
}

impl From<&str> for ResourceContents {
    fn from(text: &str) -> Self {
        ResourceContents::Text(text.to_owned())
    }
}

impl From<Vec<u8>> for ResourceContents {
    fn from(bytes: Vec<u8>) -> Self {
        ResourceContents::Blob(bytes)
    }
}

/// A link to a resource the client may read elsewhere.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ResourceLink {
    /// The resource's URI.
    pub uri: String,
    /// A short name.
    pub name: String,
    /// A human-readable title.
    pub title: Option<String>,
    /// What it is.
    pub description: Option<String>,
    /// Its MIME type.
    pub mime_type: Option<String>,
    /// Its size in bytes.
    pub size: Option<u64>,
}

impl ResourceLink {
    /// A link with a URI and a name.
    pub fn new(uri: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            uri: uri.into(),
            name: name.into(),
            ..Self::default()
        }
    }

    /// Set the title.
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }

    /// Set the description.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Set the MIME type.
    pub fn mime_type(mut self, mime_type: impl Into<String>) -> Self {
        self.mime_type = Some(mime_type.into());
        self
    }

    /// Set the size in bytes.
    pub fn size(mut self, size: u64) -> Self {
        self.size = Some(size);
        self
    }
}

impl Content {
    /// A text block.
    pub fn text(text: impl Into<String>) -> Self {
        Self::Text(text.into())
    }

    /// An image block.
    pub fn image(data: impl Into<Vec<u8>>, mime_type: impl Into<String>) -> Self {
        Self::Image {
            data: data.into(),
            mime_type: mime_type.into(),
        }
    }

    /// An audio block.
    pub fn audio(data: impl Into<Vec<u8>>, mime_type: impl Into<String>) -> Self {
        Self::Audio {
            data: data.into(),
            mime_type: mime_type.into(),
        }
    }

    /// The text, if this is a text block.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Self::Text(text) => Some(text),
            _ => None,
        }
    }
}

impl CallResult {
    /// An empty, successful result.
    pub fn new() -> Self {
        Self::default()
    }

    /// A successful result with one text block.
    pub fn text(text: impl Into<String>) -> Self {
        Self::new().with_text(text)
    }

    /// A result with one text block, marked `is_error` (a failure the model
    /// sees and may act on).
    pub fn error_text(text: impl Into<String>) -> Self {
        Self::text(text).with_is_error(true)
    }

    /// Append a content block.
    pub fn with_content(mut self, content: Content) -> Self {
        self.content.push(content);
        self
    }

    /// Append a text block.
    pub fn with_text(self, text: impl Into<String>) -> Self {
        self.with_content(Content::text(text))
    }

    /// Append an image block.
    pub fn with_image(self, data: impl Into<Vec<u8>>, mime_type: impl Into<String>) -> Self {
        self.with_content(Content::image(data, mime_type))
    }

    /// Append an audio block.
    pub fn with_audio(self, data: impl Into<Vec<u8>>, mime_type: impl Into<String>) -> Self {
        self.with_content(Content::audio(data, mime_type))
    }

    /// Append an embedded resource with text contents.
    pub fn with_text_resource(
        self,
        uri: impl Into<String>,
        mime_type: Option<&str>,
        text: impl Into<String>,
    ) -> Self {
        self.with_content(Content::Resource(EmbeddedResource {
            uri: uri.into(),
            mime_type: mime_type.map(str::to_owned),
            contents: ResourceContents::Text(text.into()),
        }))
    }

    /// Append an embedded resource with binary contents.
    pub fn with_blob_resource(
        self,
        uri: impl Into<String>,
        mime_type: Option<&str>,
        data: impl Into<Vec<u8>>,
    ) -> Self {
        self.with_content(Content::Resource(EmbeddedResource {
            uri: uri.into(),
            mime_type: mime_type.map(str::to_owned),
            contents: ResourceContents::Blob(data.into()),
        }))
    }

    /// Append a resource link.
    pub fn with_resource_link(self, link: ResourceLink) -> Self {
        self.with_content(Content::ResourceLink(link))
    }

    /// Set the structured content (should be a JSON object matching the
    /// tool's output schema; see [`Tool::output_schema_of`](crate::Tool::output_schema_of)).
    pub fn with_structured(mut self, value: Value) -> Self {
        self.structured_content = Some(value);
        self
    }

    /// Set `is_error`.
    pub fn with_is_error(mut self, is_error: bool) -> Self {
        self.is_error = is_error;
        self
    }

    /// The first text block, if any.
    pub fn first_text(&self) -> Option<&str> {
        self.content.iter().find_map(Content::as_text)
    }

    /// All text blocks joined by newlines.
    pub fn all_text(&self) -> String {
        let texts: Vec<&str> = self.content.iter().filter_map(Content::as_text).collect();
        texts.join("\n")
    }

    /// Read the result as `T`: the structured content if present, else the
    /// first text block parsed as JSON. A result marked `is_error` becomes
    /// [`ToolError::Failed`] with its text.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, ToolError> {
        if self.is_error {
            return Err(ToolError::failed(self.all_text()));
        }
        if let Some(value) = &self.structured_content {
            return T::deserialize(value).map_err(|e| {
                ToolError::failed(format!("structured content has an unexpected shape: {e}"))
            });
        }
        let text = self
            .first_text()
            .ok_or_else(|| ToolError::failed("result has neither structured content nor text"))?;
        serde_json::from_str(text)
            .map_err(|e| ToolError::failed(format!("result text is not the expected JSON: {e}")))
    }
}

impl From<String> for CallResult {
    fn from(text: String) -> Self {
        Self::text(text)
    }
}

impl From<&str> for CallResult {
    fn from(text: &str) -> Self {
        Self::text(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn builders_append_in_order() {
        let r = CallResult::new()
            .with_text("a")
            .with_audio(vec![1, 2], "audio/wav")
            .with_text_resource("mem://x", Some("text/plain"), "hi")
            .with_blob_resource("mem://y", None, vec![0])
            .with_resource_link(ResourceLink::new("u", "n").title("t").size(3));
        assert_eq!(r.content.len(), 5);
        assert_eq!(r.first_text(), Some("a"));
        assert!(!r.is_error);
        assert!(matches!(&r.content[4], Content::ResourceLink(l) if l.size == Some(3)));
        assert!(CallResult::error_text("no").is_error);
    }

    #[test]
    fn parse_prefers_structured_then_text() {
        #[derive(serde::Deserialize, Debug, PartialEq)]
        struct N {
            n: u32,
        }
        let r = CallResult::text(r#"{"n": 1}"#).with_structured(json!({"n": 2}));
        assert_eq!(r.parse::<N>(), Ok(N { n: 2 }));
        assert_eq!(CallResult::text(r#"{"n": 1}"#).parse::<N>(), Ok(N { n: 1 }));
        assert!(CallResult::text("nope").parse::<N>().is_err());
        assert_eq!(
            CallResult::error_text("boom").parse::<N>(),
            Err(ToolError::Failed("boom".into()))
        );
    }
}

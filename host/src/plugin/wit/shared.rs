//! What every version of the WIT contract shares: the types that kept
//! their shape from one version to the next (tools, content blocks, call
//! results, tool errors, log levels) and the `host` functions every version
//! has. Each version's bindings are their own Rust types, so the conversions
//! are written once here, as macros, and expanded in each version's module
//! over its own `wit` (types) module.

/// The conversions between a version's shared WIT types and the host's.
/// Expanded in a version's module, where `wit` names its `types` interface.
macro_rules! shared_conversions {
    () => {
        /// A plugin's tool as the host keeps it: its schemas parsed once, here.
        fn tool_spec(plugin: &str, tool: wit::Tool) -> Result<ToolSpec, RegistryError> {
            let schema_error =
                |which, message| RegistryError::schema(plugin, &tool.name, which, message);
            let input_schema =
                parse_schema(&tool.input_schema).map_err(|m| schema_error("input", m))?;
            let output_schema = tool
                .output_schema
                .as_deref()
                .map(parse_schema)
                .transpose()
                .map_err(|m| schema_error("output", m))?;
            Ok(ToolSpec {
                name: tool.name,
                title: tool.title,
                description: tool.description,
                input_schema,
                output_schema,
                annotations: tool.annotations.map(|a| {
                    let mut annotations = ToolAnnotations::new();
                    annotations.read_only_hint = a.read_only;
                    annotations.destructive_hint = a.destructive;
                    annotations.idempotent_hint = a.idempotent;
                    annotations.open_world_hint = a.open_world;
                    annotations
                }),
            })
        }

        /// A registry tool as a plugin sees it through `host.list-tools`.
        impl From<&Tool> for wit::Tool {
            fn from(tool: &Tool) -> Self {
                wit::Tool {
                    name: tool.name.to_string(),
                    title: tool.title.clone(),
                    description: tool.description.as_deref().unwrap_or_default().to_owned(),
                    input_schema: serde_json::Value::Object((*tool.input_schema).clone())
                        .to_string(),
                    output_schema: tool
                        .output_schema
                        .as_ref()
                        .map(|schema| serde_json::Value::Object((**schema).clone()).to_string()),
                    annotations: tool.annotations.as_ref().map(|a| wit::Annotations {
                        read_only: a.read_only_hint,
                        destructive: a.destructive_hint,
                        idempotent: a.idempotent_hint,
                        open_world: a.open_world_hint,
                    }),
                }
            }
        }

        /// Bytes a content block carries: what `max_result_kb` measures.
        fn content_size(block: &wit::ContentBlock) -> usize {
            match block {
                wit::ContentBlock::Text(text) => text.len(),
                wit::ContentBlock::Image(binary) | wit::ContentBlock::Audio(binary) => {
                    binary.data.len()
                }
                wit::ContentBlock::EmbeddedResource(resource) => resource_size(resource),
                wit::ContentBlock::ResourceLink(link) => link.uri.len(),
            }
        }

        fn resource_size(resource: &wit::EmbeddedResource) -> usize {
            match &resource.contents {
                wit::ResourceContents::Text(text) => text.len(),
                wit::ResourceContents::Blob(blob) => blob.len(),
            }
        }

        impl WitResult for wit::CallResult {
            type Mcp = CallToolResult;

            fn size(&self) -> usize {
                let content: usize = self.content.iter().map(content_size).sum();
                content + self.structured_content.as_ref().map_or(0, String::len)
            }

            /// Structured content must be JSON: anything else is the plugin's bug,
            /// reported as such.
            fn into_mcp(self) -> Result<CallToolResult, String> {
                let content = self.content.into_iter().map(ContentBlock::from).collect();
                let structured = self
                    .structured_content
                    .map(|text| {
                        serde_json::from_str(&text)
                            .map_err(|e| format!("structured content is not valid JSON ({e})"))
                    })
                    .transpose()?;
                let mut out = if self.is_error {
                    CallToolResult::error(content)
                } else {
                    CallToolResult::success(content)
                };
                out.structured_content = structured;
                Ok(out)
            }
        }

        impl From<wit::ContentBlock> for ContentBlock {
            fn from(block: wit::ContentBlock) -> Self {
                match block {
                    wit::ContentBlock::Text(text) => ContentBlock::text(text),
                    wit::ContentBlock::Image(image) => {
                        ContentBlock::image(BASE64.encode(&image.data), image.mime_type)
                    }
                    wit::ContentBlock::Audio(audio) => {
                        ContentBlock::audio(BASE64.encode(&audio.data), audio.mime_type)
                    }
                    wit::ContentBlock::EmbeddedResource(resource) => {
                        ContentBlock::resource(ResourceContents::from(resource))
                    }
                    wit::ContentBlock::ResourceLink(link) => {
                        let mut resource = Resource::new(link.uri, link.name);
                        if let Some(title) = link.title {
                            resource = resource.with_title(title);
                        }
                        if let Some(description) = link.description {
                            resource = resource.with_description(description);
                        }
                        if let Some(mime) = link.mime_type {
                            resource = resource.with_mime_type(mime);
                        }
                        if let Some(size) = link.size {
                            resource = resource.with_size(size);
                        }
                        ContentBlock::resource_link(resource)
                    }
                }
            }
        }

        impl From<wit::EmbeddedResource> for ResourceContents {
            fn from(resource: wit::EmbeddedResource) -> Self {
                let contents = match resource.contents {
                    wit::ResourceContents::Text(text) => ResourceContents::text(text, resource.uri),
                    wit::ResourceContents::Blob(blob) => {
                        ResourceContents::blob(BASE64.encode(&blob), resource.uri)
                    }
                };
                match resource.mime_type {
                    Some(mime) => contents.with_mime_type(mime),
                    None => contents,
                }
            }
        }

        /// A result handed back to a plugin that called a tool through the host.
        impl From<&CallToolResult> for wit::CallResult {
            fn from(result: &CallToolResult) -> Self {
                wit::CallResult {
                    content: result
                        .content
                        .iter()
                        .filter_map(wit_content_block)
                        .collect(),
                    structured_content: result.structured_content.as_ref().map(|v| v.to_string()),
                    is_error: result.is_error == Some(true),
                }
            }
        }

        fn wit_content_block(block: &ContentBlock) -> Option<wit::ContentBlock> {
            let decode = |data: &str| BASE64.decode(data).unwrap_or_default();
            Some(match block {
                ContentBlock::Text(text) => wit::ContentBlock::Text(text.text.clone()),
                ContentBlock::Image(image) => wit::ContentBlock::Image(wit::BinaryContent {
                    data: decode(&image.data),
                    mime_type: image.mime_type.clone(),
                }),
                ContentBlock::Audio(audio) => wit::ContentBlock::Audio(wit::BinaryContent {
                    data: decode(&audio.data),
                    mime_type: audio.mime_type.clone(),
                }),
                ContentBlock::Resource(embedded) => {
                    let (uri, mime_type, contents) = match &embedded.resource {
                        ResourceContents::TextResourceContents {
                            uri,
                            mime_type,
                            text,
                            ..
                        } => (uri, mime_type, wit::ResourceContents::Text(text.clone())),
                        ResourceContents::BlobResourceContents {
                            uri,
                            mime_type,
                            blob,
                            ..
                        } => (uri, mime_type, wit::ResourceContents::Blob(decode(blob))),
                        _ => return None,
                    };
                    wit::ContentBlock::EmbeddedResource(wit::EmbeddedResource {
                        uri: uri.clone(),
                        mime_type: mime_type.clone(),
                        contents,
                    })
                }
                ContentBlock::ResourceLink(link) => {
                    wit::ContentBlock::ResourceLink(wit::ResourceLink {
                        uri: link.uri.clone(),
                        name: link.name.clone(),
                        title: link.title.clone(),
                        description: link.description.clone(),
                        mime_type: link.mime_type.clone(),
                        size: link.size,
                    })
                }
                // Content kinds a plugin result cannot carry (e.g. sampling blocks).
                _ => return None,
            })
        }

        impl From<wit::ToolError> for ToolFailure {
            fn from(error: wit::ToolError) -> Self {
                let (kind, message) = match error {
                    wit::ToolError::NotFound(m) => (FailureKind::NotFound, m),
                    wit::ToolError::InvalidArguments(m) => (FailureKind::InvalidArguments, m),
                    wit::ToolError::Denied(m) => (FailureKind::Denied, m),
                    wit::ToolError::Timeout(m) => (FailureKind::Timeout, m),
                    wit::ToolError::Cancelled(m) => (FailureKind::Cancelled, m),
                    wit::ToolError::Failed(m) => (FailureKind::Failed, m),
                };
                ToolFailure::new(kind, message)
            }
        }

        impl From<ToolFailure> for wit::ToolError {
            fn from(failure: ToolFailure) -> Self {
                let message = failure.message;
                match failure.kind {
                    FailureKind::NotFound => wit::ToolError::NotFound(message),
                    FailureKind::InvalidArguments => wit::ToolError::InvalidArguments(message),
                    // Limits apply to clients, not plugins; were one to reach a
                    // plugin, it is a refusal.
                    FailureKind::Denied | FailureKind::RateLimited => {
                        wit::ToolError::Denied(message)
                    }
                    FailureKind::Timeout => wit::ToolError::Timeout(message),
                    FailureKind::Cancelled => wit::ToolError::Cancelled(message),
                    // A request stopped for input never answers a plugin: the
                    // plugin is stopped too. Were one to see it, it failed.
                    FailureKind::Failed | FailureKind::InputRequired => {
                        wit::ToolError::Failed(message)
                    }
                }
            }
        }

        /// A plugin's log level as MCP's. (rmcp deprecates the MCP level's variants
        /// with MCP logging, SEP-2577, which both protocol eras still have.)
        #[allow(deprecated)]
        impl From<wit::LogLevel> for Level {
            fn from(level: wit::LogLevel) -> Self {
                match level {
                    wit::LogLevel::Debug => Level::Debug,
                    wit::LogLevel::Info => Level::Info,
                    wit::LogLevel::Notice => Level::Notice,
                    wit::LogLevel::Warning => Level::Warning,
                    wit::LogLevel::Error => Level::Error,
                    wit::LogLevel::Critical => Level::Critical,
                    wit::LogLevel::Alert => Level::Alert,
                    wit::LogLevel::Emergency => Level::Emergency,
                }
            }
        }
    };
}

/// The `host` functions every version imports (call-tool, list-tools, log,
/// progress), for the version's `impl host::Host for PluginState`.
macro_rules! shared_host_functions {
    () => {
        async fn call_tool(
            &mut self,
            name: String,
            arguments: String,
        ) -> wasmtime::Result<Result<wit::CallResult, wit::ToolError>> {
            let outcome = self.call_granted_tool(&name, &arguments).await?;
            Ok(outcome
                .map(|result| wit::CallResult::from(&result))
                .map_err(wit::ToolError::from))
        }

        async fn list_tools(&mut self) -> wasmtime::Result<Vec<wit::Tool>> {
            Ok(self.granted_tools(|tool| wit::Tool::from(tool)))
        }

        async fn log(&mut self, level: wit::LogLevel, message: String) -> wasmtime::Result<()> {
            self.log_message(level.into(), message).await;
            Ok(())
        }

        async fn progress(
            &mut self,
            done: f64,
            total: Option<f64>,
            message: Option<String>,
        ) -> wasmtime::Result<()> {
            self.report_progress(done, total, message).await;
            Ok(())
        }
    };
}

/// The `provider` export every version has (tools), over the version's
/// `ToolProvider` bindings.
macro_rules! shared_tool_exports {
    () => {
        pub async fn list_tools(
            instance: &ToolProvider,
            store: &mut Store<PluginState>,
            plugin: &str,
        ) -> wasmtime::Result<Vec<Result<ToolSpec, RegistryError>>> {
            let tools = instance
                .switchboard_plugin_provider()
                .call_list_tools(store)
                .await?;
            Ok(tools
                .into_iter()
                .map(|tool| tool_spec(plugin, tool))
                .collect())
        }

        pub async fn call_tool(
            instance: &ToolProvider,
            store: &mut Store<PluginState>,
            tool: &str,
            arguments: &str,
        ) -> wasmtime::Result<Result<wit::CallResult, wit::ToolError>> {
            instance
                .switchboard_plugin_provider()
                .call_call_tool(store, tool, arguments)
                .await
        }
    };
}

pub(super) use {shared_conversions, shared_host_functions, shared_tool_exports};

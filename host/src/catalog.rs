//! Every tool visible to anyone, under the name clients see.
//!
//! Built once at load from each provider's `list-tools`; never per
//! `tools/list`. Names are `<prefix>_<tool>` (or `<tool>` with an empty
//! prefix); schemas are compiled here so calls only run them.

use std::collections::HashMap;
use std::sync::Arc;

use rmcp::model::{JsonObject, Tool};
use serde_json::Value;

use crate::config::{MAX_TOOL_NAME_LEN, is_valid_name_part};
use crate::provider::{Provider, ToolSpec};

/// One tool in the catalog.
pub struct CatalogEntry {
    /// The tool as clients see it (public name).
    pub tool: Tool,
    /// The provider's own name for it.
    pub local_name: String,
    pub provider: Arc<dyn Provider>,
    /// Whether AI clients see (and may call) it; plugins see what their
    /// grants allow either way.
    pub exposed: bool,
    input_validator: jsonschema::Validator,
    output_validator: Option<jsonschema::Validator>,
}

impl CatalogEntry {
    pub fn name(&self) -> &str {
        &self.tool.name
    }

    /// Checks call arguments against the input schema; the error lists every
    /// violation with where it is.
    pub fn check_arguments(&self, arguments: &JsonObject) -> Result<(), String> {
        let instance = Value::Object(arguments.clone());
        describe_violations(&self.input_validator, &instance)
    }

    /// Checks structured output against the output schema, if there is one.
    pub fn check_output(&self, structured: Option<&Value>) -> Result<(), String> {
        match (&self.output_validator, structured) {
            (None, _) => Ok(()),
            (Some(_), None) => {
                Err("the tool declares an output schema but returned no structured content".into())
            }
            (Some(validator), Some(value)) => describe_violations(validator, value),
        }
    }
}

fn describe_violations(validator: &jsonschema::Validator, instance: &Value) -> Result<(), String> {
    let problems: Vec<String> = validator
        .iter_errors(instance)
        .map(|error| {
            let path = error.instance_path().to_string();
            if path.is_empty() {
                error.to_string()
            } else {
                format!("at `{path}`: {error}")
            }
        })
        .collect();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}

/// The tools one provider contributes, and the prefix its names get.
pub struct ProviderTools {
    pub provider: Arc<dyn Provider>,
    pub prefix: String,
    pub tools: Vec<ToolSpec>,
    /// Patterns of the provider's own tool names clients see; `None` = all.
    pub expose: Option<Vec<String>>,
}

/// Why a catalog could not be built. Each names the provider and tool.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogError {
    #[error("tool name `{tool}` is invalid: {reason}")]
    InvalidName {
        provider: String,
        tool: String,
        reason: String,
    },
    #[error(
        "tool name `{name}` is produced by both `{first}` and `{second}`: give one of them another `prefix` in the config"
    )]
    Collision {
        name: String,
        first: String,
        second: String,
    },
    #[error("tool `{tool}`: invalid {which} schema: {message}")]
    InvalidSchema {
        provider: String,
        tool: String,
        which: &'static str,
        message: String,
    },
}

impl CatalogError {
    /// The one provider at fault, if the error is about a single provider.
    pub fn provider(&self) -> Option<&str> {
        match self {
            CatalogError::InvalidName { provider, .. }
            | CatalogError::InvalidSchema { provider, .. } => Some(provider),
            CatalogError::Collision { .. } => None,
        }
    }
}

/// All tools, in a fixed order (by name) so pagination is deterministic.
#[derive(Default)]
pub struct Catalog {
    entries: Vec<Arc<CatalogEntry>>,
    by_name: HashMap<String, usize>,
}

impl Catalog {
    /// Builds the catalog, collecting every problem rather than the first.
    pub fn build(providers: Vec<ProviderTools>) -> Result<Self, Vec<CatalogError>> {
        let (catalog, errors) = Self::build_skipping(providers);
        if errors.is_empty() {
            Ok(catalog)
        } else {
            Err(errors)
        }
    }

    /// Builds the catalog from every tool that is valid, reporting the
    /// rest: used when an upstream's list changes while the host runs, where
    /// one bad tool must not take the others down.
    pub fn build_skipping(providers: Vec<ProviderTools>) -> (Self, Vec<CatalogError>) {
        let mut errors = Vec::new();
        let mut entries: Vec<Arc<CatalogEntry>> = Vec::new();
        let mut owners: HashMap<String, String> = HashMap::new();
        for group in providers {
            for spec in group.tools {
                let owner = format!("{}.{}", group.provider.name(), spec.name);
                let exposed = group.expose.as_ref().is_none_or(|patterns| {
                    patterns
                        .iter()
                        .any(|pattern| glob_match::glob_match(pattern, &spec.name))
                });
                match build_entry(&group.provider, &group.prefix, spec, exposed) {
                    Err(error) => errors.push(error),
                    Ok(entry) => {
                        if let Some(first) = owners.get(entry.name()) {
                            errors.push(CatalogError::Collision {
                                name: entry.name().to_owned(),
                                first: first.clone(),
                                second: owner,
                            });
                            continue;
                        }
                        owners.insert(entry.name().to_owned(), owner);
                        entries.push(Arc::new(entry));
                    }
                }
            }
        }
        entries.sort_by(|a, b| a.name().cmp(b.name()));
        let by_name = entries
            .iter()
            .enumerate()
            .map(|(index, entry)| (entry.name().to_owned(), index))
            .collect();
        (Self { entries, by_name }, errors)
    }

    pub fn get(&self, name: &str) -> Option<&Arc<CatalogEntry>> {
        self.by_name.get(name).map(|&index| &self.entries[index])
    }

    pub fn entries(&self) -> &[Arc<CatalogEntry>] {
        &self.entries
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// The name clients see for `tool` of a provider with `prefix`.
pub fn public_name(prefix: &str, tool: &str) -> String {
    if prefix.is_empty() {
        tool.to_owned()
    } else {
        format!("{prefix}_{tool}")
    }
}

fn build_entry(
    provider: &Arc<dyn Provider>,
    prefix: &str,
    spec: ToolSpec,
    exposed: bool,
) -> Result<CatalogEntry, CatalogError> {
    let provider_name = provider.name().to_owned();
    let invalid_name = |reason: String| CatalogError::InvalidName {
        provider: provider_name.clone(),
        tool: spec.name.clone(),
        reason,
    };
    if !is_valid_name_part(&spec.name) {
        return Err(invalid_name(
            "tool names use only letters, digits, `_` and `-`".into(),
        ));
    }
    let name = public_name(prefix, &spec.name);
    if name.len() > MAX_TOOL_NAME_LEN {
        return Err(invalid_name(format!(
            "`{name}` is {} characters; clients accept at most {MAX_TOOL_NAME_LEN} (shorten the tool name or the prefix)",
            name.len()
        )));
    }
    let schema_error = |which: &'static str, message: String| CatalogError::InvalidSchema {
        provider: provider_name.clone(),
        tool: spec.name.clone(),
        which,
        message,
    };
    let (input_schema, input_validator) =
        compile_object_schema(&spec.input_schema).map_err(|m| schema_error("input", m))?;
    let output = spec
        .output_schema
        .as_deref()
        .map(compile_object_schema)
        .transpose()
        .map_err(|m| schema_error("output", m))?;

    let mut tool = Tool::new_with_raw(name, Some(spec.description.into()), Arc::new(input_schema));
    tool.title = spec.title;
    tool.annotations = spec.annotations;
    let output_validator = output.map(|(schema, validator)| {
        tool.output_schema = Some(Arc::new(schema));
        validator
    });
    Ok(CatalogEntry {
        tool,
        local_name: spec.name,
        provider: Arc::clone(provider),
        exposed,
        input_validator,
        output_validator,
    })
}

/// MCP requires tool schemas to be JSON objects describing objects.
fn compile_object_schema(text: &str) -> Result<(JsonObject, jsonschema::Validator), String> {
    let value: Value = serde_json::from_str(text).map_err(|e| format!("not valid JSON ({e})"))?;
    let Value::Object(object) = &value else {
        return Err("a schema must be a JSON object".into());
    };
    if object.get("type").and_then(Value::as_str) != Some("object") {
        return Err("the root must have \"type\": \"object\"".into());
    }
    let validator = jsonschema::validator_for(&value).map_err(|e| e.to_string())?;
    Ok((object.clone(), validator))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dispatch::CallScope;
    use crate::provider::ToolFailure;
    use futures::future::BoxFuture;
    use rmcp::model::CallToolResult;
    use std::time::Duration;

    struct Named(&'static str);
    impl Provider for Named {
        fn name(&self) -> &str {
            self.0
        }
        fn timeout(&self) -> Duration {
            Duration::from_secs(1)
        }
        fn call<'a>(
            &'a self,
            _: &'a str,
            _: JsonObject,
            _: CallScope,
        ) -> BoxFuture<'a, Result<CallToolResult, ToolFailure>> {
            unreachable!("catalog tests never call")
        }
    }

    fn spec(name: &str, input: &str) -> ToolSpec {
        ToolSpec {
            name: name.into(),
            title: None,
            description: "d".into(),
            input_schema: input.into(),
            output_schema: None,
            annotations: None,
        }
    }

    const OBJ: &str = r#"{"type":"object","properties":{"n":{"type":"integer"}},"required":["n"]}"#;

    fn group(provider: &'static str, prefix: &str, tools: Vec<ToolSpec>) -> ProviderTools {
        ProviderTools {
            provider: Arc::new(Named(provider)),
            prefix: prefix.into(),
            tools,
            expose: None,
        }
    }

    #[test]
    fn names_are_prefixed_and_sorted() {
        let catalog = Catalog::build(vec![
            group("b", "bee", vec![spec("z", OBJ), spec("a", OBJ)]),
            group("a", "", vec![spec("plain", OBJ)]),
        ])
        .expect("builds");
        let names: Vec<_> = catalog.entries().iter().map(|e| e.name()).collect();
        assert_eq!(names, ["bee_a", "bee_z", "plain"]);
        assert_eq!(
            catalog.get("bee_z").map(|e| e.local_name.as_str()),
            Some("z")
        );
    }

    #[test]
    fn collisions_name_both_providers() {
        let errors = Catalog::build(vec![
            group("one", "x", vec![spec("t", OBJ)]),
            group("two", "x", vec![spec("t", OBJ)]),
        ])
        .err()
        .expect("collision");
        assert_eq!(
            errors,
            [CatalogError::Collision {
                name: "x_t".into(),
                first: "one.t".into(),
                second: "two.t".into()
            }]
        );
    }

    #[test]
    fn invalid_schemas_and_names_are_refused() {
        let errors = Catalog::build(vec![group(
            "p",
            "p",
            vec![
                spec("bad", r#"{"type": 12}"#),
                spec("notjson", "{"),
                spec("array", r#"{"type":"array"}"#),
                spec("has space", OBJ),
            ],
        )])
        .err()
        .expect("errors");
        assert_eq!(errors.len(), 4, "{errors:?}");
        assert!(
            errors
                .iter()
                .any(|e| e.to_string().contains("tool `bad`: invalid input schema"))
        );
    }

    #[test]
    fn argument_violations_say_where() {
        let catalog = Catalog::build(vec![group("p", "p", vec![spec("t", OBJ)])]).expect("ok");
        let entry = catalog.get("p_t").expect("entry");
        let mut args = JsonObject::new();
        args.insert("n".into(), Value::String("x".into()));
        let err = entry.check_arguments(&args).expect_err("type error");
        assert!(err.contains("/n"), "{err}");
        args.insert("n".into(), Value::from(3));
        assert!(entry.check_arguments(&args).is_ok());
        assert!(
            entry
                .check_arguments(&JsonObject::new())
                .expect_err("required")
                .contains("\"n\"")
        );
    }
}

//! Tools under the names clients see, with their schemas compiled once so
//! calls only run them.

use std::sync::Arc;

use rmcp::model::{JsonObject, Tool};
use serde_json::Value;

use super::RegistryError;
use super::namespace::public_name;
use crate::config::{MAX_TOOL_NAME_LEN, is_valid_name_part};
use crate::provider::{Provider, ToolSpec};

/// One tool in the registry.
pub struct ToolEntry {
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

impl ToolEntry {
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

/// Names, checks and compiles one tool of `provider`.
pub fn build_entry(
    provider: &Arc<dyn Provider>,
    prefix: &str,
    spec: ToolSpec,
    exposed: bool,
) -> Result<ToolEntry, RegistryError> {
    let provider_name = provider.name().to_owned();
    let invalid_name = |reason: String| RegistryError::InvalidName {
        provider: provider_name.clone(),
        what: "tool",
        name: spec.name.clone(),
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
    let schema_error =
        |which, message| RegistryError::schema(&provider_name, &spec.name, which, message);
    let input_validator =
        compile_object_schema(&spec.input_schema).map_err(|m| schema_error("input", m))?;
    let output_validator = spec
        .output_schema
        .as_ref()
        .map(compile_object_schema)
        .transpose()
        .map_err(|m| schema_error("output", m))?;

    let mut tool = Tool::new_with_raw(
        name,
        Some(spec.description.into()),
        Arc::new(spec.input_schema),
    );
    tool.title = spec.title;
    tool.annotations = spec.annotations;
    tool.output_schema = spec.output_schema.map(Arc::new);
    Ok(ToolEntry {
        tool,
        local_name: spec.name,
        provider: Arc::clone(provider),
        exposed,
        input_validator,
        output_validator,
    })
}

/// MCP requires tool schemas to describe objects.
fn compile_object_schema(schema: &JsonObject) -> Result<jsonschema::Validator, String> {
    if schema.get("type").and_then(Value::as_str) != Some("object") {
        return Err("the root must have \"type\": \"object\"".into());
    }
    jsonschema::validator_for(&Value::Object(schema.clone())).map_err(|e| e.to_string())
}

/// Parses a schema given as JSON text (a plugin's), where it enters the
/// host.
pub fn parse_schema(text: &str) -> Result<JsonObject, String> {
    match serde_json::from_str(text) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(_) => Err("a schema must be a JSON object".into()),
        Err(e) => Err(format!("not valid JSON ({e})")),
    }
}

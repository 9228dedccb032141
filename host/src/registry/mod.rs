//! Everything any caller can reach, under the names clients see: tools,
//! resources, resource templates and prompts of every provider, with the
//! one rule saying what each caller may see ([`Registry::visibility`]).
//!
//! A registry is an immutable snapshot. The dispatcher swaps it whole when
//! a provider's lists change; a request keeps the snapshot it started with.
//! Each provider's contribution (its [`Part`]) is built on its own, so a
//! change rebuilds only the part of the provider that changed.

pub mod namespace;
mod tools;

use std::collections::HashMap;
use std::sync::Arc;

use rmcp::model::{Prompt, Resource, ResourceTemplate};

use crate::dispatch::Caller;
use crate::grants::Grants;
use crate::provider::{FailureKind, Offers, Provider, ToolFailure};
pub use namespace::{public_name, resource_uri, split_resource_uri, template_matches};
pub use tools::{ToolEntry, parse_schema};

/// A provider as the admin configured it: how its names are made and what
/// clients see of it.
pub struct ProviderSource {
    pub provider: Arc<dyn Provider>,
    /// Put before its tool and prompt names (`<prefix>_<name>`).
    pub prefix: String,
    /// Patterns of the provider's own tool names clients see; `None` = all.
    pub expose: Option<Vec<String>>,
    /// The scheme of its resource URIs (`upstream://NAME/...`).
    pub scheme: &'static str,
}

impl ProviderSource {
    pub fn name(&self) -> &str {
        self.provider.name()
    }

    /// Whether clients see its own URIs as they are: with an empty prefix
    /// the admin asked for the provider's own names, URIs included.
    pub fn keeps_own_uris(&self) -> bool {
        self.prefix.is_empty()
    }

    /// The URI clients see for the provider's own `uri`.
    pub fn public_uri(&self, uri: &str) -> String {
        if self.keeps_own_uris() {
            uri.to_owned()
        } else {
            resource_uri(self.scheme, self.name(), uri)
        }
    }
}

/// One prompt in the registry.
pub struct PromptEntry {
    /// The prompt as clients see it (public name).
    pub prompt: Prompt,
    pub local_name: String,
    pub provider: Arc<dyn Provider>,
}

/// Where a resource request goes.
pub struct ResourceRoute<'a> {
    pub provider: &'a Arc<dyn Provider>,
    /// The provider's own URI.
    pub local_uri: &'a str,
    pub source: &'a ProviderSource,
}

/// What one provider contributes, named and compiled.
struct Part {
    source: Arc<ProviderSource>,
    tools: Vec<Arc<ToolEntry>>,
    resources: Vec<Resource>,
    templates: Vec<ResourceTemplate>,
    prompts: Vec<Arc<PromptEntry>>,
    offers: Offers,
}

impl Part {
    fn build(source: Arc<ProviderSource>) -> (Self, Vec<RegistryError>) {
        let provider = &source.provider;
        let mut errors = Vec::new();
        let mut tools = Vec::new();
        for spec in provider.tools() {
            let exposed = source.expose.as_ref().is_none_or(|patterns| {
                patterns
                    .iter()
                    .any(|pattern| glob_match::glob_match(pattern, &spec.name))
            });
            match tools::build_entry(provider, &source.prefix, spec, exposed) {
                Ok(entry) => tools.push(Arc::new(entry)),
                Err(error) => errors.push(error),
            }
        }
        let resources = provider
            .resources()
            .into_iter()
            .map(|mut resource| {
                resource.uri = source.public_uri(&resource.uri);
                resource
            })
            .collect();
        let templates = provider
            .resource_templates()
            .into_iter()
            .map(|mut template| {
                template.uri_template = source.public_uri(&template.uri_template);
                template
            })
            .collect();
        let prompts = provider
            .prompts()
            .into_iter()
            .map(|mut prompt| {
                let public = public_name(&source.prefix, &prompt.name);
                let local_name = std::mem::replace(&mut prompt.name, public);
                Arc::new(PromptEntry {
                    prompt,
                    local_name,
                    provider: provider.clone(),
                })
            })
            .collect();
        let part = Part {
            offers: provider.offers(),
            source,
            tools,
            resources,
            templates,
            prompts,
        };
        (part, errors)
    }
}

/// Why something could not join the registry. Each names the provider.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    #[error("{what} name `{name}` is invalid: {reason}")]
    InvalidName {
        provider: String,
        what: &'static str,
        name: String,
        reason: String,
    },
    #[error(
        "{what} name `{name}` is produced by both `{first}` and `{second}`: give one of them another `prefix` in the config"
    )]
    Collision {
        what: &'static str,
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

impl RegistryError {
    /// A tool's `which` ("input" or "output") schema is unusable.
    pub fn schema(provider: &str, tool: &str, which: &'static str, message: String) -> Self {
        RegistryError::InvalidSchema {
            provider: provider.to_owned(),
            tool: tool.to_owned(),
            which,
            message,
        }
    }

    /// The one provider at fault, if the error is about a single provider.
    pub fn provider(&self) -> Option<&str> {
        match self {
            RegistryError::InvalidName { provider, .. }
            | RegistryError::InvalidSchema { provider, .. } => Some(provider),
            RegistryError::Collision { .. } => None,
        }
    }
}

/// Whether a caller may reach something.
#[derive(Debug)]
pub enum Visibility {
    Visible,
    /// Not there for this caller: it is told "unknown", as for a name that
    /// does not exist.
    Hidden,
    /// There, but this caller lacks the grant; says which.
    Denied(ToolFailure),
}

/// Something a caller may ask for.
#[derive(Clone, Copy)]
pub enum Item<'a> {
    Tool(&'a ToolEntry),
    Resource(&'a str),
    Prompt(&'a str),
}

/// Every provider's offer, merged, in a fixed order (by name or URI) so
/// pagination is deterministic.
pub struct Registry {
    parts: Vec<Arc<Part>>,
    tools: Vec<Arc<ToolEntry>>,
    tool_index: HashMap<String, usize>,
    resources: Vec<Resource>,
    templates: Vec<ResourceTemplate>,
    prompts: Vec<Arc<PromptEntry>>,
    prompt_index: HashMap<String, usize>,
    /// URIs (listed ones and templates) of providers that keep their own
    /// URIs, and the index of the part serving each.
    own_uris: HashMap<String, usize>,
    own_templates: Vec<(String, usize)>,
    grants: Arc<Grants>,
    max_depth: usize,
    offers: Offers,
}

impl Registry {
    /// Builds the registry from every valid item, reporting the rest (the
    /// caller decides whether a problem stops the host).
    pub fn build(
        sources: Vec<Arc<ProviderSource>>,
        grants: Grants,
        max_depth: usize,
    ) -> (Self, Vec<RegistryError>) {
        let mut errors = Vec::new();
        let parts = sources
            .into_iter()
            .map(|source| {
                let (part, problems) = Part::build(source);
                errors.extend(problems);
                Arc::new(part)
            })
            .collect();
        let registry = Self::merge(parts, Arc::new(grants), max_depth, &mut errors);
        (registry, errors)
    }

    /// A registry with nothing in it.
    pub fn empty() -> Self {
        Self::build(
            Vec::new(),
            Grants::default(),
            crate::dispatch::DEFAULT_MAX_DEPTH,
        )
        .0
    }

    /// This registry with the parts of `changed` providers built anew from
    /// what they offer now; every other part is reused as it is.
    pub fn rebuilt(&self, changed: &[&str]) -> (Self, Vec<RegistryError>) {
        let mut errors = Vec::new();
        let parts = self
            .parts
            .iter()
            .map(|part| {
                if changed.contains(&part.source.name()) {
                    let (fresh, problems) = Part::build(part.source.clone());
                    errors.extend(problems);
                    Arc::new(fresh)
                } else {
                    part.clone()
                }
            })
            .collect();
        let registry = Self::merge(parts, self.grants.clone(), self.max_depth, &mut errors);
        (registry, errors)
    }

    fn merge(
        parts: Vec<Arc<Part>>,
        grants: Arc<Grants>,
        max_depth: usize,
        errors: &mut Vec<RegistryError>,
    ) -> Self {
        let mut tools: Vec<Arc<ToolEntry>> = Vec::new();
        let mut tool_owners: HashMap<String, String> = HashMap::new();
        let mut prompts: Vec<Arc<PromptEntry>> = Vec::new();
        let mut prompt_owners: HashMap<String, String> = HashMap::new();
        let mut resources = Vec::new();
        let mut templates = Vec::new();
        let mut offers = Offers::default();
        let mut own_uris: HashMap<String, usize> = HashMap::new();
        let mut own_templates: Vec<(String, usize)> = Vec::new();
        for (index, part) in parts.iter().enumerate() {
            let provider = part.source.name();
            offers = offers.union(part.offers);
            for entry in &part.tools {
                let owner = format!("{provider}.{}", entry.local_name);
                if let Some(first) = tool_owners.get(entry.name()) {
                    errors.push(RegistryError::Collision {
                        what: "tool",
                        name: entry.name().to_owned(),
                        first: first.clone(),
                        second: owner,
                    });
                    continue;
                }
                tool_owners.insert(entry.name().to_owned(), owner);
                tools.push(entry.clone());
            }
            for entry in &part.prompts {
                let owner = format!("{provider}.{}", entry.local_name);
                if let Some(first) = prompt_owners.get(&entry.prompt.name) {
                    errors.push(RegistryError::Collision {
                        what: "prompt",
                        name: entry.prompt.name.clone(),
                        first: first.clone(),
                        second: owner,
                    });
                    continue;
                }
                prompt_owners.insert(entry.prompt.name.clone(), owner);
                prompts.push(entry.clone());
            }
            if part.source.keeps_own_uris() {
                let owner = |uri: &str| format!("{provider} ({uri})");
                for resource in &part.resources {
                    match own_uris.get(&resource.uri) {
                        Some(&first) if first != index => {
                            errors.push(RegistryError::Collision {
                                what: "resource",
                                name: resource.uri.clone(),
                                first: parts[first].source.name().to_owned(),
                                second: owner(&resource.uri),
                            });
                            continue;
                        }
                        _ => {
                            own_uris.insert(resource.uri.clone(), index);
                        }
                    }
                    resources.push(resource.clone());
                }
                for template in &part.templates {
                    let taken = own_templates
                        .iter()
                        .find(|(uri, first)| *uri == template.uri_template && *first != index);
                    if let Some((_, first)) = taken {
                        errors.push(RegistryError::Collision {
                            what: "resource template",
                            name: template.uri_template.clone(),
                            first: parts[*first].source.name().to_owned(),
                            second: owner(&template.uri_template),
                        });
                        continue;
                    }
                    own_templates.push((template.uri_template.clone(), index));
                    templates.push(template.clone());
                }
            } else {
                resources.extend(part.resources.iter().cloned());
                templates.extend(part.templates.iter().cloned());
            }
        }
        tools.sort_by(|a, b| a.name().cmp(b.name()));
        prompts.sort_by(|a, b| a.prompt.name.cmp(&b.prompt.name));
        // URIs carry the provider, so only one provider listing a URI twice
        // repeats one: keep the first.
        resources.sort_by(|a, b| a.uri.cmp(&b.uri));
        resources.dedup_by(|a, b| a.uri == b.uri);
        templates.sort_by(|a, b| a.uri_template.cmp(&b.uri_template));
        templates.dedup_by(|a, b| a.uri_template == b.uri_template);
        let tool_index = index(&tools, |entry| entry.name());
        let prompt_index = index(&prompts, |entry| &entry.prompt.name);
        Self {
            parts,
            tools,
            tool_index,
            resources,
            templates,
            prompts,
            prompt_index,
            own_uris,
            own_templates,
            grants,
            max_depth,
            offers,
        }
    }

    /// The longest chain of plugin-to-tool calls.
    pub fn max_depth(&self) -> usize {
        self.max_depth
    }

    /// What the providers, together, can serve.
    pub fn offers(&self) -> Offers {
        self.offers
    }

    /// The one rule of who sees what. Clients see the tools their
    /// providers expose, and every resource and prompt, narrowed by the
    /// client's own `expose` patterns (`[clients.NAME]`); a plugin sees the
    /// tools its `grants.tools` match and no resource or prompt (its WIT
    /// world has no import for them).
    pub fn visibility(&self, caller: &Caller, item: Item<'_>) -> Visibility {
        match (caller, item) {
            (Caller::Client(_), Item::Tool(entry)) if !entry.exposed => Visibility::Hidden,
            (Caller::Client(client), Item::Tool(entry)) if !client.exposes(entry.name()) => {
                Visibility::Hidden
            }
            (Caller::Client(client), Item::Resource(name) | Item::Prompt(name))
                if !client.exposes(name) =>
            {
                Visibility::Hidden
            }
            (Caller::Client(_), _) => Visibility::Visible,
            (Caller::Plugin(plugin), Item::Tool(entry)) => {
                match self.grants.check(plugin, entry.name()) {
                    Ok(()) => Visibility::Visible,
                    Err(denied) => Visibility::Denied(denied),
                }
            }
            (Caller::Plugin(plugin), Item::Resource(name) | Item::Prompt(name)) => {
                Visibility::Denied(ToolFailure::new(
                    FailureKind::Denied,
                    format!(
                        "plugin `{plugin}` may not request `{name}`: plugins are granted tools only"
                    ),
                ))
            }
            (Caller::Upstream(upstream), _) => Visibility::Denied(ToolFailure::new(
                FailureKind::Denied,
                format!("upstream `{upstream}` may not reach other providers"),
            )),
        }
    }

    fn visible(&self, caller: &Caller, item: Item<'_>) -> bool {
        matches!(self.visibility(caller, item), Visibility::Visible)
    }

    /// Checks `caller` may reach `item`; `unknown` is what it is told when
    /// the item is hidden from it.
    fn admit<T>(
        &self,
        caller: &Caller,
        item: Item<'_>,
        found: T,
        unknown: impl FnOnce() -> ToolFailure,
    ) -> Result<T, ToolFailure> {
        match self.visibility(caller, item) {
            Visibility::Visible => Ok(found),
            Visibility::Hidden => Err(unknown()),
            Visibility::Denied(denied) => Err(denied),
        }
    }

    /// Every tool, whoever may see it (for `check` and grant warnings).
    pub fn all_tools(&self) -> &[Arc<ToolEntry>] {
        &self.tools
    }

    /// The tools `caller` sees, in order.
    pub fn tools_for(&self, caller: &Caller) -> Vec<&Arc<ToolEntry>> {
        self.tools
            .iter()
            .filter(|entry| self.visible(caller, Item::Tool(entry)))
            .collect()
    }

    /// Tool `name`, if `caller` may call it.
    pub fn tool_for(&self, caller: &Caller, name: &str) -> Result<&Arc<ToolEntry>, ToolFailure> {
        let unknown = || ToolFailure::new(FailureKind::NotFound, format!("unknown tool `{name}`"));
        let entry = self
            .tool_index
            .get(name)
            .map(|&i| &self.tools[i])
            .ok_or_else(unknown)?;
        self.admit(caller, Item::Tool(entry), entry, unknown)
    }

    pub fn resources_for(&self, caller: &Caller) -> Vec<Resource> {
        self.resources
            .iter()
            .filter(|r| self.visible(caller, Item::Resource(&r.uri)))
            .cloned()
            .collect()
    }

    pub fn resource_templates_for(&self, caller: &Caller) -> Vec<ResourceTemplate> {
        self.templates
            .iter()
            .filter(|t| self.visible(caller, Item::Resource(&t.uri_template)))
            .cloned()
            .collect()
    }

    pub fn prompts_for(&self, caller: &Caller) -> Vec<Prompt> {
        self.prompts
            .iter()
            .filter(|p| self.visible(caller, Item::Prompt(&p.prompt.name)))
            .map(|p| p.prompt.clone())
            .collect()
    }

    /// Prompt `name`, if `caller` may get it.
    pub fn prompt_for(
        &self,
        caller: &Caller,
        name: &str,
    ) -> Result<&Arc<PromptEntry>, ToolFailure> {
        let unknown =
            || ToolFailure::new(FailureKind::NotFound, format!("unknown prompt `{name}`"));
        let entry = self
            .prompt_index
            .get(name)
            .map(|&i| &self.prompts[i])
            .ok_or_else(unknown)?;
        self.admit(caller, Item::Prompt(name), entry, unknown)
    }

    /// The provider serving `uri` (listed, or made from one of its
    /// templates), if `caller` may read it.
    pub fn resource_for<'a>(
        &'a self,
        caller: &Caller,
        uri: &'a str,
    ) -> Result<ResourceRoute<'a>, ToolFailure> {
        let unknown =
            || ToolFailure::new(FailureKind::NotFound, format!("unknown resource `{uri}`"));
        let (part, local_uri) = self
            .part_of_uri(uri)
            .filter(|(part, _)| part.offers.resources)
            .ok_or_else(unknown)?;
        let route = ResourceRoute {
            provider: &part.source.provider,
            local_uri,
            source: &part.source,
        };
        self.admit(caller, Item::Resource(uri), route, unknown)
    }

    /// The provider of tool `name`, whoever asks (audit lines name it even
    /// when the caller may not reach it).
    pub fn tool_owner(&self, name: &str) -> Option<&str> {
        let &i = self.tool_index.get(name)?;
        Some(self.tools[i].provider.name())
    }

    pub fn prompt_owner(&self, name: &str) -> Option<&str> {
        let &i = self.prompt_index.get(name)?;
        Some(self.prompts[i].provider.name())
    }

    /// The URI clients see for `provider`'s own resource `uri`, if the
    /// provider is in the registry.
    pub fn public_resource_uri(&self, provider: &str, uri: &str) -> Option<String> {
        self.parts
            .iter()
            .find(|part| part.source.name() == provider)
            .map(|part| part.source.public_uri(uri))
    }

    pub fn resource_owner(&self, uri: &str) -> Option<&str> {
        self.part_of_uri(uri).map(|(part, _)| part.source.name())
    }

    /// The part serving `uri`, and the provider's own URI: the provider
    /// whose namespace it is in, else one keeping its own URIs that lists
    /// it, has it as a template, or has a template it expands.
    fn part_of_uri<'a>(&self, uri: &'a str) -> Option<(&Part, &'a str)> {
        let namespaced = split_resource_uri(uri).and_then(|(scheme, provider, local_uri)| {
            let part = self.parts.iter().find(|part| {
                !part.source.keeps_own_uris()
                    && part.source.scheme == scheme
                    && part.source.name() == provider
            })?;
            Some((&**part, local_uri))
        });
        if namespaced.is_some() {
            return namespaced;
        }
        let index = self.own_uris.get(uri).copied().or_else(|| {
            let exact = self
                .own_templates
                .iter()
                .find(|(template, _)| template == uri);
            exact
                .or_else(|| {
                    self.own_templates
                        .iter()
                        .find(|(template, _)| template_matches(template, uri))
                })
                .map(|&(_, index)| index)
        })?;
        Some((&*self.parts[index], uri))
    }
}

fn index<T>(items: &[T], key: impl Fn(&T) -> &str) -> HashMap<String, usize> {
    items
        .iter()
        .enumerate()
        .map(|(i, item)| (key(item).to_owned(), i))
        .collect()
}

#[cfg(test)]
mod tests;

//! The registry: naming, collisions, schemas, routing, visibility and
//! rebuilding, with the fake provider of the dispatch tests.

use std::sync::Arc;

use serde_json::json;

use super::*;
use crate::dispatch_tests::{Fake, schema, source, source_exposing, tool, tool_with};

fn build(sources: Vec<Arc<ProviderSource>>, grants: Grants) -> (Registry, Vec<RegistryError>) {
    Registry::build(sources, grants, crate::dispatch::DEFAULT_MAX_DEPTH)
}

/// A registry of `sources`, which must all be valid.
fn valid(sources: Vec<Arc<ProviderSource>>, grants: Grants) -> Registry {
    let (registry, errors) = build(sources, grants);
    assert!(errors.is_empty(), "unexpected registry errors: {errors:?}");
    registry
}

fn grants(plugin: &str, patterns: &[&str]) -> Grants {
    let mut grants = Grants::default();
    grants.allow_tools(plugin, patterns.iter().map(|p| (*p).to_owned()).collect());
    grants
}

fn tool_names(registry: &Registry, caller: &Caller) -> Vec<String> {
    registry
        .tools_for(caller)
        .iter()
        .map(|entry| entry.name().to_owned())
        .collect()
}

fn prompt_names(registry: &Registry, caller: &Caller) -> Vec<String> {
    registry
        .prompts_for(caller)
        .into_iter()
        .map(|prompt| prompt.name)
        .collect()
}

#[track_caller]
fn assert_failure<T>(outcome: Result<T, ToolFailure>, kind: FailureKind, message: &str) {
    match outcome {
        Ok(_) => panic!("expected {kind:?} `{message}`, got Ok"),
        Err(failure) => {
            assert_eq!(failure.kind, kind, "{}", failure.message);
            assert_eq!(failure.message, message);
        }
    }
}

/// Plugin `p`.
fn plugin() -> Caller {
    Caller::Plugin("p".into())
}

// ----- names ------------------------------------------------------------------

#[test]
fn names_are_prefixed_and_sorted_across_providers() {
    let b = Fake::new("b")
        .tool("zeta")
        .tool("alpha")
        .prompt("zz")
        .prompt("aa")
        .arc();
    let a = Fake::new("a").tool("mid").prompt("mm").arc();
    // `b` first: the order comes from the names, not the config.
    let registry = valid(vec![source(&b, "bee"), source(&a, "a")], Grants::default());
    assert_eq!(
        tool_names(&registry, &Caller::LOCAL_CLIENT),
        ["a_mid", "bee_alpha", "bee_zeta"]
    );
    assert_eq!(
        prompt_names(&registry, &Caller::LOCAL_CLIENT),
        ["a_mm", "bee_aa", "bee_zz"]
    );
    let entry = registry
        .tool_for(&Caller::LOCAL_CLIENT, "bee_alpha")
        .expect("found");
    assert_eq!(entry.local_name, "alpha");
    assert_eq!(entry.provider.name(), "b");
    assert_eq!(entry.tool.description.as_deref(), Some("tool alpha"));
    let prompt = registry
        .prompt_for(&Caller::LOCAL_CLIENT, "bee_zz")
        .expect("found");
    assert_eq!(prompt.local_name, "zz");
    assert_eq!(prompt.prompt.name, "bee_zz");
    assert_eq!(prompt.provider.name(), "b");
}

#[test]
fn an_empty_prefix_keeps_the_providers_names() {
    let a = Fake::new("a").tool("echo").prompt("greet").arc();
    let registry = valid(vec![source(&a, "")], Grants::default());
    assert_eq!(tool_names(&registry, &Caller::LOCAL_CLIENT), ["echo"]);
    assert_eq!(prompt_names(&registry, &Caller::LOCAL_CLIENT), ["greet"]);
    assert_eq!(
        registry
            .tool_for(&Caller::LOCAL_CLIENT, "echo")
            .expect("found")
            .local_name,
        "echo"
    );
    assert_failure(
        registry.tool_for(&Caller::LOCAL_CLIENT, "_echo"),
        FailureKind::NotFound,
        "unknown tool `_echo`",
    );
}

#[test]
fn unknown_names_are_not_found() {
    let a = Fake::new("a").tool("echo").prompt("greet").arc();
    let registry = valid(vec![source(&a, "a")], Grants::default());
    assert_failure(
        registry.tool_for(&Caller::LOCAL_CLIENT, "echo"),
        FailureKind::NotFound,
        "unknown tool `echo`",
    );
    assert_failure(
        registry.tool_for(&plugin(), "a_nope"),
        FailureKind::NotFound,
        "unknown tool `a_nope`",
    );
    assert_failure(
        registry.prompt_for(&Caller::LOCAL_CLIENT, "greet"),
        FailureKind::NotFound,
        "unknown prompt `greet`",
    );
}

#[test]
fn tool_collisions_name_both_providers() {
    let x = Fake::new("x").tool("t").tool("only_x").arc();
    let y = Fake::new("y").tool("t").arc();
    // Different prefixes can make one name too: `a` + `b_c` and `a_b` + `c`.
    let p = Fake::new("p").tool("b_c").arc();
    let q = Fake::new("q").tool("c").arc();
    let (registry, errors) = build(
        vec![
            source(&x, ""),
            source(&y, ""),
            source(&p, "a"),
            source(&q, "a_b"),
        ],
        Grants::default(),
    );
    assert_eq!(
        errors,
        [
            RegistryError::Collision {
                what: "tool",
                name: "t".into(),
                first: "x.t".into(),
                second: "y.t".into(),
            },
            RegistryError::Collision {
                what: "tool",
                name: "a_b_c".into(),
                first: "p.b_c".into(),
                second: "q.c".into(),
            },
        ]
    );
    assert_eq!(
        errors[0].to_string(),
        "tool name `t` is produced by both `x.t` and `y.t`: give one of them another `prefix` in the config"
    );
    assert_eq!(errors[0].provider(), None);
    // The first keeps the name; everything else stays.
    assert_eq!(
        tool_names(&registry, &Caller::LOCAL_CLIENT),
        ["a_b_c", "only_x", "t"]
    );
    let entry = registry.tool_for(&Caller::LOCAL_CLIENT, "t").expect("kept");
    assert_eq!(entry.provider.name(), "x");
    assert_eq!(
        registry
            .tool_for(&Caller::LOCAL_CLIENT, "a_b_c")
            .expect("kept")
            .provider
            .name(),
        "p"
    );
}

#[test]
fn prompt_collisions_name_both_providers() {
    let x = Fake::new("x").prompt("greet").arc();
    let y = Fake::new("y").prompt("greet").prompt("bye").arc();
    let (registry, errors) = build(vec![source(&x, "s"), source(&y, "s")], Grants::default());
    assert_eq!(
        errors,
        [RegistryError::Collision {
            what: "prompt",
            name: "s_greet".into(),
            first: "x.greet".into(),
            second: "y.greet".into(),
        }]
    );
    assert!(errors[0].to_string().contains("`x.greet` and `y.greet`"));
    assert_eq!(
        prompt_names(&registry, &Caller::LOCAL_CLIENT),
        ["s_bye", "s_greet"]
    );
    assert_eq!(
        registry
            .prompt_for(&Caller::LOCAL_CLIENT, "s_greet")
            .expect("kept")
            .provider
            .name(),
        "x"
    );
}

#[test]
fn invalid_tool_names_are_refused_with_the_tool_named() {
    let long = "n".repeat(61);
    let a = Fake::new("a")
        .tool("bad name")
        .tool("dotted.name")
        .tool("")
        .tool(&long)
        .tool("good")
        .arc();
    let (registry, errors) = build(vec![source(&a, "pre")], Grants::default());
    assert_eq!(errors.len(), 4, "{errors:?}");
    for (error, name) in errors.iter().zip(["bad name", "dotted.name", ""]) {
        assert_eq!(
            error,
            &RegistryError::InvalidName {
                provider: "a".into(),
                what: "tool",
                name: name.into(),
                reason: "tool names use only letters, digits, `_` and `-`".into(),
            }
        );
        assert_eq!(error.provider(), Some("a"));
    }
    assert_eq!(
        errors[0].to_string(),
        "tool name `bad name` is invalid: tool names use only letters, digits, `_` and `-`"
    );
    // Valid on its own, too long once prefixed.
    let message = errors[3].to_string();
    assert!(
        message.starts_with(&format!(
            "tool name `{long}` is invalid: `pre_{long}` is 65 characters"
        )),
        "{message}"
    );
    assert!(message.contains("at most 64"), "{message}");
    assert_eq!(tool_names(&registry, &Caller::LOCAL_CLIENT), ["pre_good"]);
}

#[test]
fn a_name_of_exactly_the_limit_is_accepted() {
    let name = "n".repeat(60);
    let a = Fake::new("a").tool(&name).arc();
    let registry = valid(vec![source(&a, "abc")], Grants::default());
    assert_eq!(
        tool_names(&registry, &Caller::LOCAL_CLIENT),
        [format!("abc_{name}")]
    );
}

#[test]
fn schemas_not_describing_objects_are_refused_with_the_tool_named() {
    let a = Fake::new("a")
        .tool_spec(tool_with("in_string", json!({"type": "string"}), None))
        .tool_spec(tool_with("in_untyped", json!({"properties": {}}), None))
        .tool_spec(tool_with(
            "out_array",
            json!({"type": "object"}),
            Some(json!({"type": "array"})),
        ))
        .tool_spec(tool_with(
            "in_broken",
            json!({"type": "object", "properties": {"n": {"type": "nope"}}}),
            None,
        ))
        .tool("fine")
        .arc();
    let (registry, errors) = build(vec![source(&a, "a")], Grants::default());
    let root = "the root must have \"type\": \"object\"";
    assert_eq!(errors.len(), 4, "{errors:?}");
    for (error, (tool, which)) in errors.iter().zip([
        ("in_string", "input"),
        ("in_untyped", "input"),
        ("out_array", "output"),
    ]) {
        assert_eq!(
            error,
            &RegistryError::InvalidSchema {
                provider: "a".into(),
                tool: tool.into(),
                which,
                message: root.into(),
            }
        );
    }
    assert_eq!(
        errors[0].to_string(),
        format!("tool `in_string`: invalid input schema: {root}")
    );
    assert_eq!(
        errors[2].to_string(),
        format!("tool `out_array`: invalid output schema: {root}")
    );
    match &errors[3] {
        RegistryError::InvalidSchema {
            provider,
            tool,
            which,
            message,
        } => {
            assert_eq!(
                (provider.as_str(), tool.as_str(), *which),
                ("a", "in_broken", "input")
            );
            assert!(message.contains("nope"), "{message}");
        }
        other => panic!("not a schema error: {other:?}"),
    }
    assert_eq!(errors[3].provider(), Some("a"));
    assert_eq!(tool_names(&registry, &Caller::LOCAL_CLIENT), ["a_fine"]);
}

#[test]
fn argument_violations_say_where() {
    let a = Fake::new("a")
        .tool_spec(tool_with(
            "add",
            json!({
                "type": "object",
                "properties": {"n": {"type": "integer"}, "s": {"type": "string"}},
                "required": ["n"]
            }),
            None,
        ))
        .arc();
    let registry = valid(vec![source(&a, "a")], Grants::default());
    let entry = registry
        .tool_for(&Caller::LOCAL_CLIENT, "a_add")
        .expect("found");
    let problems = entry
        .check_arguments(&schema(json!({"n": "x", "s": 1})))
        .expect_err("invalid");
    assert!(
        problems.contains("at `/n`: \"x\" is not of type \"integer\""),
        "{problems}"
    );
    assert!(
        problems.contains("at `/s`: 1 is not of type \"string\""),
        "{problems}"
    );
    assert_eq!(problems.matches("; ").count(), 1, "{problems}");
    // A missing property is the root's problem: no path.
    let problems = entry
        .check_arguments(&schema(json!({})))
        .expect_err("invalid");
    assert_eq!(problems, "\"n\" is a required property");
    entry
        .check_arguments(&schema(json!({"n": 1})))
        .expect("valid");
}

#[test]
fn output_violations_say_where() {
    let a = Fake::new("a")
        .tool_spec(tool_with(
            "out",
            json!({"type": "object"}),
            Some(json!({
                "type": "object",
                "properties": {"list": {"type": "array", "items": {"type": "integer"}}}
            })),
        ))
        .tool("free")
        .arc();
    let registry = valid(vec![source(&a, "a")], Grants::default());
    let entry = registry
        .tool_for(&Caller::LOCAL_CLIENT, "a_out")
        .expect("found");
    let problem = entry
        .check_output(Some(&json!({"list": [1, "two"]})))
        .expect_err("invalid");
    assert!(problem.starts_with("at `/list/1`: "), "{problem}");
    assert_eq!(
        entry.check_output(None).expect_err("missing"),
        "the tool declares an output schema but returned no structured content"
    );
    entry
        .check_output(Some(&json!({"list": [1]})))
        .expect("valid");
    // No output schema: anything goes.
    let free = registry
        .tool_for(&Caller::LOCAL_CLIENT, "a_free")
        .expect("found");
    free.check_output(None).expect("no schema");
    free.check_output(Some(&json!([1]))).expect("no schema");
}

// ----- who sees what ------------------------------------------------------------

#[test]
fn expose_hides_tools_from_clients_but_not_from_granted_plugins() {
    let a = Fake::new("a")
        .tool("pub_read")
        .tool("pub_list")
        .tool("secret")
        .arc();
    let registry = valid(
        vec![source_exposing(&a, "a", &["pub_*"])],
        grants("p", &["a_*"]),
    );
    assert_eq!(
        tool_names(&registry, &Caller::LOCAL_CLIENT),
        ["a_pub_list", "a_pub_read"]
    );
    assert_failure(
        registry.tool_for(&Caller::LOCAL_CLIENT, "a_secret"),
        FailureKind::NotFound,
        "unknown tool `a_secret`",
    );
    assert_eq!(
        tool_names(&registry, &plugin()),
        ["a_pub_list", "a_pub_read", "a_secret"]
    );
    let entry = registry.tool_for(&plugin(), "a_secret").expect("granted");
    assert!(!entry.exposed);
    assert!(matches!(
        registry.visibility(&Caller::LOCAL_CLIENT, Item::Tool(entry)),
        Visibility::Hidden
    ));
    assert!(matches!(
        registry.visibility(&plugin(), Item::Tool(entry)),
        Visibility::Visible
    ));
    // Hidden is not gone: `check` and grant warnings still see it.
    assert_eq!(registry.all_tools().len(), 3);
    // A plugin without the grant sees none of them.
    assert!(tool_names(&registry, &Caller::Plugin("q".into())).is_empty());
}

#[test]
fn plugins_see_the_tools_their_grants_match() {
    let a = Fake::new("a").tool("one").tool("two").arc();
    let b = Fake::new("b").tool("one").arc();
    let mut grants = grants("p", &["a_*", "b_one"]);
    grants.allow_tools("q", vec!["a_one".into()]);
    let registry = valid(vec![source(&a, "a"), source(&b, "b")], grants);
    let q = Caller::Plugin("q".into());
    assert_eq!(
        tool_names(&registry, &plugin()),
        ["a_one", "a_two", "b_one"]
    );
    assert_eq!(tool_names(&registry, &q), ["a_one"]);
    assert_eq!(
        tool_names(&registry, &Caller::LOCAL_CLIENT),
        ["a_one", "a_two", "b_one"]
    );
    assert_failure(
        registry.tool_for(&q, "b_one"),
        FailureKind::Denied,
        "plugin `q` may not call `b_one`: it is granted only a_one",
    );
    assert_failure(
        registry.tool_for(&Caller::Plugin("nobody".into()), "a_one"),
        FailureKind::Denied,
        "plugin `nobody` may not call `a_one`: no tools are granted to it",
    );
    let entry = registry
        .tool_for(&Caller::LOCAL_CLIENT, "a_two")
        .expect("found");
    match registry.visibility(&Caller::Plugin("nobody".into()), Item::Tool(entry)) {
        Visibility::Denied(denied) => assert_eq!(denied.kind, FailureKind::Denied),
        other => panic!("not denied: {other:?}"),
    }
}

#[test]
fn plugins_see_no_resources_or_prompts() {
    let a = Fake::new("a")
        .resource("demo://doc/1")
        .template("demo://doc/{id}")
        .prompt("greet")
        .arc();
    let registry = valid(vec![source(&a, "a")], grants("p", &["*"]));
    assert_eq!(registry.resources_for(&Caller::LOCAL_CLIENT).len(), 1);
    assert_eq!(
        registry.resource_templates_for(&Caller::LOCAL_CLIENT).len(),
        1
    );
    assert_eq!(registry.prompts_for(&Caller::LOCAL_CLIENT).len(), 1);
    assert!(registry.resources_for(&plugin()).is_empty());
    assert!(registry.resource_templates_for(&plugin()).is_empty());
    assert!(registry.prompts_for(&plugin()).is_empty());
    let uri = "upstream://a/demo://doc/1";
    match registry.resource_for(&plugin(), uri) {
        Err(denied) => {
            assert_eq!(denied.kind, FailureKind::Denied);
            assert_eq!(
                denied.message,
                format!("plugin `p` may not request `{uri}`: plugins are granted tools only")
            );
        }
        Ok(_) => panic!("a plugin read a resource"),
    }
    assert_failure(
        registry.prompt_for(&plugin(), "a_greet"),
        FailureKind::Denied,
        "plugin `p` may not request `a_greet`: plugins are granted tools only",
    );
    assert!(matches!(
        registry.visibility(&Caller::LOCAL_CLIENT, Item::Prompt("a_greet")),
        Visibility::Visible
    ));
    assert!(matches!(
        registry.visibility(&plugin(), Item::Resource(uri)),
        Visibility::Denied(_)
    ));
}

// ----- resources ----------------------------------------------------------------

#[test]
fn resource_uris_are_namespaced_and_routed_back() {
    let up = Fake::new("up")
        .resource("demo://doc/2")
        .resource("file:///etc/hosts")
        .template("demo://doc/{id}")
        .arc();
    let other = Fake::new("other").resource("demo://doc/1").arc();
    let registry = valid(
        vec![source(&up, "u"), source(&other, "o")],
        Grants::default(),
    );
    let uris: Vec<String> = registry
        .resources_for(&Caller::LOCAL_CLIENT)
        .into_iter()
        .map(|resource| resource.uri)
        .collect();
    assert_eq!(
        uris,
        [
            "upstream://other/demo://doc/1",
            "upstream://up/demo://doc/2",
            "upstream://up/file:///etc/hosts",
        ]
    );
    let templates: Vec<String> = registry
        .resource_templates_for(&Caller::LOCAL_CLIENT)
        .into_iter()
        .map(|template| template.uri_template)
        .collect();
    assert_eq!(templates, ["upstream://up/demo://doc/{id}"]);
    for (public, provider, local) in [
        ("upstream://up/demo://doc/2", "up", "demo://doc/2"),
        ("upstream://up/file:///etc/hosts", "up", "file:///etc/hosts"),
        ("upstream://other/demo://doc/1", "other", "demo://doc/1"),
        // Made from the template.
        (
            "upstream://up/demo://doc/42?x=y#z",
            "up",
            "demo://doc/42?x=y#z",
        ),
        // The template itself (completions name it).
        ("upstream://up/demo://doc/{id}", "up", "demo://doc/{id}"),
    ] {
        let route = registry
            .resource_for(&Caller::LOCAL_CLIENT, public)
            .unwrap_or_else(|f| panic!("{public}: {f}"));
        assert_eq!(route.provider.name(), provider, "{public}");
        assert_eq!(route.local_uri, local, "{public}");
        assert_eq!(route.source.scheme, "upstream");
        assert_eq!(route.source.name(), provider);
    }
}

#[test]
fn uris_of_unknown_or_resourceless_providers_are_not_found() {
    let up = Fake::new("up").resource("demo://doc/1").arc();
    // Lists tools only and does not offer resources.
    let tools = Fake::new("tools").tool("t").arc();
    let registry = valid(
        vec![source(&up, "u"), source(&tools, "t")],
        Grants::default(),
    );
    for uri in [
        "upstream://nobody/demo://doc/1",
        "upstream://tools/demo://doc/1",
        "plugin://up/demo://doc/1",
        "demo://doc/1",
        "upstream://up/",
        "upstream://up",
    ] {
        match registry.resource_for(&Caller::LOCAL_CLIENT, uri) {
            Err(failure) => {
                assert_eq!(failure.kind, FailureKind::NotFound, "{uri}");
                assert_eq!(failure.message, format!("unknown resource `{uri}`"));
            }
            Ok(route) => panic!("{uri} routed to {}", route.provider.name()),
        }
    }
}

#[test]
fn offers_are_the_union_of_the_providers() {
    let r = Fake::new("r").resource("x://1").arc();
    let p = Fake::new("p").prompt("greet").arc();
    let registry = valid(vec![source(&r, "r"), source(&p, "p")], Grants::default());
    assert_eq!(
        registry.offers(),
        Offers {
            resources: true,
            prompts: true,
            completions: false,
            list_changes: false,
            resource_updates: false,
        }
    );
    assert_eq!(Registry::empty().offers(), Offers::default());
}

// ----- rebuilding ---------------------------------------------------------------

#[test]
fn rebuilt_lists_only_the_changed_provider_again() {
    let a = Fake::new("a")
        .tool("one")
        .prompt("pa")
        .resource("a://1")
        .arc();
    let b = Fake::new("b")
        .tool("keep")
        .prompt("pb")
        .resource("b://1")
        .arc();
    let registry = valid(vec![source(&a, "a"), source(&b, "b")], Grants::default());
    for what in ["tools", "resources", "templates", "prompts"] {
        assert_eq!((a.listed(what), b.listed(what)), (1, 1), "{what}");
    }

    a.set_tools(vec![tool("one"), tool("two")]);
    a.set_prompts(&["pa", "pa2"]);
    a.set_resources(&["a://2"]);
    // A change `b` has not announced: it must not be picked up.
    b.set_tools(vec![tool("unannounced")]);
    let (fresh, errors) = registry.rebuilt(&["a"]);
    assert!(errors.is_empty(), "{errors:?}");
    for what in ["tools", "resources", "templates", "prompts"] {
        assert_eq!((a.listed(what), b.listed(what)), (2, 1), "{what}");
    }
    assert_eq!(
        tool_names(&fresh, &Caller::LOCAL_CLIENT),
        ["a_one", "a_two", "b_keep"]
    );
    assert_eq!(
        prompt_names(&fresh, &Caller::LOCAL_CLIENT),
        ["a_pa", "a_pa2", "b_pb"]
    );
    let uris: Vec<String> = fresh
        .resources_for(&Caller::LOCAL_CLIENT)
        .into_iter()
        .map(|r| r.uri)
        .collect();
    assert_eq!(uris, ["upstream://a/a://2", "upstream://b/b://1"]);
    // `b`'s part is reused as it was, not rebuilt.
    assert!(Arc::ptr_eq(
        registry
            .tool_for(&Caller::LOCAL_CLIENT, "b_keep")
            .expect("old"),
        fresh
            .tool_for(&Caller::LOCAL_CLIENT, "b_keep")
            .expect("new"),
    ));
    // The old snapshot is untouched.
    assert_eq!(
        tool_names(&registry, &Caller::LOCAL_CLIENT),
        ["a_one", "b_keep"]
    );
    // Unknown names rebuild nothing.
    let (same, errors) = fresh.rebuilt(&["nobody"]);
    assert!(errors.is_empty());
    assert_eq!(a.listed("tools"), 2);
    assert_eq!(
        tool_names(&same, &Caller::LOCAL_CLIENT),
        ["a_one", "a_two", "b_keep"]
    );
}

#[test]
fn rebuilt_keeps_grants_expose_and_depth() {
    let a = Fake::new("a").tool("open").tool("secret").arc();
    let (registry, _) = Registry::build(
        vec![source_exposing(&a, "a", &["open"])],
        grants("p", &["a_secret"]),
        3,
    );
    a.set_tools(vec![tool("open"), tool("secret"), tool("new")]);
    let (fresh, errors) = registry.rebuilt(&["a"]);
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(fresh.max_depth(), 3);
    assert_eq!(tool_names(&fresh, &Caller::LOCAL_CLIENT), ["a_open"]);
    assert_eq!(tool_names(&fresh, &plugin()), ["a_secret"]);
}

#[test]
fn rebuilt_reports_and_leaves_out_what_became_invalid() {
    let a = Fake::new("a").tool("one").arc();
    let b = Fake::new("b").tool("x").arc();
    let registry = valid(vec![source(&a, ""), source(&b, "")], Grants::default());
    a.set_tools(vec![
        tool("one"),
        tool("bad name"),
        tool_with("typed", json!({"type": "string"}), None),
    ]);
    let (fresh, errors) = registry.rebuilt(&["a"]);
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(matches!(
        &errors[0],
        RegistryError::InvalidName { provider, name, .. } if provider == "a" && name == "bad name"
    ));
    assert!(matches!(
        &errors[1],
        RegistryError::InvalidSchema { provider, tool, which: "input", .. }
            if provider == "a" && tool == "typed"
    ));
    assert_eq!(tool_names(&fresh, &Caller::LOCAL_CLIENT), ["one", "x"]);

    // A new name colliding with another provider's is reported with both.
    b.set_tools(vec![tool("x"), tool("one")]);
    let (fresh, errors) = fresh.rebuilt(&["b"]);
    assert_eq!(
        errors,
        [RegistryError::Collision {
            what: "tool",
            name: "one".into(),
            first: "a.one".into(),
            second: "b.one".into(),
        }]
    );
    assert_eq!(
        fresh
            .tool_for(&Caller::LOCAL_CLIENT, "one")
            .expect("kept")
            .provider
            .name(),
        "a"
    );
}

/// A configured client's `expose` patterns narrow tools, prompts,
/// resources and templates alike, in lists and lookups.
#[test]
fn a_clients_expose_patterns_narrow_everything_it_sees() {
    let a = Fake::new("a")
        .tool("one")
        .tool("two")
        .resource("demo://doc/1")
        .template("demo://doc/{id}")
        .prompt("greet")
        .prompt("other")
        .arc();
    let registry = valid(vec![source(&a, "a")], Grants::default());
    let client = |expose: &[&str]| {
        let config = crate::config::ClientConfig {
            name: "alice".into(),
            token_sha256: None,
            jwt_claims: None,
            expose: Some(expose.iter().map(|p| p.to_string()).collect()),
            rate_limit: None,
            tool_rate_limit: None,
            line: 1,
        };
        Caller::Client(crate::clients::Client::configured(Arc::new(
            crate::clients::ClientPolicy::new(&config),
        )))
    };
    let alice = client(&["a_one", "a_greet", "upstream://a/**"]);
    assert_eq!(tool_names(&registry, &alice), ["a_one"]);
    assert_eq!(prompt_names(&registry, &alice), ["a_greet"]);
    assert_eq!(registry.resources_for(&alice).len(), 1);
    assert_eq!(registry.resource_templates_for(&alice).len(), 1);
    assert!(registry.tool_for(&alice, "a_one").is_ok());
    assert_failure(
        registry.tool_for(&alice, "a_two"),
        FailureKind::NotFound,
        "unknown tool `a_two`",
    );
    assert!(registry.prompt_for(&alice, "a_other").is_err());

    let tools_only = client(&["a_*"]);
    assert_eq!(tool_names(&registry, &tools_only), ["a_one", "a_two"]);
    // `*` stops at `/`: no URI matches it.
    assert!(registry.resources_for(&tools_only).is_empty());
    assert!(
        registry
            .resource_for(&tools_only, "upstream://a/demo://doc/1")
            .is_err()
    );
    let nothing = client(&[]);
    assert!(tool_names(&registry, &nothing).is_empty());
    assert!(prompt_names(&registry, &nothing).is_empty());
}

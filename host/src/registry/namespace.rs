//! Names and URIs made unique and routable across providers.
//!
//! Tools and prompts are `<prefix>_<name>` (or `<name>` with an empty
//! prefix). Resource URIs carry the provider: an upstream's `demo://doc/1`
//! is served as `upstream://NAME/demo://doc/1`. The scheme names the kind
//! of provider, the authority its admin name (unique per kind), the rest is
//! the original URI byte for byte, so templates stay templates.

/// The name clients see for `name` of a provider with `prefix`.
pub fn public_name(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_owned()
    } else {
        format!("{prefix}_{name}")
    }
}

/// The URI clients see for `uri` of provider `provider` under `scheme`.
pub fn resource_uri(scheme: &str, provider: &str, uri: &str) -> String {
    format!("{scheme}://{provider}/{uri}")
}

/// Whether `uri` is one of the URIs RFC 6570 `template` expands to. Each
/// expression matches a non-empty run: `{var}` (and `{.var}`, `{;var}`)
/// within one path segment, `{/var}` from a `/`, `{+var}` and `{#var}`
/// anything; `{?var}` and `{&var}` an optional query part. Good enough to
/// route a read to the template's provider; the provider checks the rest.
pub fn template_matches(template: &str, uri: &str) -> bool {
    let mut parts = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}') else {
            return false;
        };
        parts.push(TemplatePart::Literal(&rest[..open]));
        let expression = &rest[open + 1..open + close];
        parts.push(TemplatePart::Expression(
            expression.chars().next().unwrap_or(' '),
        ));
        rest = &rest[open + close + 1..];
    }
    parts.push(TemplatePart::Literal(rest));
    matches_from(&parts, uri)
}

enum TemplatePart<'a> {
    Literal(&'a str),
    /// The expression's first character: its operator, or the variable's.
    Expression(char),
}

fn matches_from(parts: &[TemplatePart<'_>], uri: &str) -> bool {
    let Some((first, rest)) = parts.split_first() else {
        return uri.is_empty();
    };
    match *first {
        TemplatePart::Literal(literal) => uri
            .strip_prefix(literal)
            .is_some_and(|tail| matches_from(rest, tail)),
        TemplatePart::Expression(operator) => {
            let optional = matches!(operator, '?' | '&');
            if optional && matches_from(rest, uri) {
                return true;
            }
            let allowed = |c: char| match operator {
                '+' | '#' | '?' | '&' => c != '#' || operator == '#',
                '/' => c != '?' && c != '#',
                _ => !matches!(c, '/' | '?' | '#' | '&'),
            };
            let starts_right = match operator {
                '/' | '.' | ';' | '?' | '&' | '#' => uri.starts_with(operator),
                _ => true,
            };
            if !starts_right {
                return false;
            }
            // Try every length of the expansion, shortest first.
            let ends = uri.char_indices().map(|(at, _)| at).skip(1);
            for end in ends.chain([uri.len()]).filter(|&end| end > 0) {
                if !uri[..end].chars().all(allowed) {
                    break;
                }
                if matches_from(rest, &uri[end..]) {
                    return true;
                }
            }
            false
        }
    }
}

/// The scheme, provider and provider's own URI behind a client-visible URI.
pub fn split_resource_uri(uri: &str) -> Option<(&str, &str, &str)> {
    let (scheme, rest) = uri.split_once("://")?;
    let (provider, original) = rest.split_once('/')?;
    (!scheme.is_empty() && !provider.is_empty() && !original.is_empty())
        .then_some((scheme, provider, original))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_round_trip() {
        let public = resource_uri("upstream", "everything", "demo://resource/static/1?x=y#z");
        assert_eq!(
            public,
            "upstream://everything/demo://resource/static/1?x=y#z"
        );
        assert_eq!(
            split_resource_uri(&public),
            Some(("upstream", "everything", "demo://resource/static/1?x=y#z"))
        );
        assert_eq!(
            split_resource_uri("upstream://e/file:///etc/hosts"),
            Some(("upstream", "e", "file:///etc/hosts"))
        );
        for bad in [
            "demo:x",
            "upstream://",
            "upstream://e",
            "upstream:///x",
            "upstream://e/",
            "://e/x",
        ] {
            assert_eq!(split_resource_uri(bad), None, "{bad}");
        }
    }

    #[test]
    fn templates_match_their_expansions() {
        let cases = [
            (
                "test://template/{id}/data",
                "test://template/123/data",
                true,
            ),
            ("test://template/{id}/data", "test://template//data", false),
            (
                "test://template/{id}/data",
                "test://template/1/2/data",
                false,
            ),
            ("notes://{name}", "notes://groceries", true),
            ("notes://{name}", "notes://", false),
            ("file:///{+path}", "file:///a/b/c.txt", true),
            ("file://{/path}", "file:///a", true),
            ("search://q{?term,limit}", "search://q?term=x&limit=2", true),
            ("search://q{?term}", "search://q", true),
            ("search://q{?term}", "search://qx", false),
            ("plain://fixed", "plain://fixed", true),
            ("plain://fixed", "plain://fixed2", false),
            ("broken://{id", "broken://{id", false),
        ];
        for (template, uri, expected) in cases {
            assert_eq!(
                template_matches(template, uri),
                expected,
                "{template} ~ {uri}"
            );
        }
    }

    #[test]
    fn empty_prefix_keeps_the_name() {
        assert_eq!(public_name("", "t"), "t");
        assert_eq!(public_name("p", "t"), "p_t");
    }
}

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
    fn empty_prefix_keeps_the_name() {
        assert_eq!(public_name("", "t"), "t");
        assert_eq!(public_name("p", "t"), "p_t");
    }
}

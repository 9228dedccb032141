//! Resource URIs of upstreams, made unique and routable: the upstream's
//! `demo://doc/1` is served as `upstream://NAME/demo://doc/1`. The prefix
//! names the upstream (names are unique); the rest is the original URI,
//! byte for byte, so templates stay templates.

const SCHEME: &str = "upstream://";

/// The URI clients see for `uri` of upstream `upstream`.
pub fn resource_uri(upstream: &str, uri: &str) -> String {
    format!("{SCHEME}{upstream}/{uri}")
}

/// The upstream and its own URI behind a client-visible URI.
pub fn split_resource_uri(uri: &str) -> Option<(&str, &str)> {
    let rest = uri.strip_prefix(SCHEME)?;
    let (upstream, original) = rest.split_once('/')?;
    (!upstream.is_empty() && !original.is_empty()).then_some((upstream, original))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_round_trip() {
        let public = resource_uri("everything", "demo://resource/static/1?x=y#z");
        assert_eq!(
            public,
            "upstream://everything/demo://resource/static/1?x=y#z"
        );
        assert_eq!(
            split_resource_uri(&public),
            Some(("everything", "demo://resource/static/1?x=y#z"))
        );
        assert_eq!(
            split_resource_uri("upstream://e/file:///etc/hosts"),
            Some(("e", "file:///etc/hosts"))
        );
        for bad in [
            "demo://x",
            "upstream://",
            "upstream://e",
            "upstream:///x",
            "upstream://e/",
        ] {
            assert_eq!(split_resource_uri(bad), None, "{bad}");
        }
    }
}

"""The Python `mcp` SDK's own OAuth client against the host as a resource server.

A small OAuth 2.1 authorization server runs here, on loopback (stdlib
`http.server` in a thread): RFC 8414 metadata, dynamic client registration
(RFC 7591), an `/authorize` that approves at once, a `/token` that checks
PKCE (RFC 7636) and the `resource` indicator (RFC 8707) and mints ES256 JWT
access tokens, and the JWKS holding the public key. The host is configured
with that issuer, its own `/mcp` URL as the resource, and a
`[clients.alice]` mapped from the token's `sub`.

`mcp.client.auth.OAuthClientProvider`, as the `auth=` of the httpx2 client
under the SDK's Streamable HTTP transport, must get from the host's first
`401` to a working session on its own: the challenge's `resource_metadata`
(RFC 9728), the issuer's metadata, registration, authorization, the token,
and the retried request; then tools/list shows alice's tools only and a
tools/call answers. In both eras (`auto`, which settles on 2026-07-28, and
`legacy`, the 2025-11-25 handshake).

Tokens the host must refuse (a key not in the JWKS, another audience) are
sent with plain httpx2 requests: `401` with an `invalid_token` challenge, and
no session.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import anyio
import httpx2
import jwt
import mcp.types as types
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm
from mcp import Client
from mcp.client.auth import OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import AuthorizationCodeResult, OAuthClientInformationFull, OAuthClientMetadata, OAuthToken

from conftest import Artifacts, HttpHost, serve_http, kit_config_text

pytestmark = pytest.mark.anyio

MODERN = "2026-07-28"
LEGACY = "2025-11-25"
# Generous: a debug host compiles the component on first use.
TEST_TIMEOUT_S = 60.0

SCOPE = "mcp:tools"
SUBJECT = "alice"
KID = "k1"
# Where the authorization server sends the browser back; never contacted
# (the test's "browser" reads the redirect instead of following it).
REDIRECT_URI = "http://127.0.0.1:45871/callback"
ALICE_TOOLS = ["kit_add", "kit_echo"]


# --- the authorization server ------------------------------------------------


class SigningKey:
    """A P-256 key: signs ES256 JWTs with `kid` in the header."""

    def __init__(self, kid: str) -> None:
        self.kid = kid
        self.private = ec.generate_private_key(ec.SECP256R1())
        self.jwk: dict[str, Any] = {
            **ECAlgorithm.to_jwk(self.private.public_key(), as_dict=True),
            "kid": kid,
            "alg": "ES256",
            "use": "sig",
        }

    def sign(self, claims: dict[str, Any]) -> str:
        return jwt.encode(claims, self.private, algorithm="ES256", headers={"kid": self.kid})


def pkce_challenge(verifier: str) -> str:
    """RFC 7636 section 4.2, S256."""
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=").decode("ascii")


@dataclass(frozen=True)
class Seen:
    """One request the authorization server answered."""

    method: str
    path: str
    params: dict[str, Any]  # query, form or JSON body
    status: int


class AuthorizationServer:
    """The issuer, on `http://127.0.0.1:PORT` (no path, so its RFC 8414
    metadata is at `/.well-known/oauth-authorization-server`, where both the
    host and the SDK look first)."""

    def __init__(self, key: SigningKey, resources: set[str]) -> None:
        self.key = key
        self.resources = resources  # the resource servers tokens may be minted for
        self.lock = threading.Lock()
        self.seen: list[Seen] = []
        self.problems: list[str] = []  # requests refused, and why
        self.clients: dict[str, dict[str, Any]] = {}
        self.codes: dict[str, dict[str, str]] = {}
        self.issued: list[str] = []
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="oauth-issuer", daemon=True)

    def __enter__(self) -> AuthorizationServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def reset(self) -> None:
        with self.lock:
            self.seen.clear()
            self.problems.clear()
            self.issued.clear()

    def requests_to(self, path: str) -> list[Seen]:
        with self.lock:
            return [s for s in self.seen if s.path == path]

    def metadata(self) -> dict[str, Any]:
        return {
            "issuer": self.url,
            "authorization_endpoint": f"{self.url}/authorize",
            "token_endpoint": f"{self.url}/token",
            "registration_endpoint": f"{self.url}/register",
            "jwks_uri": f"{self.url}/jwks",
            "scopes_supported": [SCOPE],
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code"],
            "token_endpoint_auth_methods_supported": ["none"],
            "code_challenge_methods_supported": ["S256"],
            "authorization_response_iss_parameter_supported": True,
        }

    def claims(self, **extra: Any) -> dict[str, Any]:
        """Claims of an access token for the (one) configured resource."""
        now = int(time.time())
        (resource,) = self.resources
        claims = {"iss": self.url, "aud": resource, "sub": SUBJECT, "scope": SCOPE, "iat": now, "exp": now + 300}
        claims.update(extra)
        return claims

    # Each handler returns (status, headers, JSON body or None).
    Answer = tuple[int, dict[str, str], Any]

    def _refuse(self, status: int, error: str, why: str) -> Answer:
        with self.lock:
            self.problems.append(f"{error}: {why}")
        return status, {}, {"error": error, "error_description": why}

    def register(self, body: Any) -> Answer:
        if not isinstance(body, dict):
            return self._refuse(400, "invalid_client_metadata", "the body is not a JSON object")
        redirect_uris = body.get("redirect_uris")
        if not isinstance(redirect_uris, list) or not redirect_uris:
            return self._refuse(400, "invalid_redirect_uri", "redirect_uris must be a non-empty list")
        method = body.get("token_endpoint_auth_method", "none")
        if method != "none":
            return self._refuse(400, "invalid_client_metadata", f"only public clients here, not {method}")
        client_id = f"client-{secrets.token_hex(8)}"
        record = {
            "client_id": client_id,
            "client_id_issued_at": int(time.time()),
            "client_name": body.get("client_name"),
            "redirect_uris": redirect_uris,
            "grant_types": body.get("grant_types", ["authorization_code"]),
            "response_types": ["code"],
            "token_endpoint_auth_method": "none",
        }
        if "scope" in body:
            record["scope"] = body["scope"]
        with self.lock:
            self.clients[client_id] = record
        return 201, {}, record

    def authorize(self, query: dict[str, str]) -> Answer:
        # Errors before the redirect URI is known good are shown, not redirected (RFC 6749 4.1.2.1).
        client = self.clients.get(query.get("client_id", ""))
        if client is None:
            return self._refuse(400, "invalid_client", f"unknown client_id {query.get('client_id')!r}")
        redirect_uri = query.get("redirect_uri", "")
        if redirect_uri not in client["redirect_uris"]:
            return self._refuse(400, "invalid_request", f"redirect_uri {redirect_uri!r} is not registered")
        if query.get("response_type") != "code":
            return self._refuse(400, "unsupported_response_type", f"{query.get('response_type')!r}")
        if query.get("code_challenge_method") != "S256" or not query.get("code_challenge"):
            return self._refuse(400, "invalid_request", "PKCE with S256 is required")
        if query.get("resource") not in self.resources:
            return self._refuse(400, "invalid_target", f"unknown resource {query.get('resource')!r}")
        code = secrets.token_urlsafe(24)
        with self.lock:
            self.codes[code] = {
                "client_id": client["client_id"],
                "redirect_uri": redirect_uri,
                "code_challenge": query["code_challenge"],
                "resource": query["resource"],
                "scope": query.get("scope", ""),
            }
        # Approved at once: back to the client with the code, its state and (RFC 9207) who issued it.
        back = {"code": code, "iss": self.url}
        if "state" in query:
            back["state"] = query["state"]
        return 302, {"Location": f"{redirect_uri}?{urlencode(back)}"}, None

    def token(self, form: dict[str, str]) -> Answer:
        if form.get("grant_type") != "authorization_code":
            return self._refuse(400, "unsupported_grant_type", f"{form.get('grant_type')!r}")
        with self.lock:
            grant = self.codes.pop(form.get("code", ""), None)  # single use
        if grant is None:
            return self._refuse(400, "invalid_grant", "unknown or used code")
        if form.get("client_id") != grant["client_id"]:
            return self._refuse(400, "invalid_grant", "the code was issued to another client")
        if form.get("redirect_uri") != grant["redirect_uri"]:
            return self._refuse(400, "invalid_grant", "redirect_uri differs from the authorization request's")
        verifier = form.get("code_verifier", "")
        if pkce_challenge(verifier) != grant["code_challenge"]:
            return self._refuse(400, "invalid_grant", "code_verifier does not match the code_challenge")
        # RFC 8707 section 2.2: the token's audience is the resource named here.
        if form.get("resource") != grant["resource"]:
            return self._refuse(400, "invalid_target", f"resource {form.get('resource')!r} is not the authorized one")
        token = self.key.sign(self.claims(aud=grant["resource"], scope=grant["scope"], azp=grant["client_id"]))
        with self.lock:
            self.issued.append(token)
        body = {"access_token": token, "token_type": "Bearer", "expires_in": 300, "scope": grant["scope"]}
        return 200, {"Cache-Control": "no-store"}, body

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass  # quiet: requests are recorded in `seen`

            def _answer(self, path: str, params: dict[str, Any], answer: AuthorizationServer.Answer) -> None:
                status, headers, body = answer
                with server.lock:
                    server.seen.append(Seen(self.command, path, params, status))
                payload = b"" if body is None else json.dumps(body).encode()
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                if body is not None:
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def do_GET(self) -> None:  # noqa: N802
                url = urlparse(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                if url.path == "/.well-known/oauth-authorization-server":
                    answer: AuthorizationServer.Answer = (200, {}, server.metadata())
                elif url.path == "/jwks":
                    answer = (200, {}, {"keys": [server.key.jwk]})
                elif url.path == "/authorize":
                    answer = server.authorize(query)
                else:
                    answer = (404, {}, {"error": "not_found"})
                self._answer(url.path, query, answer)

            def do_POST(self) -> None:  # noqa: N802
                url = urlparse(self.path)
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                kind = self.headers.get("Content-Type", "")
                if url.path == "/register":
                    try:
                        body: Any = json.loads(raw)
                    except ValueError:
                        body = None
                    params = body if isinstance(body, dict) else {"raw": raw}
                    answer = server.register(body) if kind.startswith("application/json") else server._refuse(
                        400, "invalid_request", f"registration must be JSON, not {kind!r}"
                    )
                elif url.path == "/token":
                    params = {k: v[0] for k, v in parse_qs(raw).items()}
                    answer = server.token(params) if kind.startswith("application/x-www-form-urlencoded") else (
                        server._refuse(400, "invalid_request", f"token requests are forms, not {kind!r}")
                    )
                else:
                    params, answer = {}, (404, {}, {"error": "not_found"})
                self._answer(url.path, params, answer)

        return Handler


# --- the host ---------------------------------------------------------------


@dataclass
class Setup:
    host: HttpHost
    issuer: AuthorizationServer
    resource: str  # the host's /mcp URL: the tokens' audience

    @property
    def metadata_url(self) -> str:
        """RFC 9728 section 3.1: the well-known path inserted before the resource's path."""
        origin = self.resource.removesuffix("/mcp")
        return f"{origin}/.well-known/oauth-protected-resource/mcp"


def free_port() -> int:
    # The host must listen where the config's `oauth.resource` says: the SDK
    # only accepts metadata whose resource is the URL it connects to.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def setup(artifacts: Artifacts, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    port = free_port()
    resource = f"http://127.0.0.1:{port}/mcp"
    root = tmp_path_factory.mktemp("switchboard-oauth")
    with AuthorizationServer(SigningKey(KID), {resource}) as issuer:
        config = root / "switchboard.toml"
        config.write_text(
            kit_config_text(artifacts, root) + "\n"
            "[oauth]\n"
            f'issuer = "{issuer.url}"\n'
            f'resource = "{resource}"\n'
            f'scopes = ["{SCOPE}"]\n'
            "\n"
            "[clients.alice]\n"
            f'jwt_claims = {{ sub = "{SUBJECT}" }}\n'
            f"expose = {json.dumps(ALICE_TOOLS)}\n"
            "\n"
            # Another subject's client: alice's token must not land here.
            "[clients.bob]\n"
            'jwt_claims = { sub = "bob" }\n'
            'expose = ["kit_log"]\n'
        )
        with serve_http(artifacts.bin, config, listen=f"127.0.0.1:{port}") as host:
            assert host.url == resource, host.log_tail()
            yield Setup(host, issuer, resource)
        assert host.process.returncode in (0, -15), f"switchboard exited with {host.process.returncode}:\n" + host.log_tail()


@pytest.fixture
def issuer(setup: Setup) -> AuthorizationServer:
    """The issuer, with what it saw so far forgotten (the host's own key
    fetches at start included)."""
    setup.issuer.reset()
    return setup.issuer


# --- the SDK's OAuth client -------------------------------------------------


class InMemoryTokenStorage:
    """`mcp.client.auth.TokenStorage`, in memory."""

    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client_info: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client_info

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client_info = client_info


@dataclass
class Browser:
    """The user agent: opens the authorization URL, and instead of following
    the redirect back to the client, hands its `code` and `state` over."""

    authorization_urls: list[str] = field(default_factory=list)
    redirects: list[str] = field(default_factory=list)

    async def redirect_handler(self, authorization_url: str) -> None:
        self.authorization_urls.append(authorization_url)
        async with httpx2.AsyncClient(follow_redirects=False, timeout=10.0) as http:
            response = await http.get(authorization_url)
        location = response.headers.get("location")
        if response.status_code != 302 or location is None:
            raise AssertionError(f"/authorize answered {response.status_code} {response.text!r}, not a redirect")
        self.redirects.append(location)

    async def callback_handler(self) -> AuthorizationCodeResult:
        back = parse_qs(urlparse(self.redirects[-1]).query)
        return AuthorizationCodeResult(code=back["code"][0], state=back["state"][0], iss=back["iss"][0])


@dataclass(frozen=True)
class Exchange:
    """One HTTP request the MCP client's httpx2 client sent (the OAuth
    provider's own requests included), and the status it got."""

    method: str
    url: str
    authorization: str | None
    status: int
    challenge: str | None


def only_text(result: types.CallToolResult) -> str:
    assert len(result.content) == 1, result
    block = result.content[0]
    assert isinstance(block, types.TextContent), result
    return block.text


AUDITED_CALL = re.compile(r"switchboard::audit: (caller=\S+ request=\S+ callee=\S+ name=\S+ outcome=\S+)")


async def audit_lines(host: HttpHost, start: int, want: int) -> list[str]:
    """The audited tool calls the host logged from line `start` on, once
    `want` of them have been read from its stderr (which a thread drains)."""
    found: list[str] = []
    with anyio.move_on_after(5.0):
        while True:
            found = [m.group(1) for line in host.stderr_lines[start:] if (m := AUDITED_CALL.search(line))]
            if len(found) >= want:
                break
            await anyio.sleep(0.05)
    return found


@pytest.mark.parametrize(
    ("mode", "era"), [pytest.param("auto", MODERN, id="auto"), pytest.param("legacy", LEGACY, id="legacy")]
)
async def test_sdk_oauth_client_completes_the_flow_and_calls_a_tool(
    setup: Setup, issuer: AuthorizationServer, mode: str, era: str
) -> None:
    exchanges: list[Exchange] = []

    async def record(response: httpx2.Response) -> None:
        request = response.request
        exchanges.append(
            Exchange(
                request.method,
                str(request.url),
                request.headers.get("authorization"),
                response.status_code,
                response.headers.get("www-authenticate"),
            )
        )

    log_start = len(setup.host.stderr_lines)
    storage = InMemoryTokenStorage()
    browser = Browser()
    provider = OAuthClientProvider(
        server_url=setup.resource,
        client_metadata=OAuthClientMetadata(
            client_name="switchboard python e2e",
            redirect_uris=[REDIRECT_URI],
            grant_types=["authorization_code"],
            response_types=["code"],
            token_endpoint_auth_method="none",
        ),
        storage=storage,
        redirect_handler=browser.redirect_handler,
        callback_handler=browser.callback_handler,
    )
    with anyio.fail_after(TEST_TIMEOUT_S):
        async with httpx2.AsyncClient(
            auth=provider, timeout=httpx2.Timeout(30.0, read=TEST_TIMEOUT_S), event_hooks={"response": [record]}
        ) as http:
            transport = streamable_http_client(setup.resource, http_client=http)
            async with Client(transport, mode=mode, read_timeout_seconds=TEST_TIMEOUT_S) as client:
                assert client.protocol_version == era
                assert client.server_info is not None and client.server_info.name == "switchboard"

                listing = await client.list_tools()
                assert sorted(tool.name for tool in listing.tools) == ALICE_TOOLS

                result = await client.call_tool("kit_echo", {"text": f"authorized via OAuth ({era})"})
                assert result.is_error is False
                assert only_text(result) == f"authorized via OAuth ({era})"

                result = await client.call_tool("kit_add", {"a": 40, "b": 2})
                assert result.structured_content == {"sum": 42}

    # The authorization server: one registration, one authorization, one token.
    assert issuer.problems == []
    (registration,) = issuer.requests_to("/register")
    assert registration.status == 201
    assert registration.params["redirect_uris"] == [REDIRECT_URI]
    assert registration.params["token_endpoint_auth_method"] == "none"
    client_id = storage.client_info.client_id if storage.client_info else None
    assert client_id is not None and client_id.startswith("client-")

    (authorization,) = issuer.requests_to("/authorize")
    assert authorization.status == 302
    assert authorization.params["client_id"] == client_id
    assert authorization.params["response_type"] == "code"
    assert authorization.params["redirect_uri"] == REDIRECT_URI
    assert authorization.params["code_challenge_method"] == "S256"
    assert len(authorization.params["code_challenge"]) == 43
    # RFC 8707: the host's resource URL, from its RFC 9728 metadata.
    assert authorization.params["resource"] == setup.resource
    # The scope named by the host's challenge (and its metadata).
    assert authorization.params["scope"] == SCOPE
    (authorization_url,) = browser.authorization_urls
    assert authorization_url.startswith(f"{issuer.url}/authorize?")
    (redirect,) = browser.redirects
    assert redirect.startswith(f"{REDIRECT_URI}?")
    assert parse_qs(urlparse(redirect).query)["state"] == [authorization.params["state"]]

    (token_request,) = issuer.requests_to("/token")
    assert token_request.status == 200
    assert token_request.params["grant_type"] == "authorization_code"
    assert token_request.params["client_id"] == client_id
    assert token_request.params["resource"] == setup.resource
    assert pkce_challenge(token_request.params["code_verifier"]) == authorization.params["code_challenge"]
    (access_token,) = issuer.issued
    assert storage.tokens is not None and storage.tokens.access_token == access_token
    claims = jwt.decode(
        access_token, issuer.key.private.public_key(), algorithms=["ES256"], audience=setup.resource, issuer=issuer.url
    )
    assert (claims["sub"], claims["scope"], claims["azp"]) == (SUBJECT, SCOPE, client_id)

    # What the MCP client sent, in order: the first request without a token
    # gets the challenge; the provider follows it to the host's metadata, the
    # issuer's metadata, registers, gets the token (authorization happened in
    # the browser meanwhile) and retries.
    origin = setup.resource.removesuffix("/mcp")
    expected_challenge = f'Bearer realm="switchboard", resource_metadata="{setup.metadata_url}", scope="{SCOPE}"'
    assert [(e.method, e.url, e.status) for e in exchanges[:6]] == [
        ("POST", setup.resource, 401),
        ("GET", setup.metadata_url, 200),
        ("GET", f"{issuer.url}/.well-known/oauth-authorization-server", 200),
        ("POST", f"{issuer.url}/register", 201),
        ("POST", f"{issuer.url}/token", 200),
        ("POST", setup.resource, 200),
    ], exchanges
    assert exchanges[0].authorization is None
    assert exchanges[0].challenge == expected_challenge
    assert exchanges[5].authorization == f"Bearer {access_token}"
    # Everything after went to the host with that token, and was accepted.
    later = exchanges[6:]
    assert later, "no requests after the first one"
    for e in later:
        assert e.url.startswith(origin), e
        assert e.authorization == f"Bearer {access_token}", e
        assert e.status in (200, 202, 204), e

    # The calls ran as alice (her `[clients]` entry, mapped from `sub`), as
    # the audit log says; the token itself is never logged.
    audit = await audit_lines(setup.host, log_start, want=2)
    assert audit == [
        'caller=client:alice request="tools/call" callee="kit" name="kit_echo" outcome="ok"',
        'caller=client:alice request="tools/call" callee="kit" name="kit_add" outcome="ok"',
    ], setup.host.log_tail()
    assert access_token not in "\n".join(setup.host.stderr_lines), "a token reached the host's log"


# --- tokens the host must refuse ---------------------------------------------

INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": LEGACY,
        "capabilities": {},
        "clientInfo": {"name": "switchboard-oauth-e2e", "version": "1.0.0"},
    },
}
MCP_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


def post_initialize(resource: str, token: str) -> httpx2.Response:
    return httpx2.post(resource, json=INITIALIZE, headers={**MCP_HEADERS, "Authorization": f"Bearer {token}"}, timeout=30.0)


def test_the_host_publishes_its_protected_resource_metadata(setup: Setup) -> None:
    for url in (setup.metadata_url, f"{setup.resource.removesuffix('/mcp')}/.well-known/oauth-protected-resource"):
        response = httpx2.get(url, timeout=10.0)
        assert response.status_code == 200, url
        assert response.json() == {
            "resource": setup.resource,
            "authorization_servers": [setup.issuer.url],
            "bearer_methods_supported": ["header"],
            "resource_name": "Switchboard",
            "scopes_supported": [SCOPE],
        }


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        pytest.param("foreign_key", "the token's signature does not verify", id="key-not-in-jwks"),
        pytest.param(
            "wrong_audience", "the token is not for this server (audience must be {resource})", id="wrong-audience"
        ),
    ],
)
def test_a_bad_token_is_refused_without_a_session(
    setup: Setup, issuer: AuthorizationServer, case: str, reason: str
) -> None:
    if case == "foreign_key":
        # Same `kid` as the issuer's key, so the host cannot tell by the id:
        # only the signature check can refuse it.
        token = SigningKey(KID).sign(issuer.claims())
    else:
        token = issuer.key.sign(issuer.claims(aud="http://127.0.0.1:1/mcp"))

    reason = reason.format(resource=setup.resource)

    response = post_initialize(setup.resource, token)
    assert response.status_code == 401, response.text
    assert "mcp-session-id" not in response.headers
    assert response.headers.get("www-authenticate") == (
        f'Bearer realm="switchboard", resource_metadata="{setup.metadata_url}", scope="{SCOPE}", '
        f'error="invalid_token", error_description="{reason}"'
    )
    assert response.text == reason
    assert token not in "\n".join(setup.host.stderr_lines), "a token reached the host's log"

    # Control: the same request with a good token from the same issuer gets a session.
    good = post_initialize(setup.resource, issuer.key.sign(issuer.claims()))
    assert good.status_code == 200, good.text
    session = good.headers.get("mcp-session-id")
    assert session
    httpx2.delete(
        setup.resource,
        headers={"Authorization": f"Bearer {issuer.key.sign(issuer.claims())}", "Mcp-Session-Id": session},
        timeout=10.0,
    )

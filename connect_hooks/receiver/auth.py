"""The receiver's side of Webex Connect's authorizations: ``listen --require-auth TYPE``."""

from __future__ import annotations

import abc
import base64
import binascii
import collections
import datetime as dt
import hashlib
import hmac
import secrets
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from connect_hooks.errors import BadInput
from connect_hooks.redaction import CREDENTIAL_HEADERS as CREDENTIAL_HEADERS
from connect_hooks.redaction import REDACTED as REDACTED
from connect_hooks.redaction import redact_pairs, secret_headers

AUTH_TYPES = ("basic", "digest", "api-key", "bearer", "aws-sigv4")
REALM = "connect-hooks"
TOKEN_PATH = "/oauth/token"
DEFAULT_TOKEN_TTL = 3600
DEFAULT_API_KEY_HEADER = "X-API-Key"
#: SigV4 requests whose x-amz-date is further than this from our clock are refused (AWS's own rule).
MAX_SKEW = dt.timedelta(minutes=5)
#: How long a Digest nonce stays usable; after that the client is told it is stale.
NONCE_TTL = dt.timedelta(minutes=5)
#: How many nonces and tokens are remembered at most (the oldest are forgotten first).
REMEMBERED = 10_000
# Headers that carry credentials, and what their values become in records, logs and --json: the
# one rule of ``redaction.py`` (re-exported here for the receiver's hot path and older imports).

WallClock = Callable[[], dt.datetime]
Random = Callable[[], str]
Headers = tuple[tuple[str, str], ...]


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _random_token() -> str:
    return secrets.token_urlsafe(32)


def _same(given: str | bytes, expected: str | bytes) -> bool:
    """Constant-time equality of two secrets (as UTF-8 bytes)."""
    a = given.encode("utf-8") if isinstance(given, str) else given
    b = expected.encode("utf-8") if isinstance(expected, str) else expected
    return hmac.compare_digest(a, b)


@dataclass(frozen=True)
class AuthRequest:
    """What a verifier looks at. ``path`` and ``query`` are as sent on the wire (percent-encoded)."""

    method: str
    path: str
    query: str = ""
    headers: Headers = ()  # names in lower case
    body: bytes = b""

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key == name:
                return value
        return None

    def header_values(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key == name]

    @property
    def target(self) -> str:
        return self.path + (f"?{self.query}" if self.query else "")


@dataclass(frozen=True)
class AuthVerdict:
    """A verifier's judgement: ok, or why not (one line, no credential in it)."""

    kind: str  # the auth type: basic, digest, api-key, bearer, aws-sigv4
    ok: bool
    reason: str
    challenges: tuple[str, ...] = ()  # WWW-Authenticate values to send with the 401

    def as_dict(self) -> dict[str, Any]:
        return {"type": self.kind, "ok": self.ok, "reason": self.reason}


class Verifier(abc.ABC):
    """Base of the verifiers. ``token_path`` is set when the receiver also serves a token endpoint."""

    kind = ""
    token_path: str | None = None
    secret_headers: frozenset[str] = CREDENTIAL_HEADERS

    @abc.abstractmethod
    def verify(self, request: AuthRequest) -> AuthVerdict:
        """Judge one request's credentials."""

    @abc.abstractmethod
    def describe(self) -> str:
        """One line for listen's banner: what a sender must present (no secret in it)."""

    def token(self, request: AuthRequest) -> TokenAnswer:
        """Answer a token request; only a verifier with a ``token_path`` (bearer) is ever asked."""
        raise TypeError(f"{self.kind} auth serves no token endpoint")

    def redact(self, headers: Headers) -> Headers:
        """The headers with every credential-carrying value replaced (the scheme word is kept)."""
        return redact_headers(headers, self.secret_headers)

    def ok(self, reason: str) -> AuthVerdict:
        return AuthVerdict(self.kind, True, reason)

    def refuse(self, reason: str, *challenges: str) -> AuthVerdict:
        return AuthVerdict(self.kind, False, reason, challenges)


def redact_headers(headers: Headers, names: frozenset[str] = CREDENTIAL_HEADERS) -> Headers:
    """Credential headers lose their value; an Authorization header keeps its scheme word (``Basic [redacted]``).
    ``headers`` are the receiver's: names already in lower case."""
    if names.isdisjoint([name for name, _ in headers]):  # the usual case, on every request: nothing to redact
        return headers
    return redact_pairs(headers, names)


def _authorization(request: AuthRequest, scheme: str) -> tuple[str | None, str | None]:
    """(the credentials after ``scheme``, None) or (None, what is wrong with the Authorization header)."""
    header = request.header("authorization")
    if header is None:
        return None, "no Authorization header"
    given, _, rest = header.strip().partition(" ")
    if given.lower() != scheme.lower():
        shown = given if given.isalnum() and len(given) <= 20 else "another scheme"
        return None, f"Authorization is {shown}, not {scheme}"
    return rest.strip(), None


# -- Basic ----------------------------------------------------------------------------------------


class BasicVerifier(Verifier):
    kind = "basic"

    def __init__(self, user: str, password: str, realm: str = REALM) -> None:
        self.user = user
        self._password = password
        self.realm = realm

    def challenge(self) -> str:
        return f'Basic realm="{self.realm}", charset="UTF-8"'

    def describe(self) -> str:
        return f"Basic: user {self.user!r} and the password"

    def verify(self, request: AuthRequest) -> AuthVerdict:
        credentials, problem = _authorization(request, "Basic")
        if credentials is None:
            return self.refuse(f"Basic auth: {problem}", self.challenge())
        try:
            user, colon, password = base64.b64decode(credentials, validate=True).decode("utf-8").partition(":")
        except (binascii.Error, ValueError):
            return self.refuse("Basic auth: the credentials are not base64 of user:password", self.challenge())
        if not colon:
            return self.refuse("Basic auth: the credentials have no ':' between user and password", self.challenge())
        user_ok = _same(user, self.user)
        password_ok = _same(password, self._password)
        if not (user_ok and password_ok):
            return self.refuse("Basic auth: wrong user name or password", self.challenge())
        return self.ok(f"Basic auth: user {self.user!r}")


# -- Digest ---------------------------------------------------------------------------------------

_DIGEST_HASHES: dict[str, Callable[[bytes], Any]] = {
    "MD5": hashlib.md5,
    "MD5-SESS": hashlib.md5,
    "SHA-256": hashlib.sha256,
    "SHA-256-SESS": hashlib.sha256,
}
#: Offered in this order (RFC 7616: the preferred first); clients take the first they support.
DIGEST_CHALLENGE_ALGORITHMS = ("SHA-256", "MD5")


def digest_response(
    algorithm: str,
    *,
    user: str,
    realm: str,
    password: str,
    method: str,
    uri: str,
    nonce: str,
    nc: str,
    cnonce: str,
    qop: str = "auth",
) -> str:
    """The ``response`` a client computes for qop=auth (RFC 7616 section 3.4.1)."""

    def h(text: str) -> str:
        return str(_DIGEST_HASHES[algorithm.upper()](text.encode("utf-8")).hexdigest())

    ha1 = h(f"{user}:{realm}:{password}")
    if algorithm.upper().endswith("-SESS"):
        ha1 = h(f"{ha1}:{nonce}:{cnonce}")
    ha2 = h(f"{method}:{uri}")
    return h(f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}")


@dataclass
class _Nonce:
    issued: dt.datetime
    counts: set[int] = field(default_factory=set)


class DigestVerifier(Verifier):
    kind = "digest"

    def __init__(
        self,
        user: str,
        password: str,
        realm: str = REALM,
        *,
        now: WallClock = _utc_now,
        random: Random = _random_token,
        nonce_ttl: dt.timedelta = NONCE_TTL,
    ) -> None:
        self.user = user
        self._password = password
        self.realm = realm
        self._now = now
        self._random = random
        self.nonce_ttl = nonce_ttl
        self.opaque = random()
        self._nonces: collections.OrderedDict[str, _Nonce] = collections.OrderedDict()

    def describe(self) -> str:
        return f"Digest (SHA-256 or MD5, qop=auth): user {self.user!r} and the password"

    def challenges(self, *, stale: bool = False) -> tuple[str, ...]:
        nonce = self._random()
        self._nonces[nonce] = _Nonce(self._now())
        while len(self._nonces) > REMEMBERED:
            self._nonces.popitem(last=False)
        extra = ", stale=true" if stale else ""
        return tuple(
            f'Digest realm="{self.realm}", qop="auth", algorithm={algorithm}, nonce="{nonce}", '
            f'opaque="{self.opaque}"{extra}'
            for algorithm in DIGEST_CHALLENGE_ALGORITHMS
        )

    def _refuse(self, reason: str, *, stale: bool = False) -> AuthVerdict:
        return self.refuse(f"Digest auth: {reason}", *self.challenges(stale=stale))

    def verify(self, request: AuthRequest) -> AuthVerdict:
        import urllib.request  # its list parsers; imported here, as it pulls in http.client

        credentials, problem = _authorization(request, "Digest")
        if credentials is None:
            return self._refuse(f"{problem}")
        try:
            fields = urllib.request.parse_keqv_list(urllib.request.parse_http_list(credentials))
        except (ValueError, IndexError):  # parse_keqv_list raises IndexError on e.g. 'Digest ='
            return self._refuse("the Authorization header is not a list of name=value pairs")
        missing = [n for n in ("username", "realm", "nonce", "uri", "response") if not fields.get(n)]
        if missing:
            return self._refuse(f"the Authorization header lacks {', '.join(missing)}")
        algorithm = fields.get("algorithm", "MD5")
        if algorithm.upper() not in _DIGEST_HASHES:
            return self._refuse(f"algorithm {algorithm[:20]!r} is not supported: use SHA-256 or MD5")
        if fields.get("qop") != "auth":
            return self._refuse("qop must be 'auth' (with nc and cnonce)")
        nc, cnonce = fields.get("nc", ""), fields.get("cnonce", "")
        if len(nc) != 8 or not all(c in "0123456789abcdefABCDEF" for c in nc) or not cnonce:
            return self._refuse("qop=auth needs nc (8 hex digits) and a cnonce")
        if fields.get("userhash", "false").lower() == "true":
            return self._refuse("userhash is not supported: send the user name")
        if fields["realm"] != self.realm:
            return self._refuse(f"the realm is not {self.realm!r}")
        if "opaque" in fields and not _same(fields["opaque"], self.opaque):
            return self._refuse("the opaque value is not the one this receiver sent")
        if fields["uri"] != request.target:
            return self._refuse("uri is not the request's path and query")
        nonce = self._nonces.get(fields["nonce"])
        if nonce is None:
            return self._refuse("unknown nonce (made up, or issued before a restart): answer the new challenge")
        stale = self._now() - nonce.issued > self.nonce_ttl
        expected = digest_response(
            algorithm,
            user=self.user,
            realm=self.realm,
            password=self._password,
            method=request.method,
            uri=fields["uri"],
            nonce=fields["nonce"],
            nc=nc,
            cnonce=cnonce,
        )
        user_ok = _same(fields["username"], self.user)
        response_ok = _same(fields["response"].lower(), expected)
        if not (user_ok and response_ok):
            return self._refuse("wrong user name or password (the response does not match)")
        if stale:
            return self._refuse("the nonce is stale: answer the new challenge", stale=True)
        count = int(nc, 16)
        if count in nonce.counts:
            return self._refuse(f"nonce count {nc} was already used with this nonce (a replay?)")
        nonce.counts.add(count)
        return self.ok(f"Digest auth ({algorithm}): user {self.user!r}")


# -- API key --------------------------------------------------------------------------------------


class ApiKeyVerifier(Verifier):
    kind = "api-key"

    def __init__(self, header: str, key: str) -> None:
        self.header_name = header
        self._key = key
        self.secret_headers = secret_headers(header)

    def describe(self) -> str:
        return f"API key in the {self.header_name} header"

    def verify(self, request: AuthRequest) -> AuthVerdict:
        values = request.header_values(self.header_name.lower())
        if not values:
            return self.refuse(f"API key: no {self.header_name} header")
        if len(values) > 1:
            return self.refuse(f"API key: {len(values)} {self.header_name} headers, expected one")
        if not _same(values[0], self._key):
            return self.refuse(f"API key: wrong key in {self.header_name}")
        return self.ok(f"API key in {self.header_name}")


# -- OAuth 2.0 bearer tokens and the token endpoint ------------------------------------------------


@dataclass(frozen=True)
class TokenAnswer:
    """The token endpoint's answer: status, JSON document, extra headers, and the verdict to record."""

    status: int
    document: dict[str, Any] = field(repr=False)
    verdict: AuthVerdict
    challenges: tuple[str, ...] = ()


class BearerVerifier(Verifier):
    """Tokens issued by ``token()`` (the ``POST /oauth/token`` endpoint) and checked by ``verify()``."""

    kind = "bearer"
    token_path = TOKEN_PATH

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        *,
        ttl: int = DEFAULT_TOKEN_TTL,
        realm: str = REALM,
        now: WallClock = _utc_now,
        random: Random = _random_token,
    ) -> None:
        self.client_id = client_id
        self._client_secret = client_secret
        self.ttl = ttl
        self.realm = realm
        self._now = now
        self._random = random
        self._tokens: collections.OrderedDict[str, tuple[str, dt.datetime]] = collections.OrderedDict()

    def describe(self) -> str:
        return f"OAuth 2.0 bearer token from POST {TOKEN_PATH} (client {self.client_id!r}, tokens last {self.ttl} s)"

    def challenge(self, error: str | None = None, description: str | None = None) -> str:
        text = f'Bearer realm="{self.realm}"'
        if error:
            text += f', error="{error}"'
        if description:
            text += f', error_description="{description}"'
        return text

    @staticmethod
    def _key(token: str) -> str:
        return hashlib.sha256(token.encode("utf-8")).hexdigest()

    def verify(self, request: AuthRequest) -> AuthVerdict:
        credentials, problem = _authorization(request, "Bearer")
        if credentials is None:
            reason = f"{problem}: get a token from POST {TOKEN_PATH} first"
            return self.refuse(f"Bearer token: {reason}", self.challenge())
        if not credentials:
            return self.refuse("Bearer token: the Authorization header has no token", self.challenge("invalid_request"))
        entry = self._tokens.get(self._key(credentials))
        if entry is None:
            return self.refuse(
                "Bearer token: unknown token (not issued by this receiver, or issued before a restart)",
                self.challenge("invalid_token", "unknown token"),
            )
        client, expires = entry
        now = self._now()
        if now >= expires:
            ago = (now - expires).total_seconds()
            return self.refuse(
                f"Bearer token: the token expired {ago:.0f} s ago: fetch a new one",
                self.challenge("invalid_token", "the access token expired"),
            )
        left = (expires - now).total_seconds()
        return self.ok(f"Bearer token of client {client!r} ({left:.0f} s left)")

    def token(self, request: AuthRequest) -> TokenAnswer:
        """Answer a token request (RFC 6749 section 4.4: client credentials grant)."""

        def error(status: int, code: str, description: str, *challenges: str) -> TokenAnswer:
            verdict = AuthVerdict(self.kind, False, f"token request: {description}")
            return TokenAnswer(status, {"error": code, "error_description": description}, verdict, challenges)

        if request.method != "POST":
            return error(405, "invalid_request", f"{request.method} is not how tokens are asked for: POST the form")
        content_type = (request.header("content-type") or "").split(";")[0].strip().lower()
        if content_type != "application/x-www-form-urlencoded":
            return error(400, "invalid_request", "the body must be application/x-www-form-urlencoded")
        try:
            form = urllib.parse.parse_qs(
                request.body.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(request.body)
            )
        except (UnicodeDecodeError, ValueError):
            return error(400, "invalid_request", "the body is not a URL-encoded form")
        if any(len(values) > 1 for values in form.values()):
            return error(400, "invalid_request", "a parameter is repeated")
        params = {name: values[0] for name, values in form.items()}
        if params.get("grant_type") != "client_credentials":
            return error(400, "unsupported_grant_type", "grant_type must be client_credentials")
        basic = request.header("authorization")
        basic_challenge = f'Basic realm="{self.realm}"'
        if basic is not None and ("client_secret" in params or "client_id" in params):
            return error(400, "invalid_request", "the client authenticated twice: in the body and with Basic")
        if basic is not None:
            scheme, _, encoded = basic.strip().partition(" ")
            try:
                if scheme.lower() != "basic":
                    raise ValueError
                raw_id, _, raw_secret = base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
            except (binascii.Error, ValueError):
                return error(401, "invalid_client", "the Authorization header is not Basic client credentials")
            # RFC 6749 section 2.3.1: id and secret are form-encoded before Basic encoding
            client_id, client_secret = urllib.parse.unquote_plus(raw_id), urllib.parse.unquote_plus(raw_secret)
            how = "HTTP Basic"
        else:
            client_id, client_secret = params.get("client_id", ""), params.get("client_secret", "")
            how = "the form body"
            if not client_id or not client_secret:
                return error(401, "invalid_client", "no client credentials (client_id and client_secret)")
        id_ok = _same(client_id, self.client_id)
        secret_ok = _same(client_secret, self._client_secret)
        if not (id_ok and secret_ok):
            challenges = (basic_challenge,) if basic is not None else ()
            return error(401, "invalid_client", f"wrong client id or secret (sent in {how})", *challenges)
        token = self._random()
        now = self._now()
        self._tokens[self._key(token)] = (self.client_id, now + dt.timedelta(seconds=self.ttl))
        self._forget_expired(now)
        document: dict[str, Any] = {"access_token": token, "token_type": "Bearer", "expires_in": self.ttl}
        if params.get("scope"):
            document["scope"] = params["scope"]
        verdict = AuthVerdict(
            self.kind, True, f"token issued to client {self.client_id!r} ({how}), expires in {self.ttl} s"
        )
        return TokenAnswer(200, document, verdict)

    def _forget_expired(self, now: dt.datetime) -> None:
        for key in [k for k, (_, expires) in self._tokens.items() if expires <= now]:
            del self._tokens[key]
        while len(self._tokens) > REMEMBERED:
            self._tokens.popitem(last=False)


# -- AWS Signature Version 4 ----------------------------------------------------------------------

SIGV4_ALGORITHM = "AWS4-HMAC-SHA256"
AMZ_DATE_FORMAT = "%Y%m%dT%H%M%SZ"


def _uri_encode(text: str, safe: str) -> str:
    return urllib.parse.quote(text, safe=safe)  # quote keeps A-Z a-z 0-9 - _ . ~ and ``safe``


def canonical_request(
    method: str,
    path: str,
    query: str,
    headers: Mapping[str, list[str]],
    signed: list[str],
    payload_hash: str,
    *,
    service: str,
) -> str:
    """SigV4's canonical request. ``path`` and ``query`` are as sent; ``headers`` maps lower-case names to values.

    Every service but S3 encodes the path again (so a ``%`` on the wire becomes ``%25``); S3 takes it as sent.
    """
    uri = path or "/"
    if service != "s3":
        uri = _uri_encode(uri, "/")
    pairs = []
    for item in query.split("&"):
        if not item:
            continue
        name, _, value = item.partition("=")
        pairs.append(
            (
                _uri_encode(urllib.parse.unquote(name), ""),
                _uri_encode(urllib.parse.unquote(value), ""),
            )
        )
    canonical_query = "&".join(f"{name}={value}" for name, value in sorted(pairs))
    lines = "".join(f"{name}:{','.join(' '.join(v.split()) for v in headers.get(name, []))}\n" for name in signed)
    return "\n".join([method, uri, canonical_query, lines, ";".join(signed), payload_hash])


def sigv4_signature(secret_key: str, amz_date: str, region: str, service: str, canonical: str) -> str:
    """The hex signature of a canonical request (AWS SigV4: string to sign, derived key, HMAC)."""
    scope = f"{amz_date[:8]}/{region}/{service}/aws4_request"
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    string_to_sign = f"{SIGV4_ALGORITHM}\n{amz_date}\n{scope}\n{digest}"
    key = ("AWS4" + secret_key).encode("utf-8")
    for part in (amz_date[:8], region, service, "aws4_request"):
        key = hmac.new(key, part.encode("utf-8"), hashlib.sha256).digest()
    return hmac.new(key, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


class SigV4Verifier(Verifier):
    kind = "aws-sigv4"

    def __init__(
        self,
        access_key_id: str,
        secret_access_key: str,
        region: str,
        service: str,
        session_token: str | None = None,
        *,
        now: WallClock = _utc_now,
        max_skew: dt.timedelta = MAX_SKEW,
    ) -> None:
        self._access_key_id = access_key_id
        self._secret_access_key = secret_access_key
        self.region = region
        self.service = service
        self._session_token = session_token
        self._now = now
        self.max_skew = max_skew

    def describe(self) -> str:
        token = " and the session token" if self._session_token is not None else ""
        return f"AWS Signature V4 for region {self.region!r}, service {self.service!r} (same keys{token})"

    def verify(self, request: AuthRequest) -> AuthVerdict:
        fields, problem = _sigv4_fields(request)
        if fields is not None:
            problem = self._problem(request, fields)
        if problem is not None:
            return self.refuse(f"AWS SigV4: {problem}")
        return self.ok(f"AWS SigV4 verifies ({self.region}/{self.service})")

    def _problem(self, request: AuthRequest, fields: dict[str, str]) -> str | None:
        """What is wrong with a well-formed Authorization header's request, in the order AWS checks it; or None."""
        scope = fields["Credential"].split("/")
        if len(scope) != 5 or scope[4] != "aws4_request":
            return "Credential is not KEY/DATE/REGION/SERVICE/aws4_request"
        key_id, date, region, service, _ = scope
        if not _same(key_id, self._access_key_id):
            return "unknown access key id (not the AWS_ACCESS_KEY_ID this receiver was given)"
        if region != self.region or service != self.service:
            return f"signed for {region[:40]}/{service[:40]}, this receiver expects {self.region}/{self.service}"
        signed = fields["SignedHeaders"].split(";")
        headers: dict[str, list[str]] = {}
        for name, value in request.headers:
            headers.setdefault(name, []).append(value)
        return (
            self._date_problem(request.header("x-amz-date"), date)
            or _signed_headers_problem(signed, headers)
            or self._token_problem(request)
            or self._signature_problem(request, fields["Signature"], signed, headers)
        )

    def _date_problem(self, amz_date: str | None, date: str) -> str | None:
        """x-amz-date: present, well-formed, the Credential's day, and within ``max_skew`` of this clock."""
        if amz_date is None:
            return "no x-amz-date header"
        try:
            when = dt.datetime.strptime(amz_date, AMZ_DATE_FORMAT).replace(tzinfo=dt.UTC)
        except ValueError:
            return "x-amz-date is not YYYYMMDDTHHMMSSZ"
        if date != amz_date[:8]:
            return "the Credential's date is not the day of x-amz-date"
        skew = (when - self._now()).total_seconds()
        if abs(skew) > self.max_skew.total_seconds():
            side = "ahead of" if skew > 0 else "behind"
            return f"x-amz-date is {abs(skew):.0f} s {side} this receiver's clock (at most 300 s allowed)"
        return None

    def _token_problem(self, request: AuthRequest) -> str | None:
        if self._session_token is None:
            return None
        token = request.header("x-amz-security-token")
        if token is None or not _same(token, self._session_token):
            return "x-amz-security-token is missing or is not AWS_SESSION_TOKEN"
        return None

    def _signature_problem(
        self, request: AuthRequest, signature: str, signed: list[str], headers: dict[str, list[str]]
    ) -> str | None:
        """The payload hash and the signature, computed again from the same keys."""
        payload_hash = hashlib.sha256(request.body).hexdigest()
        declared = request.header("x-amz-content-sha256")
        if declared is not None and declared != payload_hash:
            return "x-amz-content-sha256 is not the SHA-256 of the body (the body must be signed)"
        canonical = canonical_request(
            request.method, request.path, request.query, headers, signed, payload_hash, service=self.service
        )
        amz_date = request.header("x-amz-date")
        assert amz_date is not None  # checked by _date_problem
        expected = sigv4_signature(self._secret_access_key, amz_date, self.region, self.service, canonical)
        if not _same(signature.lower(), expected):
            return "the signature does not match (wrong secret key, or the request changed after signing)"
        return None


def _sigv4_fields(request: AuthRequest) -> tuple[dict[str, str] | None, str | None]:
    """The Authorization header's Credential=, SignedHeaders= and Signature= (all three), or why not."""
    credentials, problem = _authorization(request, SIGV4_ALGORITHM)
    if credentials is None:
        return None, f"{problem}"
    fields: dict[str, str] = {}
    for part in credentials.split(","):
        name, equals, value = part.strip().partition("=")
        if equals:
            fields[name] = value.strip()
    if not all(fields.get(n) for n in ("Credential", "SignedHeaders", "Signature")):
        return None, "the Authorization header needs Credential=, SignedHeaders= and Signature="
    return fields, None


def _signed_headers_problem(signed: list[str], headers: dict[str, list[str]]) -> str | None:
    """SignedHeaders: lower case, sorted, no repeats, host and x-amz-date among them, each in the request."""
    if signed != sorted(set(signed)) or any(name != name.lower() for name in signed):
        return "SignedHeaders must be lower case, sorted and without repeats"
    for needed in ("host", "x-amz-date"):
        if needed not in signed:
            return f"{needed} must be among the SignedHeaders"
    absent = [name for name in signed if name not in headers]
    if absent:
        return f"signed header {absent[0]} is not in the request"
    return None


# -- From options to a verifier -------------------------------------------------------------------


@dataclass(frozen=True)
class RequiredAuth:
    """What ``listen --require-auth`` was given; secrets never shown in its repr."""

    kind: str
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    api_key_header: str | None = None
    api_key: str | None = field(default=None, repr=False)
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    token_ttl: int = DEFAULT_TOKEN_TTL
    aws_region: str | None = None
    aws_service: str | None = None
    aws_access_key_id: str | None = field(default=None, repr=False)
    aws_secret_access_key: str | None = field(default=None, repr=False)
    aws_session_token: str | None = field(default=None, repr=False)


def read_credential(
    environ: Mapping[str, str], variable: str, path: str | None, option: str, what: str, needed_by: str
) -> str:
    """A credential from ``option``'s file (the command line wins) or the environment variable; never empty."""
    from connect_hooks.client.credentials import read_credential_file  # the sender's reader: one set of messages

    if path is not None:
        return read_credential_file(path, option, what)
    value = environ.get(variable)
    if value is None:
        raise BadInput(f"{needed_by} needs the {what}: set {variable} or give {option} FILE")
    if value == "":
        raise BadInput(f"{variable} is set but empty: give it the {what}, or use {option} FILE")
    return value


def make_verifier(settings: RequiredAuth, *, now: WallClock = _utc_now, random: Random = _random_token) -> Verifier:
    """The verifier for ``settings``; bad input when something it needs is missing."""
    kind = settings.kind
    needed_by = f"--require-auth {kind}"

    def need(value: str | None, option: str) -> str:
        if not value:
            raise BadInput(f"{needed_by} needs {option}")
        return value

    if kind in ("basic", "digest"):
        user = need(settings.user, "--auth-user USER")
        password = need(settings.password, "a password (CONNECT_HOOKS_AUTH_PASSWORD or --auth-password-file)")
        if kind == "basic":
            if ":" in user:
                raise BadInput("--auth-user must not contain ':' (Basic auth cannot carry it)")
            return BasicVerifier(user, password)
        return DigestVerifier(user, password, now=now, random=random)
    if kind == "api-key":
        header = need(settings.api_key_header, f"--api-key-header NAME (e.g. {DEFAULT_API_KEY_HEADER})")
        if any(c in header for c in " :\t\r\n"):
            raise BadInput(f"--api-key-header {header!r} is not a header name: give e.g. {DEFAULT_API_KEY_HEADER}")
        return ApiKeyVerifier(header, need(settings.api_key, "an API key (CONNECT_HOOKS_API_KEY or --api-key-file)"))
    if kind == "bearer":
        client_id = need(settings.client_id, "--client-id ID")
        secret = need(settings.client_secret, "a client secret (CONNECT_HOOKS_CLIENT_SECRET or --client-secret-file)")
        return BearerVerifier(client_id, secret, ttl=settings.token_ttl, now=now, random=random)
    if kind == "aws-sigv4":
        return SigV4Verifier(
            need(settings.aws_access_key_id, "AWS_ACCESS_KEY_ID"),
            need(settings.aws_secret_access_key, "AWS_SECRET_ACCESS_KEY"),
            need(settings.aws_region, "--aws-region REGION"),
            need(settings.aws_service, "--aws-service SERVICE"),
            settings.aws_session_token or None,
            now=now,
        )
    raise BadInput(f"--require-auth {kind!r} is not one of {', '.join(AUTH_TYPES)}")

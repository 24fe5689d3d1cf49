"""A template's "Sign in with <CRM>": its `oauth2_authorization_code` auth as the daemon's `OAuthSignIn`.

The template says where (authorize and token addresses, filled from the book's settings: a tenant, a data
centre, a sandbox), what (scope) and who-am-I (`auth.userinfo`); the daemon runs the flow and keeps the tokens.
The client id is the book's own when the user gave one (an advanced setting), else the partner's (branding).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from partnercrmd.sdk import OAuthSignIn

from .expressions import Text, as_text, compile_path, search
from .loader import LoadedTemplate
from .settings import defaults_filled


def _text(spec: Mapping[str, Any], key: str, context: Mapping[str, Any]) -> str:
    value = spec.get(key)
    return Text.compile(value).text(context).strip() if isinstance(value, str) else ""


def sign_in_for(loaded: LoadedTemplate) -> Callable[[Mapping[str, Any]], OAuthSignIn | None] | None:
    """`Integration.sign_in` of a template that signs in by authorisation code; None for every other kind."""
    data = loaded.data
    auth = data["auth"]
    if auth["type"] != "oauth2_authorization_code":
        return None
    userinfo = auth.get("userinfo") or {}
    name_path = compile_path(userinfo["name"]) if "name" in userinfo else None

    def account_name(answer: Any) -> str:
        return as_text(search(name_path, answer)) if name_path is not None else ""

    def sign_in(given: Mapping[str, Any]) -> OAuthSignIn:
        context = {"settings": defaults_filled(data, given)}
        client_id = _text(auth, "client_id", context)
        scope = _text(auth, "scope", context)
        return OAuthSignIn(
            authorize_url=_text(auth, "authorize_url", context),
            token_url=_text(auth, "token_url", context),
            scopes=(scope,) if scope else (),
            authorize_params={
                k: Text.compile(v).text(context) for k, v in (auth.get("authorize_params") or {}).items()
            },
            client_id=client_id,
            client_secret=_text(auth, "client_secret", context) if client_id else "",
            client_auth=str(auth.get("client_auth", "body")),
            token_scheme=str(auth.get("scheme", "Bearer")),
            userinfo_url=_text(userinfo, "url", context),
            account_name=account_name if name_path is not None else None,
            service=str(auth.get("service") or data["name"]),
        )

    return sign_in

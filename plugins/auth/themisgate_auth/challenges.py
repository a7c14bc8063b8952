"""401 answers in the shape RFC 6750 §3 gives them: problem+json for the body, and a
`WWW-Authenticate: Bearer` challenge saying what was wrong, for clients that read it."""

from __future__ import annotations

import re

from themisgate import ProblemError

REALM = "themisgate"
# RFC 6750 §3: error_description holds %x20-21 / %x23-5B / %x5D-7E, i.e. no `"` or `\`
_NOT_ALLOWED = re.compile(r"[^\x20\x21\x23-\x5b\x5d-\x7e]")


def challenge(error: str | None = None, description: str | None = None) -> str:
    parts = [f'Bearer realm="{REALM}"']
    if error:
        parts.append(f'error="{error}"')
    if description:
        parts.append(f'error_description="{_NOT_ALLOWED.sub("", description)}"')
    return ", ".join(parts)


def unauthorized(detail: str, description: str, error: str = "invalid_token") -> ProblemError:
    return ProblemError(
        401,
        detail,
        slug="unauthorized",
        headers={"WWW-Authenticate": challenge(error, description)},
    )

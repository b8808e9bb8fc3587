"""Schemathesis hooks for scripts/schema-fuzz: every generated request goes out as the
SPA's would, with the cookies of a signed-in browser and the CSRF header equal to the
`csrf_token` cookie.

Requests under /api/admin/ are signed in as the admin the script created; all others as
a user registered for the purpose. A 401 (a fuzzed logout or `logout-all` ended the
session) makes schemathesis sign in again, registering another user.
"""

import os
import uuid

import requests
import schemathesis

BASE_URL = os.environ["FUZZ_BASE_URL"]
ADMIN_EMAIL = os.environ["FUZZ_ADMIN_EMAIL"]
PASSWORD = os.environ["FUZZ_PASSWORD"]
# The server trusts 127.0.0.1 as a proxy, so these sign-ins count against an address of
# their own: the fuzzed logins' failures fill the per-IP limit of 127.0.0.1, not this.
SIGN_IN_HEADERS = {"X-Forwarded-For": "192.0.2.1"}


def _is_admin(case):
    return case.path.startswith("/api/admin/")


def _sign_in(path, body):
    response = requests.post(
        BASE_URL + path, json=body, headers=SIGN_IN_HEADERS, timeout=30
    )
    if response.status_code not in (200, 201):
        raise RuntimeError(f"{path} answered {response.status_code}: {response.text}")
    return {cookie.name: cookie.value for cookie in response.cookies}


@schemathesis.auth(cache_by_key=lambda case, context: "admin" if _is_admin(case) else "user")
class SignedInBrowser:
    def get(self, case, context):
        if _is_admin(case):
            return _sign_in("/api/auth/login", {"email": ADMIN_EMAIL, "password": PASSWORD})
        email = f"fuzz-{uuid.uuid4().hex}@example.com"
        return _sign_in("/api/auth/register", {"email": email, "password": PASSWORD})

    def set(self, case, cookies, context):
        case.cookies = {**(case.cookies or {}), **cookies}
        case.headers = {**(case.headers or {}), "X-CSRF-Token": cookies["csrf_token"]}

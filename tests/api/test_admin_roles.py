"""Role checks on every staff route, found by walking the app's URL map (a new unprotected route fails)."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import AuditLog, Movie, Role
from app.services import auth
from tests.accounts_support import bearer
from tests.factories import auth_headers, make_movie, make_user

# Bodies a staff route would refuse with 422: the role check must answer first.
INVALID_BODY = {"json": {"no_such_field": "x" * 10_000, "title": 12, "role": "superadmin"}}


def _staff_rules(app):
    rules = []
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        # every route under /api/admin, and any other route that declares itself staff-only
        if not rule.rule.startswith("/api/admin") and not hasattr(view, "required_role"):
            continue
        path = re.sub(r"<int:[^>]+>", "999999", rule.rule)
        path = re.sub(r"<[^>]+>", "nothing-here", path)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            rules.append((method, path, rule.endpoint))
    return rules


def _call(client, method, path, headers=None):
    return client.open(path, method=method, headers=headers or {}, **INVALID_BODY)


def test_there_are_staff_routes_to_walk(app):
    endpoints = {endpoint for _, _, endpoint in _staff_rules(app)}
    # The staff surface: catalogue, showtimes (create/update/cancel), bookings, sales, users, roles.
    for expected in ("admin.create_movie", "admin.create_theatre", "admin.create_screen", "admin.create_showtime",
                     "admin.update_showtime", "admin.cancel_showtime", "admin.list_bookings", "admin.showtime_sales",
                     "admin.list_users", "admin.set_role"):
        assert expected in endpoints


def test_every_staff_route_refuses_anonymous_and_plain_users_before_validation_or_lookup(app, client, ctx):
    user = make_user(role=Role.USER)
    deactivated_admin = make_user(role=Role.ADMIN)
    deactivated_admin.is_active = False
    db.session.commit()
    for method, path, endpoint in _staff_rules(app):
        anonymous = _call(client, method, path)
        assert anonymous.status_code == 401, (method, path, anonymous.get_json())
        assert anonymous.get_json()["error"]["code"] == "unauthorized"
        plain = _call(client, method, path, auth_headers(user))
        assert plain.status_code == 403, (method, path, plain.get_json())
        assert plain.get_json()["error"]["code"] == "staff_only"
        gone = _call(client, method, path, auth_headers(deactivated_admin))
        assert gone.status_code == 401, (method, path, gone.get_json())
        bad_token = _call(client, method, path, bearer("not-a-token"))
        assert bad_token.status_code == 401, (method, path)
        # Every view function carries the one decorator.
        assert getattr(app.view_functions[endpoint], "required_role", None) in (Role.ADMIN, Role.SUPERADMIN), endpoint
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditLog)) == 0


def test_staff_pass_the_check_and_superadmin_routes_refuse_admins(app, client, ctx):
    admin = make_user(role=Role.ADMIN)
    superadmin = make_user(role=Role.SUPERADMIN)
    for method, path, endpoint in _staff_rules(app):
        required = app.view_functions[endpoint].required_role
        as_admin = _call(client, method, path, auth_headers(admin))
        as_super = _call(client, method, path, auth_headers(superadmin))
        if required is Role.SUPERADMIN:
            assert as_admin.status_code == 403 and as_admin.get_json()["error"]["code"] == "superadmin_only"
        else:
            assert as_admin.status_code not in (401, 403), (method, path, as_admin.get_json())
        # Past the role check, the invalid body (or the unknown id) is what is refused.
        assert as_super.status_code in (200, 404, 422), (method, path, as_super.get_json())
        if method in ("POST", "PUT", "PATCH"):
            assert as_super.status_code in (404, 422), (method, path, as_super.get_json())


def test_demoted_admin_loses_access_at_once(client, ctx):
    superadmin = make_user(role=Role.SUPERADMIN)
    admin = make_user(role=Role.ADMIN)
    headers = auth_headers(admin)  # issued while still an admin
    assert client.get("/api/admin/users", headers=headers).status_code == 200
    demoted = client.put(f"/api/admin/users/{admin.id}/role", json={"role": "user"}, headers=auth_headers(superadmin))
    assert demoted.status_code == 200 and demoted.get_json()["role"] == "user"
    refused = client.get("/api/admin/users", headers=headers)
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "staff_only"


def test_revoked_staff_token_is_refused(client, ctx):
    admin = make_user(role=Role.ADMIN)
    pair = auth.token_pair(admin)
    assert client.post("/api/user/logout", headers=bearer(pair["access_token"])).status_code == 204
    response = client.post("/api/admin/movies", headers=bearer(pair["access_token"]),
                           json={"title": "X", "genre": "Drama", "language": "Hindi", "duration_min": 90})
    assert response.status_code == 401 and response.get_json()["error"]["code"] == "token_revoked"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Movie)) == 0


def test_non_staff_learn_nothing_about_existing_rows(client, ctx):
    movie = make_movie()
    user = make_user()
    existing = client.patch(f"/api/admin/movies/{movie.id}", json={"title": "Hacked"}, headers=auth_headers(user))
    missing = client.patch("/api/admin/movies/999999", json={"title": "Hacked"}, headers=auth_headers(user))
    assert existing.status_code == missing.status_code == 403
    assert existing.get_json() == missing.get_json()
    db.session.refresh(movie)
    assert movie.title != "Hacked"


def test_every_staff_route_is_tagged_admin_and_secured_in_openapi(app, client):
    spec = client.get("/api/openapi.json").get_json()
    marked = {re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule) for rule in app.url_map.iter_rules()
              if hasattr(app.view_functions[rule.endpoint], "required_role")}
    staff_paths = {p: ops for p, ops in spec["paths"].items() if p.startswith("/api/admin") or p in marked}
    documented = {(method.upper(), path) for path, ops in staff_paths.items() for method in ops
                  if method in ("get", "post", "put", "patch", "delete")}
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        # every route under /api/admin, and any other route that declares itself staff-only
        if not rule.rule.startswith("/api/admin") and not hasattr(view, "required_role"):
            continue
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (method, path) in documented, (method, path)
    for path, ops in staff_paths.items():
        for method, op in ops.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            assert "admin" in op.get("tags", []), (method, path)
            assert op.get("security") == [{"bearerAuth": []}], (method, path)
            assert {"401", "403"} <= set(op["responses"]), (method, path)


@pytest.mark.parametrize("role", ["superadmin", "owner"])
def test_roles_granted_through_the_api_are_only_user_and_admin(client, ctx, role):
    superadmin = make_user(role=Role.SUPERADMIN)
    target = make_user()
    response = client.put(f"/api/admin/users/{target.id}/role", json={"role": role}, headers=auth_headers(superadmin))
    assert response.status_code == 422
    db.session.refresh(target)
    assert target.role is Role.USER


def test_user_list_under_the_accounts_prefix_is_staff_only(client, ctx):
    from app.models import Role as _Role
    from tests.factories import auth_headers as _headers
    from tests.factories import make_user as _make_user

    admin, user = _make_user(role=_Role.ADMIN), _make_user()
    assert client.get("/api/user/users").status_code == 401
    assert client.get("/api/user/users", headers=_headers(user)).status_code == 403
    body = client.get("/api/user/users", headers=_headers(admin)).get_json()
    assert body["total"] == 2 and {u["email"] for u in body["items"]} == {admin.email, user.email}

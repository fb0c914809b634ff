"""Account routes: sign-up codes, registration, login, logout, refresh and the caller's profile."""

from __future__ import annotations

from typing import Any

from flask import current_app, request
from flask_jwt_extended import get_jwt, get_jwt_identity, jwt_required
from flask_smorest import Blueprint

from app.api.auth import staff_required
from app.api.docs import error_responses
from app.extensions import config_limit, limiter
from app.schemas.accounts import (
    LoginSchema,
    LogoutSchema,
    OtpSentSchema,
    RefreshSchema,
    RegisteredSchema,
    RegisterSchema,
    RegistrationTokenSchema,
    SendOtpSchema,
    TokenSchema,
    UserFilterArgs,
    UserPage,
    UserSchema,
    VerifyOtpSchema,
)
from app.services import accounts_admin, auth, otp, paging, revocation, tasks
from app.services.uow import transaction


class AccountsBlueprint(Blueprint):
    # Login reads JSON or an OAuth2 form; document it as a request body (JSON here, the form is added below).
    DEFAULT_LOCATION_CONTENT_TYPE_MAPPING = {
        **Blueprint.DEFAULT_LOCATION_CONTENT_TYPE_MAPPING, "json_or_form": "application/json",
    }


blp = AccountsBlueprint("users", __name__, url_prefix="/api/user", description="Sign-up, login and sessions")

_SECURITY: list[dict[str, list[str]]] = [{"bearerAuth": []}]


def _body_email() -> str:
    """Per-address key: the (normalised) email in the JSON or form body."""
    data = request.get_json(silent=True) if request.is_json else request.form
    value = None
    if data is not None and hasattr(data, "get"):
        value = data.get("email") or data.get("username")
    if not isinstance(value, str) or not value.strip():
        return "address:-"
    return "address:" + value.strip().lower()[:254]


def _errors(**described: str):  # type: ignore[no-untyped-def]
    return error_responses(blp, {int(status.removeprefix("e")): text for status, text in described.items()})


@blp.route("/send-otp", methods=["POST"])
@limiter.limit(config_limit("RATE_LIMIT_OTP_PER_IP"))
@limiter.limit(config_limit("RATE_LIMIT_OTP_PER_ADDRESS"), key_func=_body_email)
@blp.arguments(SendOtpSchema, error_status_code=422)
@blp.response(202, OtpSentSchema)
@_errors(e422="validation_error", e429="rate_limited (per IP, per address, or the resend cooldown); see Retry-After")
def send_otp(body: dict[str, Any]) -> dict[str, Any]:
    """Email a 6-digit code to the address (valid OTP_TTL_S seconds, single use): for /verify-otp (sign-up)
    or /login-otp (login without a password).

    The answer is the same whether or not the address already has an account.
    """
    issue_id = otp.request_code(body["email"])
    tasks.enqueue(tasks.SEND_OTP_EMAIL, body["email"], issue_id)
    return {"status": "sent", "expires_in": current_app.config["OTP_TTL_S"],
            "resend_after": current_app.config["OTP_RESEND_COOLDOWN_S"]}


@blp.route("/verify-otp", methods=["POST"])
@limiter.limit(config_limit("RATE_LIMIT_VERIFY_PER_IP"))
@blp.arguments(VerifyOtpSchema, error_status_code=422)
@blp.response(200, RegistrationTokenSchema)
@_errors(e400="otp_invalid (details.attempts_left), otp_expired (none, expired, used or voided after too "
              "many wrong tries)", e422="validation_error",
         e429="rate_limited (per IP, or details.reason otp_failure_budget: too many wrong codes for the address "
              "today, whatever the code); see Retry-After")
def verify_otp(body: dict[str, Any]) -> dict[str, Any]:
    """Check a sign-up code; answers a short-lived registration token, accepted only by /register."""
    email = otp.verify_code(body["email"], body["otp"])
    return auth.registration_token(email)


@blp.route("/register", methods=["POST"])
@limiter.limit(config_limit("RATE_LIMIT_AUTH_PER_IP"))
@blp.arguments(RegisterSchema, error_status_code=422)
@blp.response(201, RegisteredSchema)
@_errors(e401="registration_token_invalid", e409="email_taken, phone_taken",
         e422="validation_error (a `role` field is refused like any unknown field)", e429="rate_limited")
def register(body: dict[str, Any]) -> dict[str, Any]:
    """Create the account (always a plain user) for the verified email; answers the user and tokens."""
    with transaction():
        user = auth.register(body["registration_token"], body["name"], body["password"], body.get("phone"))
    return {"user": user, **auth.token_pair(user)}


_FORM_DOC = {"requestBody": {"content": {"application/x-www-form-urlencoded": {"schema": LoginSchema}}}}


@blp.route("/login", methods=["POST"])
@limiter.limit(config_limit("RATE_LIMIT_LOGIN_PER_IP"))
@limiter.limit(config_limit("RATE_LIMIT_LOGIN_FAILURES_PER_ACCOUNT"), key_func=_body_email,
               deduct_when=lambda response: response.status_code == 401)
@blp.arguments(LoginSchema, location="json_or_form", error_status_code=422)
@blp.response(200, TokenSchema)
@blp.doc(**_FORM_DOC)
@_errors(e401="invalid_credentials (the same for an unknown email and a wrong password)",
         e422="validation_error", e429="rate_limited (per IP, and failed attempts per account)")
def login(body: dict[str, Any]) -> dict[str, Any]:
    """Log in with email and password (JSON, or an OAuth2 password form with `username`)."""
    user = auth.authenticate(body["email"], body["password"])
    return auth.token_pair(user)


@blp.route("/login-otp", methods=["POST"])
@limiter.limit(config_limit("RATE_LIMIT_VERIFY_PER_IP"))
@blp.arguments(VerifyOtpSchema, error_status_code=422)
@blp.response(200, TokenSchema)
@_errors(e400="otp_invalid (details.attempts_left), otp_expired", e401="invalid_credentials (no active account "
         "that may use codes has this address; staff accounts may not)", e422="validation_error",
         e429="rate_limited (per IP, or details.reason otp_failure_budget: OTP_FAILURES_PER_DAY wrong codes for "
              "the address, across codes; even a right code waits); see Retry-After")
def login_otp(body: dict[str, Any]) -> dict[str, Any]:
    """Log in without a password: the code /send-otp mailed to the account's address (single use). Not
    for staff accounts, which sign in with their password."""
    user = auth.authenticate_by_code(body["email"], body["otp"])
    return auth.token_pair(user)


@blp.route("/logout", methods=["POST"])
@jwt_required()
@blp.doc(security=_SECURITY)
@blp.arguments(LogoutSchema, required=False, error_status_code=422)
@blp.response(204)
@_errors(e401="unauthorized, invalid_token, token_expired, token_revoked", e422="validation_error")
def logout(body: dict[str, Any]) -> None:
    """End the session: the bearer access token, the refresh token when given, and every refresh token
    of the same sign-in (given or not) get 401 from then on."""
    with transaction():
        revocation.revoke(get_jwt())
        revocation.revoke_family(get_jwt())
        if body.get("refresh_token"):
            revocation.revoke_encoded_refresh(body["refresh_token"], get_jwt_identity())


@blp.route("/refresh", methods=["POST"])
@limiter.limit(config_limit("RATE_LIMIT_AUTH_PER_IP"))
@blp.arguments(RefreshSchema, required=False, error_status_code=422)  # first: the JWT reader expects an object
@jwt_required(refresh=True, locations=["headers", "json"])
@blp.doc(security=_SECURITY)
@blp.response(200, TokenSchema)
@_errors(e401="unauthorized, invalid_token, token_expired, token_revoked (already rotated)",
         e422="validation_error", e429="rate_limited")
def refresh(_body: dict[str, Any]) -> dict[str, Any]:
    """Exchange a refresh token (bearer header or `refresh_token` in the body) for a new pair; the old
    refresh token is revoked."""
    with transaction():
        return revocation.rotate(get_jwt())


@blp.route("/me")
@jwt_required()
@blp.doc(security=_SECURITY)
@blp.response(200, UserSchema)
@_errors(e401="unauthorized, invalid_token, token_expired, token_revoked, account_inactive")
def me() -> Any:
    """The signed-in user."""
    return auth.user_from_identity(get_jwt_identity())


@blp.route("/users")
@staff_required()
@blp.doc(security=_SECURITY, tags=["admin"])
@blp.arguments(UserFilterArgs, location="query", error_status_code=422)
@blp.response(200, UserPage)
@_errors(e401="unauthorized, invalid_token, token_expired, token_revoked, account_inactive",
         e403="staff_only", e422="validation_error")
def list_users(args: dict[str, Any]) -> dict[str, Any]:
    """Users, for staff only: the same list as GET /api/admin/users (the accounts issue names this path)."""
    items, total = accounts_admin.list_users(args["page"], args["per_page"], q=args.get("q"), role=args.get("role"))
    return paging.page_body(items, total, args["page"], args["per_page"])

"""Account request and response schemas: sign-up codes, registration, login, tokens, users."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, post_load, pre_load, validate, validates_schema

from app.schemas.common import PageArgs, page_of

PASSWORD = validate.Length(min=8, max=256, error="must be 8 to 256 characters")
PHONE = validate.Regexp(r"^\+[1-9][0-9]{7,14}$", error="an E.164 number such as +919812345678")


def _lower(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


class SendOtpSchema(Schema):
    email = fields.Email(required=True, validate=validate.Length(max=254))

    @pre_load
    def _normalise(self, data: Any, **_: Any) -> Any:
        return {**data, "email": _lower(data.get("email"))} if isinstance(data, dict) and "email" in data else data


class VerifyOtpSchema(SendOtpSchema):
    otp = fields.String(required=True, validate=validate.Regexp(r"^[0-9]{6}$", error="six digits"))


class RegisterSchema(Schema):
    """No role field: unknown fields (a `role` among them) are refused with 422."""

    registration_token = fields.String(required=True, validate=validate.Length(min=1, max=2048))
    name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    password = fields.String(required=True, load_only=True, validate=PASSWORD)
    phone = fields.String(validate=PHONE)

    @post_load
    def _strip(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        data["name"] = data["name"].strip()
        if not data["name"]:
            raise ValidationError("must not be blank", "name")
        return data


class LoginSchema(Schema):
    """JSON `{"email" or "username", "password"}` or an OAuth2 password form (`username`, `password`)."""

    username = fields.String(validate=validate.Length(min=1, max=254), metadata={"description": "the email"})
    email = fields.String(validate=validate.Length(min=1, max=254))
    password = fields.String(required=True, load_only=True, validate=validate.Length(min=1, max=256))
    grant_type = fields.String(validate=validate.Equal("password"))
    scope = fields.String(validate=validate.Length(max=200))
    client_id = fields.String(validate=validate.Length(max=200))
    client_secret = fields.String(validate=validate.Length(max=200), load_only=True)

    @validates_schema
    def _one_identity(self, data: dict[str, Any], **_: Any) -> None:
        if not (data.get("username") or data.get("email")):
            raise ValidationError("give the email as `email` or `username`", "username")

    @post_load
    def _email(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        return {"email": _lower(data.get("email") or data["username"]), "password": data["password"]}


class LogoutSchema(Schema):
    refresh_token = fields.String(validate=validate.Length(min=1, max=4096),
                                  metadata={"description": "also revoke this refresh token"})


class RefreshSchema(Schema):
    refresh_token = fields.String(validate=validate.Length(min=1, max=4096),
                                  metadata={"description": "the refresh token, if not sent as the bearer token"})


class OtpSentSchema(Schema):
    status = fields.String(metadata={"description": "always `sent`, whether or not the address has an account"})
    expires_in = fields.Integer(metadata={"description": "seconds the code stays valid"})
    resend_after = fields.Integer(metadata={"description": "seconds before another code can be asked for"})


class RegistrationTokenSchema(Schema):
    registration_token = fields.String()
    token_type = fields.String()
    expires_in = fields.Integer()
    email = fields.String()


class TokenSchema(Schema):
    access_token = fields.String(required=True)
    refresh_token = fields.String(required=True)
    token_type = fields.String(required=True, metadata={"description": "bearer"})
    expires_in = fields.Integer(required=True, metadata={"description": "access token lifetime in seconds"})


class UserSchema(Schema):
    id = fields.Integer()
    email = fields.String()
    name = fields.String()
    phone = fields.String(allow_none=True)
    role = fields.Function(lambda u: u.role.value)
    is_active = fields.Boolean()
    created_at = fields.AwareDateTime(format="iso")


class RegisteredSchema(TokenSchema):
    user = fields.Nested(UserSchema)


class UserFilterArgs(PageArgs):
    q = fields.String(validate=validate.Length(min=1, max=100), metadata={"description": "email or name search"})
    role = fields.String(validate=validate.OneOf(["user", "admin", "superadmin"]))


class RoleChangeSchema(Schema):
    role = fields.String(required=True, validate=validate.OneOf(["user", "admin"]),
                         metadata={"description": "superadmin is granted only with `flask create-superadmin`"})


class ActiveChangeSchema(Schema):
    active = fields.Boolean(required=True, truthy={True}, falsy={False},
                            metadata={"description": "false suspends the account at once (its tokens get 401), "
                                                     "true restores it"})


UserPage = page_of(UserSchema)

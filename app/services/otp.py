"""One-time sign-up codes: 6 random digits, stored only as an HMAC in Redis with a TTL.

A code is single use, compared in constant time and void after OTP_MAX_ATTEMPTS wrong tries. Asking
for a code sets a resend cooldown per address. The plain code never leaves the process that creates
it except in the email: the request only enqueues `workers.otp.send_otp_email(address, issue_id)` and
the worker creates, stores and mails the code, so the broker never carries it.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets

from flask import current_app

from app.errors import AppError, TooManyRequests
from app.extensions import get_redis

log = logging.getLogger(__name__)

CODE_DIGITS = 6

# Wrong guess: count it while the code exists (never recreate an expired key), void it at the limit.
_WRONG_GUESS = """
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
local tries = redis.call('HINCRBY', KEYS[1], 'tries', 1)
if tries >= tonumber(ARGV[1]) then redis.call('DEL', KEYS[1]) return 0 end
return tonumber(ARGV[1]) - tries
"""

# Right guess: consume the code only if it is still the one that was checked (one winner under races).
_CONSUME = """
if redis.call('HGET', KEYS[1], 'h') == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class OtpInvalid(AppError):
    status = 400
    code = "otp_invalid"
    message = "The code is not correct."


class OtpExpired(AppError):
    status = 400
    code = "otp_expired"
    message = "There is no valid code for this address (expired, used or too many wrong tries); ask for a new one."


def normalize_email(address: str) -> str:
    return address.strip().lower()


def _prefix() -> str:
    return f"{current_app.config['SEAT_LOCK_PREFIX']}:otp"


def _address_id(address: str) -> str:
    """Keys name a keyed hash of the address, so the Redis keyspace does not list sign-up emails."""
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, b"otp-address:" + address.encode(), hashlib.sha256).hexdigest()[:32]


def _code_key(address: str) -> str:
    return f"{_prefix()}:code:{_address_id(address)}"


def _cooldown_key(address: str) -> str:
    return f"{_prefix()}:cooldown:{_address_id(address)}"


def _issue_key(issue_id: str) -> str:
    return f"{_prefix()}:issued:{issue_id}"


def _digest(address: str, code: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"otp:{address}:{code}".encode(), hashlib.sha256).hexdigest()


def request_code(address: str) -> str:
    """Start a code for address: set the resend cooldown and return an issue id for the sender task.

    Raises TooManyRequests (Retry-After) while the previous code's cooldown runs.
    """
    address = normalize_email(address)
    cooldown = int(current_app.config["OTP_RESEND_COOLDOWN_S"])
    redis = get_redis()
    if cooldown > 0 and not redis.set(_cooldown_key(address), "1", nx=True, ex=cooldown):
        wait = max(1, int(redis.ttl(_cooldown_key(address)) or 1))
        raise TooManyRequests(
            "A code was sent to this address moments ago; wait before asking again.",
            details={"reason": "otp_resend_cooldown", "retry_after": wait},
            headers={"Retry-After": str(wait)},
        )
    return secrets.token_urlsafe(16)


def issue_code(address: str, issue_id: str) -> str | None:
    """Create and store a fresh code for address (replacing any earlier one) and return it for mailing.

    Returns None when this issue id was already delivered (a redelivered task), so a retry after a
    successful send does not mail a second code and void the first.
    """
    address = normalize_email(address)
    redis = get_redis()
    if redis.exists(_issue_key(issue_id)):
        return None
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    ttl = int(current_app.config["OTP_TTL_S"])
    pipe = redis.pipeline(transaction=True)
    pipe.delete(_code_key(address))
    pipe.hset(_code_key(address), mapping={"h": _digest(address, code), "tries": 0})
    pipe.expire(_code_key(address), ttl)
    pipe.execute()
    return code


def mark_delivered(issue_id: str) -> None:
    """Remember that issue_id's code was mailed (for as long as a code can live)."""
    get_redis().set(_issue_key(issue_id), "1", ex=int(current_app.config["OTP_TTL_S"]))


def verify_code(address: str, code: str) -> str:
    """Consume address's code if `code` matches; returns the normalised address.

    Raises OtpExpired when there is no live code (never sent, expired, used or voided) and OtpInvalid
    for a wrong code (details.attempts_left; the code is void once that reaches 0).
    """
    address = normalize_email(address)
    redis = get_redis()
    key = _code_key(address)
    stored = redis.hget(key, "h")
    if stored is None:
        raise OtpExpired()
    candidate = _digest(address, code)
    if hmac.compare_digest(candidate, str(stored)):
        if redis.eval(_CONSUME, 1, key, stored) == 1:
            return address
        raise OtpExpired()  # a concurrent request used it first
    left = int(redis.eval(_WRONG_GUESS, 1, key, int(current_app.config["OTP_MAX_ATTEMPTS"])))
    if left < 0:
        raise OtpExpired()
    log.info("wrong sign-up code for address %s (%s tries left)", _address_id(address), left)
    raise OtpInvalid(details={"attempts_left": left})

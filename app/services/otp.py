"""One-time sign-up codes: 6 random digits, stored only as an HMAC in Redis with a TTL.

A code is single use and void after OTP_MAX_ATTEMPTS wrong tries. Asking for a code sets a resend
cooldown per address. Wrong codes are also counted per address across codes: a new code would otherwise
bring five fresh guesses, about 25 an hour for ever; after OTP_FAILURES_PER_DAY of them the address's
codes are refused (429) until a day has passed since the first, even a right one.

The plain code never leaves the process that creates it except in the email: the request only enqueues
`workers.otp.send_otp_email(address, issue_id)` and the worker creates, stores and mails the code, so
the broker never carries it.
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

FAILURE_WINDOW_S = 86_400

# One guess, atomically, so parallel guesses cannot spend more than the budget or use a code twice.
# KEYS: the code, the address's failure count; ARGV: the guess's digest, tries per code, failures per
# window, the window. Returns {1} right (the code is used up), {-1} no live code, {-2, ttl} budget spent
# (the code is left alone), {0, tries left of the code, failures left of the budget} wrong; a code is
# void at its last try. The digests compared are keyed HMACs, so how long the comparison takes tells
# nothing about the code.
_GUESS = """
local failures = tonumber(redis.call('GET', KEYS[2]) or '0')
if failures >= tonumber(ARGV[3]) then return {-2, redis.call('TTL', KEYS[2])} end
local stored = redis.call('HGET', KEYS[1], 'h')
if not stored then return {-1} end
if stored == ARGV[1] then redis.call('DEL', KEYS[1]) return {1} end
local tries = redis.call('HINCRBY', KEYS[1], 'tries', 1)
failures = redis.call('INCR', KEYS[2])
if failures == 1 then redis.call('EXPIRE', KEYS[2], ARGV[4]) end
local left = tonumber(ARGV[2]) - tries
if left <= 0 then redis.call('DEL', KEYS[1]) left = 0 end
return {0, left, tonumber(ARGV[3]) - failures}
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


def _failures_key(address: str) -> str:
    return f"{_prefix()}:failures:{_address_id(address)}"


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

    Raises OtpExpired when there is no live code (never sent, expired, used or voided), OtpInvalid for a
    wrong code (details.attempts_left: what is left of the code's tries and of the address's daily budget,
    whichever is less; the code is void once its tries are spent) and TooManyRequests (Retry-After) while
    the address's budget of wrong codes is spent, whatever the code.
    """
    address = normalize_email(address)
    config = current_app.config
    result = get_redis().eval(_GUESS, 2, _code_key(address), _failures_key(address), _digest(address, code),
                              int(config["OTP_MAX_ATTEMPTS"]), int(config["OTP_FAILURES_PER_DAY"]),
                              FAILURE_WINDOW_S)
    outcome = int(result[0])
    if outcome == 1:
        return address
    if outcome == -1:
        raise OtpExpired()
    if outcome == -2:
        wait = max(1, int(result[1]))
        raise TooManyRequests(
            "Too many wrong codes for this address; sign in with the password, or try a code again later.",
            details={"reason": "otp_failure_budget", "retry_after": wait},
            headers={"Retry-After": str(wait)},
        )
    left = max(0, min(int(result[1]), int(result[2])))
    log.info("wrong code for address %s (%s tries left, %s of the daily budget)", _address_id(address),
             result[1], result[2])
    raise OtpInvalid(details={"attempts_left": left})

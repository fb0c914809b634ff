"""Everything about one showtime's seats: keys, scripts, holds, the facts the lock checks, expiry."""

"""The virtual waiting room in front of a showtime's sale: the settings staff give it, the queue, the
admissions and the pass the hold and order routes check (room.py; the Lua in scripts.py; passes.py)."""

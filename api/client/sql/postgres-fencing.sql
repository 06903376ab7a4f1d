-- Fencing at PostgreSQL for data a lockd lock guards (docs/adr/0030-fencing-at-the-database.md).
--
-- A write under a lock carries the lock's fencing token; the database remembers the highest
-- token it accepted per lock and refuses a lower one. A holder paused past its lease (its
-- lock since granted to another, under a higher token that wrote here) is refused when it
-- wakes up, whatever it believes. Equal tokens pass: one holder writes many times.
--
-- Idempotent: run it at every start. Everything is named lockd_fence*.

-- The highest token accepted per lock (the lockd appointment id), across every table it guards.
CREATE TABLE IF NOT EXISTS lockd_fences (
    lock_id       text        PRIMARY KEY,
    highest_token bigint      NOT NULL CHECK (highest_token >= 0),
    accepted_at   timestamptz NOT NULL DEFAULT now()
);

-- Accepts `token` for `for_lock`, or raises SQLSTATE LF409 when a higher one was accepted.
-- Call it in the transaction that writes, before the writes: it holds the fence row's lock
-- until that transaction ends, so a lower token's writer waits, then is refused.
CREATE OR REPLACE FUNCTION lockd_fence(for_lock text, token bigint) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    highest bigint;
BEGIN
    IF for_lock IS NULL OR token IS NULL OR token < 0 THEN
        RAISE EXCEPTION 'a write under lockd lock % carries no fencing token', for_lock
            USING ERRCODE = 'LF400';
    END IF;
    INSERT INTO lockd_fences AS f (lock_id, highest_token) VALUES (for_lock, token)
    ON CONFLICT (lock_id) DO UPDATE
        SET highest_token = EXCLUDED.highest_token, accepted_at = now()
        WHERE f.highest_token <= EXCLUDED.highest_token;
    IF NOT FOUND THEN
        SELECT f.highest_token INTO highest FROM lockd_fences f WHERE f.lock_id = for_lock;
        RAISE EXCEPTION 'stale fencing token % for lockd lock %: token % was accepted', token, for_lock, highest
            USING ERRCODE = 'LF409', DETAIL = highest::text;
    END IF;
END
$$;

-- A row trigger for tables whose rows carry the token: a `fencing_token bigint` column, and
-- the lock's id in the column named by the trigger's argument. Inserts and updates are fenced.
--   CREATE TRIGGER notes_fenced BEFORE INSERT OR UPDATE ON notes
--       FOR EACH ROW EXECUTE FUNCTION lockd_fenced_row('appointment_id');
-- Deletes carry no new token: delete inside a transaction that calls lockd_fence() first.
CREATE OR REPLACE FUNCTION lockd_fenced_row() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM lockd_fence(to_jsonb(NEW) ->> TG_ARGV[0], NEW.fencing_token);
    RETURN NEW;
END
$$;

-- icdcoder: one coding run inside PostgreSQL (13 or later, UTF8 database), the paper's design.
--
--   psql -f sql/postgresql/schema.sql            (or: icdcoder db upgrade)
--   psql -f sql/postgresql/icdcoder_run.sql
--   CALL icdcoder_run(1000, NULL);               -- batch size; returns the run id
--
-- It does what `icdcoder run --engine sql` does, with the same tables and meaning: normalize
-- (NFKC, blanks, the normalization table), find matching rules with ~ and the (?p) flag, resolve
-- by priority (one code: coded by its lowest rule id; several: ambiguous; none: no_match; blank:
-- invalid_input) among the rules of the line's code system whose code is active, apply the guard
-- table to a line that would be coded (icdcoder_guard: uncertain / negated, README "Matching
-- semantics" point 6), write the statuses, code_log and fail_log rows and the run's counts, and commit
-- per batch. A crash rolls back only the current batch. The tests run it against the real server
-- and compare every outcome and log row with the Python engine's.
--
-- Differences from `icdcoder run`: no per-pattern timeout (set statement_timeout instead); a lock
-- left by a dead run is taken over only after 15 minutes without a heartbeat (a database cannot
-- see whether a client process still lives).
--
-- Not done yet: the combination table (E11.900 + G63.2* -> E11.401+G63.2*, README "Combination
-- codes") is not applied; such a record keeps both codes. `icdcoder run` (either engine) applies it.

-- The guard table on a line that would be coded, its winner's words at [p_start, p_end) (0-based,
-- in characters, as code_log keeps them): the kind of the first enabled guard, in seq_no, id order,
-- whose cue stands wholly before the words (scope before, any) or wholly after them (after, any)
-- and not inside one of its not_within words; NULL when none does (rulebase.decision.guard).
CREATE OR REPLACE FUNCTION icdcoder_guard(p_text text, p_start integer, p_end integer) RETURNS text
LANGUAGE plpgsql STABLE AS $$
DECLARE
    g record;
    w text;
    found_at integer;
    s0 integer;
    e0 integer;
    covered boolean;
BEGIN
    FOR g IN SELECT cue, kind, scope, not_within FROM guard WHERE enabled = 1 ORDER BY seq_no, id LOOP
        found_at := 0;
        LOOP
            s0 := strpos(substr(p_text, found_at + 1), g.cue);
            EXIT WHEN s0 = 0;
            s0 := found_at + s0 - 1;  -- 0-based start of this occurrence
            e0 := s0 + length(g.cue);
            found_at := s0 + 1;  -- the next search starts one character on: occurrences may overlap
            covered := false;
            IF g.not_within IS NOT NULL THEN
                FOREACH w IN ARRAY string_to_array(g.not_within, '|') LOOP
                    FOR q IN GREATEST(0, e0 - length(w))..s0 LOOP
                        IF substr(p_text, q + 1, length(w)) = w THEN
                            covered := true;
                            EXIT;
                        END IF;
                    END LOOP;
                    EXIT WHEN covered;
                END LOOP;
            END IF;
            IF NOT covered AND ((e0 <= p_start AND g.scope <> 'after') OR (s0 >= p_end AND g.scope <> 'before')) THEN
                RETURN g.kind;
            END IF;
        END LOOP;
    END LOOP;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION icdcoder_normalize(p_text text) RETURNS text
LANGUAGE plpgsql STABLE AS $$
DECLARE
    n text;
    e record;
BEGIN
    IF p_text IS NULL THEN
        RETURN '';
    END IF;
    -- Python's str.split() blanks that NFKC leaves as they are; the others NFKC turns into spaces.
    n := btrim(regexp_replace(normalize(p_text, NFKC), E'[\\t\\n\\v\\f\\r\\x1c-\\x1f \\u0085\\u1680\\u2028\\u2029]+', ' ', 'g'), ' ');
    IF n = '' THEN
        RETURN n;
    END IF;
    FOR e IN SELECT kind, find_text, replace_text FROM norm_rule WHERE enabled = 1 ORDER BY seq_no, id LOOP
        IF e.kind = 'literal' THEN
            n := replace(n, e.find_text, e.replace_text);
        ELSE
            -- the replacement is plain text: escape what regexp_replace would read as a reference
            n := regexp_replace(n, '(?p)' || e.find_text, replace(e.replace_text, E'\\', E'\\\\'), 'g');
        END IF;
    END LOOP;
    RETURN btrim(regexp_replace(n, ' +', ' ', 'g'), ' ');
END;
$$;


CREATE OR REPLACE PROCEDURE icdcoder_run(p_batch_size integer DEFAULT 1000, INOUT p_run_id integer DEFAULT NULL)
LANGUAGE plpgsql AS $$
DECLARE
    v_rb integer;
    v_now timestamp;
    v_holder record;
    v_ids integer[];
    v_counts record;
BEGIN
    v_now := now() AT TIME ZONE 'UTC';
    SELECT version INTO v_rb FROM rulebase_state WHERE id = 1;
    SELECT * INTO v_holder FROM run_lock WHERE name = 'coding';
    IF FOUND THEN
        IF v_holder.heartbeat_at > v_now - interval '15 minutes' THEN
            RAISE EXCEPTION 'another coding run is in progress: run % (host %, pid %)', v_holder.run_id, v_holder.host, v_holder.pid
                USING ERRCODE = 'lock_not_available';
        END IF;
        DELETE FROM run_lock WHERE name = 'coding' AND run_id = v_holder.run_id;
        UPDATE coding_run SET status = 'crashed', ended_at = v_now,
               error = 'no heartbeat for 15 minutes; its lock was taken over by a database run'
         WHERE id = v_holder.run_id AND status = 'running';
    END IF;
    INSERT INTO coding_run (started_at, heartbeat_at, host, pid, rulebase_version, engine, status,
                            considered, coded, no_match, ambiguous, invalid_input, timeouts)
    VALUES (v_now, v_now, 'database', pg_backend_pid(), v_rb, 'plpgsql', 'running', 0, 0, 0, 0, 0, 0)
    RETURNING id INTO p_run_id;
    INSERT INTO run_lock (name, run_id, host, pid, acquired_at, heartbeat_at)
    VALUES ('coding', p_run_id, 'database', pg_backend_pid(), v_now, v_now);
    COMMIT;

    LOOP
        v_now := now() AT TIME ZONE 'UTC';
        -- The batch, locked: a coder's change to one of these rows waits for this batch's commit.
        SELECT array_agg(id ORDER BY id) INTO v_ids FROM (
            SELECT id FROM diagnosis
             WHERE status = 'pending'
                OR (status = 'failed' AND coded_by IS NULL AND fail_reason <> 'invalid_input'
                    AND (attempted_version IS NULL OR attempted_version < v_rb))
             ORDER BY id LIMIT p_batch_size FOR UPDATE) b;
        EXIT WHEN v_ids IS NULL;

        INSERT INTO match_text (run_id, diagnosis_id, normalized)
        SELECT p_run_id, d.id, icdcoder_normalize(d.description) FROM diagnosis d WHERE d.id = ANY (v_ids);

        -- Rules outside, texts inside: PostgreSQL keeps only 32 compiled regexes per session.
        CREATE TEMP TABLE icdcoder_hit ON COMMIT DROP AS
        SELECT h.diagnosis_id, r.id AS rule_id, r.code, r.priority, r.version, r.pattern
          FROM coding_rule r
          JOIN icd_code c ON c.code = r.code AND c.active = 1
         CROSS JOIN LATERAL (
               SELECT t.diagnosis_id FROM match_text t JOIN diagnosis d ON d.id = t.diagnosis_id
                WHERE t.run_id = p_run_id AND t.normalized <> ''
                  -- a line is coded in its own system (rulebase.codes.system_of_kind in SQL):
                  -- procedures in icd9cm3, the rest in icd10
                  AND (d.kind = 'procedure') = (c.code_system = 'icd9cm3')
                  AND t.normalized ~ ('(?p)' || r.pattern)
                  AND (r.exclude_pattern IS NULL OR NOT t.normalized ~ ('(?p)' || r.exclude_pattern))) h
         WHERE r.enabled = 1;

        CREATE TEMP TABLE icdcoder_decision ON COMMIT DROP AS
        WITH best AS (
            SELECT h.* FROM (SELECT h.*, max(priority) OVER (PARTITION BY diagnosis_id) AS top FROM icdcoder_hit h) h
             WHERE priority = top),
        per_code AS (
            SELECT diagnosis_id, code, array_agg(rule_id ORDER BY rule_id) AS rule_ids FROM best
             GROUP BY diagnosis_id, code),
        per_diag AS (
            SELECT diagnosis_id, count(*) AS n_codes,
                   json_agg(json_build_object('code', code, 'rule_ids', rule_ids) ORDER BY code)::text AS candidates
              FROM per_code GROUP BY diagnosis_id),
        winner AS (
            SELECT DISTINCT ON (diagnosis_id) diagnosis_id, rule_id, code, version, pattern
              FROM best ORDER BY diagnosis_id, rule_id),
        decided AS (
            SELECT t.diagnosis_id, t.normalized,
                   CASE WHEN t.normalized = '' THEN 'invalid_input'
                        WHEN p.diagnosis_id IS NULL THEN 'no_match'
                        WHEN p.n_codes > 1 THEN 'ambiguous'
                        ELSE 'coded' END AS outcome,
                   p.candidates, w.rule_id, w.code, w.version, w.pattern
              FROM match_text t
              LEFT JOIN per_diag p ON p.diagnosis_id = t.diagnosis_id
              LEFT JOIN winner w ON w.diagnosis_id = t.diagnosis_id
             WHERE t.run_id = p_run_id),
        placed AS (
            SELECT d.*,
                   CASE WHEN outcome = 'coded' THEN regexp_instr(normalized, pattern, 1, 1, 0, 'p') - 1 END AS m_start,
                   CASE WHEN outcome = 'coded' THEN regexp_instr(normalized, pattern, 1, 1, 1, 'p') - 1 END AS m_end
              FROM decided d)
        SELECT diagnosis_id, normalized,
               CASE WHEN outcome = 'coded' THEN coalesce(icdcoder_guard(normalized, m_start, m_end), 'coded')
                    ELSE outcome END AS outcome,
               candidates, rule_id, code, version, pattern, m_start, m_end
          FROM placed;

        INSERT INTO code_log (run_id, diagnosis_id, code, rule_id, rule_version, normalized, match_start, match_end, logged_at)
        SELECT p_run_id, diagnosis_id, code, rule_id, version, normalized, m_start, m_end, v_now
          FROM icdcoder_decision WHERE outcome = 'coded';
        INSERT INTO fail_log (run_id, diagnosis_id, reason, candidates, normalized, logged_at)
        SELECT p_run_id, diagnosis_id, outcome,
               CASE WHEN outcome IN ('ambiguous', 'uncertain', 'negated') THEN candidates END,
               NULLIF(normalized, ''), v_now
          FROM icdcoder_decision WHERE outcome <> 'coded';
        UPDATE diagnosis d
           SET status = CASE WHEN x.outcome = 'coded' THEN 'coded' ELSE 'failed' END,
               code = CASE WHEN x.outcome = 'coded' THEN x.code END,
               coded_by = CASE WHEN x.outcome = 'coded' THEN 'auto' END,
               fail_reason = CASE WHEN x.outcome = 'coded' THEN NULL ELSE x.outcome END,
               attempted_at = v_now, attempted_version = v_rb, updated_at = v_now
          FROM icdcoder_decision x WHERE d.id = x.diagnosis_id;

        SELECT count(*) AS considered, count(*) FILTER (WHERE outcome = 'coded') AS coded,
               count(*) FILTER (WHERE outcome = 'no_match') AS no_match,
               count(*) FILTER (WHERE outcome = 'ambiguous') AS ambiguous,
               count(*) FILTER (WHERE outcome = 'invalid_input') AS invalid_input,
               count(*) FILTER (WHERE outcome = 'uncertain') AS uncertain,
               count(*) FILTER (WHERE outcome = 'negated') AS negated
          INTO v_counts FROM icdcoder_decision;
        UPDATE coding_run SET considered = considered + v_counts.considered, coded = coded + v_counts.coded,
               no_match = no_match + v_counts.no_match, ambiguous = ambiguous + v_counts.ambiguous,
               invalid_input = invalid_input + v_counts.invalid_input,
               uncertain = uncertain + v_counts.uncertain, negated = negated + v_counts.negated, heartbeat_at = v_now
         WHERE id = p_run_id;
        UPDATE run_lock SET heartbeat_at = v_now WHERE name = 'coding' AND run_id = p_run_id;
        DELETE FROM match_text WHERE run_id = p_run_id;
        COMMIT;
    END LOOP;

    UPDATE coding_run SET status = 'finished', ended_at = now() AT TIME ZONE 'UTC' WHERE id = p_run_id;
    DELETE FROM run_lock WHERE name = 'coding' AND run_id = p_run_id;
    COMMIT;
END;
$$;

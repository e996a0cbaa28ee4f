-- icdcoder: one coding run inside PostgreSQL (15 or later: regexp_instr; UTF8 database), the
-- paper's design.
--
--   psql -f sql/postgresql/schema.sql            (or: icdcoder db upgrade)
--   psql -f sql/postgresql/icdcoder_run.sql
--   CALL icdcoder_run(1000, NULL);               -- batch size; returns the run id
--
-- It does what `icdcoder run --engine sql` does, with the same tables and meaning: normalize
-- (NFKC, blanks, the normalization table), find matching rules with ~ and the (?p) flag among the
-- rules of the line's code system whose code is active, and resolve by priority (none: no_match;
-- blank: invalid_input; one code at the top: coded by its lowest rule id). Several codes at the
-- top: under app_setting matching = spans (the default, no row) each rule's leftmost match
-- (regexp_instr, 'p') is its span; a hit strictly inside another code's hit drops out (不稳定型心绞痛
-- over 心绞痛), different codes still overlapping make the line ambiguous, otherwise the line is
-- coded with every code left, in text order (冠状动脉粥样硬化性心脏病 不稳定型心绞痛 -> I25.103 and
-- I20.000): diagnosis.code the first, other_codes the rest, one code_log row per code with its
-- position, rule and span. Under matching = strict several codes are ambiguous. The guard table is
-- applied to every part of a line that would be coded (icdcoder_guard: any part guarded, the line
-- fails uncertain / negated). Then, in the batch's transaction, the combination table
-- (icdcoder_combine: E11.900 + G63.2* -> E11.401+G63.2*, person's codes never replaced, combo_hit
-- review marks). It writes the statuses, code_log and fail_log rows and the run's counts, and
-- commits per batch. A crash rolls back only the current batch. The tests run it against the real
-- server and compare every outcome, code list, log row and review mark with the Python engine's
-- (tests/sql/test_postgresql_procedure.py; sql/README.md says what was verified).
--
-- Differences from `icdcoder run`: no per-pattern timeout (set statement_timeout instead); a lock
-- left by a dead run is taken over only after 15 minutes without a heartbeat (a database cannot
-- see whether a client process still lives); spans come from PostgreSQL's regex engine, which
-- can report a longer match than Python's where an earlier alternative is a prefix of a later
-- one, and under `spans` a span decides containment and overlap (sql/README.md).
--
-- NOT DONE HERE: the code edits (code_edit: sex, age, asterisk codes, duplicates, exclusive codes,
-- the dictionary; README "Code edits"). This procedure writes no edit_hit marks and clears none,
-- so lines it codes are not checked. After it, run `icdcoder edits check` (checks every record and
-- brings the marks in line), or code with `icdcoder run`, which checks each batch.

-- The guard table on a line that would be coded, the words of its parts at [p_starts[i], p_ends[i])
-- (0-based, in characters, as code_log keeps them): the kind of the first enabled guard, in seq_no,
-- id order, whose cue stands wholly before one part's words (scope before, any) or wholly after them
-- (after, any), overlaps no part's words and stands inside none of its not_within words; NULL when
-- none does (rulebase.decision.guard: any part guarded, the whole line fails).
DROP FUNCTION IF EXISTS icdcoder_guard(text, integer, integer);  -- the one-span form of earlier versions
CREATE OR REPLACE FUNCTION icdcoder_guard(p_text text, p_starts integer[], p_ends integer[]) RETURNS text
LANGUAGE plpgsql STABLE AS $$
DECLARE
    g record;
    w text;
    found_at integer;
    s0 integer;
    e0 integer;
    covered boolean;
    inside boolean;
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
            IF NOT covered THEN
                -- a cue inside any part's words is that rule's own text (发热待查): it guards nothing
                inside := false;
                FOR i IN 1 .. cardinality(p_starts) LOOP
                    IF s0 < p_ends[i] AND p_starts[i] < e0 THEN
                        inside := true;
                    END IF;
                END LOOP;
                IF NOT inside THEN
                    FOR i IN 1 .. cardinality(p_starts) LOOP
                        IF (e0 <= p_starts[i] AND g.scope <> 'after') OR (s0 >= p_ends[i] AND g.scope <> 'before') THEN
                            RETURN g.kind;
                        END IF;
                    END LOOP;
                END IF;
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


-- The combination table on the records of a batch (p_ids), in the batch's transaction, as
-- coder.store.combinations.apply_to_batch does it. Per record and kind (never procedures), the
-- codes of its lines (coded in this batch or before; a line's first code and its other_codes) that
-- are source codes, in seq then place order; the enabled rows with the most source codes first,
-- then by id; each code of a line serves one combination, an auto-coded line's picked before a
-- person's. When auto-coded lines hold every source code, each such code becomes the combination
-- code in its line's list (each code kept once, first place), and the code's code_log row of this
-- run (copied from the line's latest run when it was coded before) names the row, the lines and
-- the code before. When a person's line holds one, the auto-coded lines get an open combo_hit mark
-- instead, once; the open marks of these records' lines no application wants any more are cleared.
-- Returns the lines it changed.
CREATE OR REPLACE FUNCTION icdcoder_combine(p_run_id integer, p_ids integer[], p_now timestamp) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    grp record;
    c record;
    n integer;
    used boolean[];  -- per code found in the group
    target text[];  -- per code found: the combination code that replaces it
    picked integer[];  -- indexes of the codes found, in source-code order
    src text;
    pick integer;
    j integer;
    v_auto integer[];  -- line ids, first seen first
    v_people integer[];
    v_codes text[];
    v_new text[];
    x text;
    -- the code_log rows to mark once the group's lines are written: line, code before, combination
    m_line integer[];
    m_old text[];
    m_combo integer[];
    m_version integer[];
    m_code text[];
    m_sources text[];
    v_sources text;
    v_wanted_line integer[] := '{}';  -- the (line, combination) marks this application wants
    v_wanted_combo integer[] := '{}';
    v_lines integer := 0;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM combination WHERE enabled = 1) THEN
        RETURN 0;
    END IF;
    FOR grp IN
        WITH source AS (
            SELECT DISTINCT unnest(string_to_array(codes, ',')) AS code FROM combination WHERE enabled = 1),
        found AS (
            SELECT d.id, d.record_id, d.kind, d.seq_no, f.code, (f.place - 1)::integer AS place,
                   (d.status = 'coded' AND d.coded_by = 'auto') AS auto
              FROM diagnosis d
             CROSS JOIN LATERAL unnest(string_to_array(d.code || coalesce(',' || d.other_codes, ''), ','))
                   WITH ORDINALITY AS f(code, place)
             WHERE d.code IS NOT NULL AND d.kind <> 'procedure'
               AND d.record_id IN (SELECT record_id FROM diagnosis WHERE id = ANY (p_ids)))
        SELECT record_id, kind, array_agg(id ORDER BY seq_no, place) AS ids,
               array_agg(place ORDER BY seq_no, place) AS places, array_agg(code ORDER BY seq_no, place) AS codes,
               array_agg(auto ORDER BY seq_no, place) AS autos
          FROM found WHERE code IN (SELECT code FROM source)
         GROUP BY record_id, kind HAVING count(*) >= 2
    LOOP
        n := cardinality(grp.ids);
        used := array_fill(false, ARRAY[n]);
        target := array_fill(NULL::text, ARRAY[n]);
        m_line := '{}'; m_old := '{}'; m_combo := '{}'; m_version := '{}'; m_code := '{}'; m_sources := '{}';
        FOR c IN SELECT id, version, codes, code FROM combination
                  WHERE enabled = 1 AND string_to_array(codes, ',') && grp.codes::text[]
                  ORDER BY cardinality(string_to_array(codes, ',')) DESC, id LOOP
            picked := '{}';
            FOREACH src IN ARRAY string_to_array(c.codes, ',') LOOP
                pick := NULL;
                FOR k IN 1 .. n LOOP
                    IF grp.codes[k] = src AND NOT used[k] THEN
                        IF grp.autos[k] THEN
                            pick := k;
                            EXIT;
                        END IF;
                        pick := coalesce(pick, k);
                    END IF;
                END LOOP;
                EXIT WHEN pick IS NULL;
                picked := picked || pick;
            END LOOP;
            CONTINUE WHEN pick IS NULL;  -- a source code no free line holds
            v_auto := '{}';
            v_people := '{}';
            FOREACH j IN ARRAY picked LOOP
                IF grp.autos[j] AND NOT grp.ids[j] = ANY (v_auto) THEN
                    v_auto := v_auto || grp.ids[j];
                ELSIF NOT grp.autos[j] AND NOT grp.ids[j] = ANY (v_people) THEN
                    v_people := v_people || grp.ids[j];
                END IF;
            END LOOP;
            CONTINUE WHEN cardinality(v_auto) = 0;  -- a person coded every source: theirs to decide
            IF cardinality(v_people) > 0 THEN
                FOREACH j IN ARRAY v_auto LOOP
                    v_wanted_line := v_wanted_line || j;
                    v_wanted_combo := v_wanted_combo || c.id;
                    INSERT INTO combo_hit (diagnosis_id, combo_id, combo_version, reason, found_at, cleared_at)
                    SELECT j, c.id, c.version,
                           left('组合编码 ' || c.id || '（' || c.codes || ' → ' || c.code || '）未应用：第 '
                                || array_to_string(v_people, ',') || ' 号诊断为人工编码，请复核', 500),
                           p_now, NULL
                     WHERE NOT EXISTS (
                           SELECT 1 FROM combo_hit h WHERE h.diagnosis_id = j AND h.combo_id = c.id AND h.cleared_at IS NULL);
                END LOOP;
                CONTINUE;
            END IF;
            -- applied: its lines, distinct, in seq then place order, first the line the code belongs to
            SELECT string_agg(i::text, ',' ORDER BY first) INTO v_sources
              FROM (SELECT grp.ids[x.k] AS i, min(x.k) AS first FROM unnest(picked) AS x(k) GROUP BY grp.ids[x.k]) l;
            FOR j IN SELECT x.k FROM unnest(picked) AS x(k) ORDER BY x.k LOOP
                used[j] := true;
                target[j] := c.code;
                m_line := m_line || grp.ids[j];
                m_old := m_old || grp.codes[j]::text;
                m_combo := m_combo || c.id;
                m_version := m_version || c.version;
                m_code := m_code || c.code::text;
                m_sources := m_sources || v_sources;
            END LOOP;
        END LOOP;
        -- The lines changed: their new lists, and this run's log rows (copied when coded before).
        FOR j IN 1 .. n LOOP
            CONTINUE WHEN target[j] IS NULL;
            CONTINUE WHEN EXISTS (SELECT 1 FROM generate_subscripts(grp.ids, 1) q
                                   WHERE q < j AND grp.ids[q] = grp.ids[j] AND target[q] IS NOT NULL);
            SELECT string_to_array(code || coalesce(',' || other_codes, ''), ',') INTO v_codes
              FROM diagnosis WHERE id = grp.ids[j];
            FOR q IN j .. n LOOP
                IF grp.ids[q] = grp.ids[j] AND target[q] IS NOT NULL THEN
                    v_codes[grp.places[q] + 1] := target[q];
                END IF;
            END LOOP;
            v_new := '{}';
            FOREACH x IN ARRAY v_codes LOOP
                IF NOT x = ANY (v_new) THEN
                    v_new := v_new || x;
                END IF;
            END LOOP;
            UPDATE diagnosis SET code = v_new[1], other_codes = NULLIF(array_to_string(v_new[2:], ','), ''),
                   updated_at = p_now
             WHERE id = grp.ids[j] AND status = 'coded' AND coded_by = 'auto';
            INSERT INTO code_log (run_id, diagnosis_id, code, rule_id, rule_version, normalized, match_start,
                                  match_end, position, combination_id, combination_version, source_ids,
                                  source_code, logged_at)
            SELECT p_run_id, l.diagnosis_id, l.code, l.rule_id, l.rule_version, l.normalized, l.match_start,
                   l.match_end, l.position, l.combination_id, l.combination_version, l.source_ids,
                   l.source_code, p_now
              FROM code_log l
             WHERE l.diagnosis_id = grp.ids[j]
               AND l.run_id = (SELECT max(run_id) FROM code_log WHERE diagnosis_id = grp.ids[j])
               AND NOT EXISTS (SELECT 1 FROM code_log WHERE run_id = p_run_id AND diagnosis_id = grp.ids[j]);
            v_lines := v_lines + 1;
        END LOOP;
        -- The replaced codes' rows, found by their code (a line's codes are distinct).
        FOR j IN 1 .. coalesce(cardinality(m_line), 0) LOOP
            UPDATE code_log SET code = m_code[j], combination_id = m_combo[j], combination_version = m_version[j],
                   source_ids = m_sources[j], source_code = m_old[j]
             WHERE run_id = p_run_id AND diagnosis_id = m_line[j] AND code = m_old[j];
        END LOOP;
    END LOOP;
    -- A mark whose reason is gone (a person's code changed, the auto line decided) closes.
    UPDATE combo_hit h SET cleared_at = p_now
     WHERE h.cleared_at IS NULL
       AND h.diagnosis_id IN (SELECT id FROM diagnosis
                               WHERE record_id IN (SELECT record_id FROM diagnosis WHERE id = ANY (p_ids)))
       AND NOT EXISTS (SELECT 1 FROM unnest(v_wanted_line, v_wanted_combo) AS w(line, combo)
                        WHERE w.line = h.diagnosis_id AND w.combo = h.combo_id);
    RETURN v_lines;
END $$;

CREATE OR REPLACE PROCEDURE icdcoder_run(p_batch_size integer DEFAULT 1000, INOUT p_run_id integer DEFAULT NULL)
LANGUAGE plpgsql AS $$
DECLARE
    v_rb integer;
    v_now timestamp;
    v_holder record;
    v_ids integer[];
    v_counts record;
    v_matching text;
    v_spans boolean;
BEGIN
    v_now := now() AT TIME ZONE 'UTC';
    SELECT version INTO v_rb FROM rulebase_state WHERE id = 1;
    -- app_setting 'matching': spans (the default, no row) or strict (several codes: ambiguous)
    SELECT value INTO v_matching FROM app_setting WHERE name = 'matching';
    IF coalesce(v_matching, 'spans') NOT IN ('spans', 'strict') THEN
        RAISE EXCEPTION 'app_setting matching is %; it is one of spans, strict. Run: icdcoder settings set matching spans',
            v_matching USING ERRCODE = 'invalid_parameter_value';
    END IF;
    v_spans := coalesce(v_matching, 'spans') = 'spans';
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

        -- The hits at each line's top priority, and the codes they propose (the candidates).
        CREATE TEMP TABLE icdcoder_best ON COMMIT DROP AS
        SELECT h.diagnosis_id, h.rule_id, h.code, h.version, h.pattern
          FROM (SELECT h.*, max(priority) OVER (PARTITION BY diagnosis_id) AS top FROM icdcoder_hit h) h
         WHERE priority = top;
        CREATE TEMP TABLE icdcoder_cand ON COMMIT DROP AS
        SELECT diagnosis_id, count(*) AS n_codes,
               json_agg(json_build_object('code', code, 'rule_ids', rule_ids) ORDER BY code)::text AS candidates
          FROM (SELECT diagnosis_id, code, array_agg(rule_id ORDER BY rule_id) AS rule_ids FROM icdcoder_best
                 GROUP BY diagnosis_id, code) per_code
         GROUP BY diagnosis_id;

        -- The parts of each line that would be coded (rulebase.decision.resolve): one code at the top,
        -- its lowest rule id; several codes under `spans`, each hit at its rule's leftmost match, a hit
        -- strictly inside another code's hit dropped, then (unless different codes still overlap: ambiguous)
        -- one part per code, its lowest remaining rule id, in text order. Under `strict` several codes
        -- make no parts: ambiguous.
        CREATE TEMP TABLE icdcoder_part ON COMMIT DROP AS
        WITH one AS (
            SELECT DISTINCT ON (b.diagnosis_id) b.diagnosis_id, b.rule_id, b.code, b.version, b.pattern
              FROM icdcoder_best b JOIN icdcoder_cand n ON n.diagnosis_id = b.diagnosis_id AND n.n_codes = 1
             ORDER BY b.diagnosis_id, b.rule_id),
        spanned AS (
            SELECT b.diagnosis_id, b.rule_id, b.code, b.version,
                   regexp_instr(t.normalized, b.pattern, 1, 1, 0, 'p') - 1 AS m_start,
                   regexp_instr(t.normalized, b.pattern, 1, 1, 1, 'p') - 1 AS m_end
              FROM icdcoder_best b
              JOIN icdcoder_cand n ON n.diagnosis_id = b.diagnosis_id AND n.n_codes > 1
              JOIN match_text t ON t.run_id = p_run_id AND t.diagnosis_id = b.diagnosis_id
             WHERE v_spans),
        kept AS (
            SELECT h.* FROM spanned h
             WHERE NOT EXISTS (
                   SELECT 1 FROM spanned o
                    WHERE o.diagnosis_id = h.diagnosis_id AND o.code <> h.code
                      AND o.m_start <= h.m_start AND h.m_end <= o.m_end
                      AND (o.m_start <> h.m_start OR o.m_end <> h.m_end))),
        clash AS (
            SELECT DISTINCT h.diagnosis_id FROM kept h
              JOIN kept o ON o.diagnosis_id = h.diagnosis_id AND o.code <> h.code
                         AND h.m_start < o.m_end AND o.m_start < h.m_end),
        several AS (
            SELECT DISTINCT ON (k.diagnosis_id, k.code) k.diagnosis_id, k.rule_id, k.code, k.version, k.m_start, k.m_end
              FROM kept k
             WHERE NOT EXISTS (SELECT 1 FROM clash x WHERE x.diagnosis_id = k.diagnosis_id)
             ORDER BY k.diagnosis_id, k.code, k.rule_id),
        parts AS (
            SELECT o.diagnosis_id, o.rule_id, o.code, o.version,
                   regexp_instr(t.normalized, o.pattern, 1, 1, 0, 'p') - 1 AS m_start,
                   regexp_instr(t.normalized, o.pattern, 1, 1, 1, 'p') - 1 AS m_end
              FROM one o JOIN match_text t ON t.run_id = p_run_id AND t.diagnosis_id = o.diagnosis_id
            UNION ALL
            SELECT diagnosis_id, rule_id, code, version, m_start, m_end FROM several)
        SELECT p.*, (row_number() OVER (PARTITION BY diagnosis_id ORDER BY m_start, m_end) - 1)::integer AS position
          FROM parts p;

        -- One decision per line; a line with parts is then guarded, part by part.
        CREATE TEMP TABLE icdcoder_decision ON COMMIT DROP AS
        WITH placed AS (
            SELECT diagnosis_id, array_agg(code ORDER BY position) AS codes,
                   array_agg(m_start ORDER BY position) AS starts, array_agg(m_end ORDER BY position) AS ends
              FROM icdcoder_part GROUP BY diagnosis_id)
        SELECT t.diagnosis_id, t.normalized,
               CASE WHEN t.normalized = '' THEN 'invalid_input'
                    WHEN n.diagnosis_id IS NULL THEN 'no_match'
                    WHEN x.diagnosis_id IS NULL THEN 'ambiguous'
                    ELSE coalesce(icdcoder_guard(t.normalized, x.starts, x.ends), 'coded') END AS outcome,
               n.candidates, x.codes, x.codes[1] AS code,
               NULLIF(array_to_string(x.codes[2:], ','), '') AS other_codes
          FROM match_text t
          LEFT JOIN icdcoder_cand n ON n.diagnosis_id = t.diagnosis_id
          LEFT JOIN placed x ON x.diagnosis_id = t.diagnosis_id
         WHERE t.run_id = p_run_id;

        INSERT INTO code_log (run_id, diagnosis_id, code, rule_id, rule_version, normalized, match_start, match_end,
                              logged_at, position)
        SELECT p_run_id, p.diagnosis_id, p.code, p.rule_id, p.version, x.normalized, p.m_start, p.m_end, v_now, p.position
          FROM icdcoder_part p JOIN icdcoder_decision x ON x.diagnosis_id = p.diagnosis_id
         WHERE x.outcome = 'coded';
        -- A guarded line's candidates are the codes it would have had, in text order
        -- (rulebase.decision.would_have): not a hit its parts' words dropped.
        INSERT INTO fail_log (run_id, diagnosis_id, reason, candidates, normalized, logged_at)
        SELECT p_run_id, x.diagnosis_id, x.outcome,
               CASE WHEN x.outcome = 'ambiguous' THEN x.candidates
                    WHEN x.outcome IN ('uncertain', 'negated') THEN (
                        SELECT json_agg(json_build_object('code', k.code, 'rule_ids', k.rule_ids)
                                        ORDER BY array_position(x.codes, k.code))::text
                          FROM (SELECT b.code, array_agg(b.rule_id ORDER BY b.rule_id) AS rule_ids
                                  FROM icdcoder_best b
                                 WHERE b.diagnosis_id = x.diagnosis_id AND b.code = ANY (x.codes)
                                 GROUP BY b.code) k) END,
               NULLIF(x.normalized, ''), v_now
          FROM icdcoder_decision x WHERE x.outcome <> 'coded';
        UPDATE diagnosis d
           SET status = CASE WHEN x.outcome = 'coded' THEN 'coded' ELSE 'failed' END,
               code = CASE WHEN x.outcome = 'coded' THEN x.code END,
               other_codes = CASE WHEN x.outcome = 'coded' THEN x.other_codes END,
               coded_by = CASE WHEN x.outcome = 'coded' THEN 'auto' END,
               fail_reason = CASE WHEN x.outcome = 'coded' THEN NULL ELSE x.outcome END,
               attempted_at = v_now, attempted_version = v_rb, updated_at = v_now
          FROM icdcoder_decision x WHERE d.id = x.diagnosis_id;

        -- The combination codes, in this batch's transaction, once its lines are written.
        PERFORM icdcoder_combine(p_run_id, v_ids, v_now);

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

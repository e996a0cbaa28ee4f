-- icdcoder: one coding run inside Oracle 19c with REGEXP_LIKE, the paper's design.
--
-- NOT RUN ON A LIVE ORACLE SERVER: none was available. What was checked, and how, is in
-- sql/README.md (tables and columns against the models, the DDL against the migrations).
--
--   @sql/oracle/schema.sql          (or: icdcoder db upgrade with an oracle+oracledb URL)
--   @sql/oracle/icdcoder_pkg.sql
--   @sql/oracle/scheduler.sql       (08:00 and 14:30 every day)
--   EXEC icdcoder_pkg.run_coding(1000);
--
-- Same tables and meaning as `icdcoder run --engine sql`: normalize, match with
-- REGEXP_LIKE(text, pattern, 'c'), resolve by priority (one code: coded by its lowest rule id;
-- several: ambiguous; none: no_match; blank: invalid_input), write statuses, code_log and fail_log
-- rows and the run's counts, commit per batch.
--
-- GUARDS ARE NOT APPLIED YET: this package does not read the guard table (README "Matching
-- semantics" point 6), so it auto-codes lines such as 疑似肺炎 or 排除心肌梗死 that `icdcoder run`
-- (either engine) and sql/postgresql/icdcoder_run.sql fail as uncertain / negated. Until it does,
-- run icdcoder itself on Oracle (`icdcoder run`, or `--engine sql`, which applies the guards).
--
-- COMBINATION CODES ARE NOT APPLIED YET: the combination table (E11.900 + G63.2* -> E11.401+G63.2*)
-- is not read; such a record keeps both codes. `icdcoder run` (either engine) applies it.
--
-- Normalization: Oracle has no NFKC. normalize_text applies TO_SINGLE_BYTE (full-width letters,
-- digits, punctuation and the ideographic space), spells out Roman numerals and circled numbers
-- as NFKC does (Ⅱ -> II, ① -> 1), folds blanks and applies the normalization table. Rarer NFKC
-- foldings (compatibility ideographs, ligatures) are not applied, so such descriptions can code
-- differently from `icdcoder run`; use the Python engines when that matters.

CREATE OR REPLACE PACKAGE icdcoder_pkg AS
    FUNCTION normalize_text(p_text IN VARCHAR2) RETURN VARCHAR2;
    PROCEDURE run_coding(p_batch_size IN PLS_INTEGER DEFAULT 1000);
END icdcoder_pkg;
/

CREATE OR REPLACE PACKAGE BODY icdcoder_pkg AS

    FUNCTION normalize_text(p_text IN VARCHAR2) RETURN VARCHAR2 IS
        n VARCHAR2(4000 CHAR);
    BEGIN
        IF p_text IS NULL THEN
            RETURN NULL;
        END IF;
        n := TO_SINGLE_BYTE(p_text);
        -- Roman numerals and circled numbers, longest first, as NFKC spells them
        FOR i IN 1 .. 20 LOOP
            n := REPLACE(n, UNISTR('\' || TO_CHAR(9311 + i, 'FM0XXX')), TO_CHAR(i));  -- U+2460.. circled 1-20
        END LOOP;
        n := REPLACE(n, UNISTR('\216B'), 'XII'); n := REPLACE(n, UNISTR('\216A'), 'XI');
        n := REPLACE(n, UNISTR('\2169'), 'X');   n := REPLACE(n, UNISTR('\2168'), 'IX');
        n := REPLACE(n, UNISTR('\2167'), 'VIII'); n := REPLACE(n, UNISTR('\2166'), 'VII');
        n := REPLACE(n, UNISTR('\2165'), 'VI');  n := REPLACE(n, UNISTR('\2164'), 'V');
        n := REPLACE(n, UNISTR('\2163'), 'IV');  n := REPLACE(n, UNISTR('\2162'), 'III');
        n := REPLACE(n, UNISTR('\2161'), 'II');  n := REPLACE(n, UNISTR('\2160'), 'I');
        n := TRIM(REGEXP_REPLACE(n, '[[:space:]]+', ' '));
        IF n IS NULL THEN
            RETURN NULL;  -- Oracle's empty string is NULL
        END IF;
        FOR e IN (SELECT kind, find_text, replace_text FROM norm_rule WHERE enabled = 1 ORDER BY seq_no, id) LOOP
            IF e.kind = 'literal' THEN
                n := REPLACE(n, e.find_text, e.replace_text);
            ELSE
                -- the replacement is plain text: double backslashes so none reads as a reference
                n := REGEXP_REPLACE(n, e.find_text, REPLACE(e.replace_text, '\', '\\'), 1, 0, 'c');
            END IF;
        END LOOP;
        RETURN TRIM(REGEXP_REPLACE(n, ' +', ' '));
    END normalize_text;

    PROCEDURE run_coding(p_batch_size IN PLS_INTEGER DEFAULT 1000) IS
        v_run_id  coding_run.id%TYPE;
        v_rb      rulebase_state.version%TYPE;
        v_now     DATE;
        v_ids     SYS.ODCINUMBERLIST;
        v_holder  run_lock%ROWTYPE;
        v_found   BOOLEAN;
        v_cnt     PLS_INTEGER;
    BEGIN
        v_now := SYS_EXTRACT_UTC(SYSTIMESTAMP);
        SELECT version INTO v_rb FROM rulebase_state WHERE id = 1;
        BEGIN
            SELECT * INTO v_holder FROM run_lock WHERE name = 'coding';
            v_found := TRUE;
        EXCEPTION WHEN NO_DATA_FOUND THEN
            v_found := FALSE;
        END;
        IF v_found THEN
            IF v_holder.heartbeat_at > v_now - INTERVAL '15' MINUTE THEN
                RAISE_APPLICATION_ERROR(-20075, 'another coding run is in progress: run ' || v_holder.run_id
                                        || ' (host ' || v_holder.host || ', pid ' || v_holder.pid || ')');
            END IF;
            DELETE FROM run_lock WHERE name = 'coding' AND run_id = v_holder.run_id;
            UPDATE coding_run SET status = 'crashed', ended_at = v_now,
                   error = 'no heartbeat for 15 minutes; its lock was taken over by a database run'
             WHERE id = v_holder.run_id AND status = 'running';
        END IF;
        INSERT INTO coding_run (started_at, heartbeat_at, host, pid, rulebase_version, engine, status,
                                considered, coded, no_match, ambiguous, invalid_input, timeouts)
        VALUES (v_now, v_now, 'database', SYS_CONTEXT('USERENV', 'SID'), v_rb, 'plsql', 'running', 0, 0, 0, 0, 0, 0)
        RETURNING id INTO v_run_id;
        INSERT INTO run_lock (name, run_id, host, pid, acquired_at, heartbeat_at)
        VALUES ('coding', v_run_id, 'database', SYS_CONTEXT('USERENV', 'SID'), v_now, v_now);
        COMMIT;

        LOOP
            v_now := SYS_EXTRACT_UTC(SYSTIMESTAMP);
            -- The batch, locked until its commit: a coder's change to these rows waits for it.
            SELECT id BULK COLLECT INTO v_ids FROM diagnosis
             WHERE status = 'pending'
                OR (status = 'failed' AND coded_by IS NULL AND fail_reason <> 'invalid_input'
                    AND (attempted_version IS NULL OR attempted_version < v_rb))
             ORDER BY id FETCH FIRST p_batch_size ROWS ONLY;
            EXIT WHEN v_ids.COUNT = 0;
            FOR i IN 1 .. v_ids.COUNT LOOP
                SELECT 1 INTO v_cnt FROM diagnosis WHERE id = v_ids(i) FOR UPDATE;
            END LOOP;

            INSERT INTO match_text (run_id, diagnosis_id, normalized)
            SELECT v_run_id, d.id, NVL(normalize_text(d.description), CHR(0))
              FROM diagnosis d WHERE d.id IN (SELECT COLUMN_VALUE FROM TABLE(v_ids));

            -- One decision per text: the winner (lowest rule id at the top priority) when one code
            -- remains, else the candidates; CHR(0) marks a blank description.
            FOR x IN (
                WITH hit AS (
                    SELECT t.diagnosis_id, r.id AS rule_id, r.code, r.priority, r.version, r.pattern
                      FROM match_text t
                      JOIN diagnosis d ON d.id = t.diagnosis_id
                      JOIN coding_rule r
                        ON r.enabled = 1 AND t.normalized <> CHR(0)
                      -- a line is coded in its own system (rulebase.codes.system_of_kind in SQL):
                      -- procedures in icd9cm3, the rest in icd10
                      JOIN icd_code c ON c.code = r.code AND c.active = 1
                       AND CASE WHEN d.kind = 'procedure' THEN 'icd9cm3' ELSE 'icd10' END = c.code_system
                     WHERE REGEXP_LIKE(t.normalized, r.pattern, 'c')
                       AND (r.exclude_pattern IS NULL OR NOT REGEXP_LIKE(t.normalized, r.exclude_pattern, 'c'))
                       AND t.run_id = v_run_id),
                best AS (
                    SELECT * FROM (SELECT h.*, MAX(priority) OVER (PARTITION BY diagnosis_id) AS top FROM hit h)
                     WHERE priority = top),
                per_code AS (
                    SELECT diagnosis_id, code, JSON_ARRAYAGG(rule_id ORDER BY rule_id) AS rule_ids
                      FROM best GROUP BY diagnosis_id, code),
                per_diag AS (
                    SELECT diagnosis_id, COUNT(*) AS n_codes,
                           JSON_ARRAYAGG(JSON_OBJECT('code' VALUE code, 'rule_ids' VALUE rule_ids FORMAT JSON)
                                         ORDER BY code RETURNING VARCHAR2(2000)) AS candidates
                      FROM per_code GROUP BY diagnosis_id),
                winner AS (
                    SELECT * FROM (SELECT b.*, ROW_NUMBER() OVER (PARTITION BY diagnosis_id ORDER BY rule_id) AS rn
                                     FROM best b) WHERE rn = 1)
                SELECT t.diagnosis_id, NULLIF(t.normalized, CHR(0)) AS normalized,
                       CASE WHEN t.normalized = CHR(0) THEN 'invalid_input'
                            WHEN p.diagnosis_id IS NULL THEN 'no_match'
                            WHEN p.n_codes > 1 THEN 'ambiguous'
                            ELSE 'coded' END AS outcome,
                       p.candidates, w.rule_id, w.code, w.version, w.pattern
                  FROM match_text t
                  LEFT JOIN per_diag p ON p.diagnosis_id = t.diagnosis_id
                  LEFT JOIN winner w ON w.diagnosis_id = t.diagnosis_id
                 WHERE t.run_id = v_run_id)
            LOOP
                IF x.outcome = 'coded' THEN
                    INSERT INTO code_log (run_id, diagnosis_id, code, rule_id, rule_version, normalized,
                                          match_start, match_end, logged_at)
                    VALUES (v_run_id, x.diagnosis_id, x.code, x.rule_id, x.version, x.normalized,
                            REGEXP_INSTR(x.normalized, x.pattern, 1, 1, 0, 'c') - 1,
                            REGEXP_INSTR(x.normalized, x.pattern, 1, 1, 1, 'c') - 1, v_now);
                    UPDATE diagnosis SET status = 'coded', code = x.code, coded_by = 'auto', fail_reason = NULL,
                           attempted_at = v_now, attempted_version = v_rb, updated_at = v_now
                     WHERE id = x.diagnosis_id;
                    UPDATE coding_run SET considered = considered + 1, coded = coded + 1 WHERE id = v_run_id;
                ELSE
                    INSERT INTO fail_log (run_id, diagnosis_id, reason, candidates, normalized, logged_at)
                    VALUES (v_run_id, x.diagnosis_id, x.outcome,
                            CASE WHEN x.outcome = 'ambiguous' THEN x.candidates END, x.normalized, v_now);
                    UPDATE diagnosis SET status = 'failed', code = NULL, coded_by = NULL, fail_reason = x.outcome,
                           attempted_at = v_now, attempted_version = v_rb, updated_at = v_now
                     WHERE id = x.diagnosis_id;
                    UPDATE coding_run SET considered = considered + 1,
                           no_match = no_match + CASE WHEN x.outcome = 'no_match' THEN 1 ELSE 0 END,
                           ambiguous = ambiguous + CASE WHEN x.outcome = 'ambiguous' THEN 1 ELSE 0 END,
                           invalid_input = invalid_input + CASE WHEN x.outcome = 'invalid_input' THEN 1 ELSE 0 END
                     WHERE id = v_run_id;
                END IF;
            END LOOP;
            UPDATE coding_run SET heartbeat_at = v_now WHERE id = v_run_id;
            UPDATE run_lock SET heartbeat_at = v_now WHERE name = 'coding' AND run_id = v_run_id;
            DELETE FROM match_text WHERE run_id = v_run_id;
            COMMIT;
        END LOOP;

        UPDATE coding_run SET status = 'finished', ended_at = SYS_EXTRACT_UTC(SYSTIMESTAMP) WHERE id = v_run_id;
        DELETE FROM run_lock WHERE name = 'coding' AND run_id = v_run_id;
        COMMIT;
    EXCEPTION
        WHEN OTHERS THEN
            ROLLBACK;
            IF v_run_id IS NOT NULL THEN
                UPDATE coding_run SET status = 'crashed', ended_at = SYS_EXTRACT_UTC(SYSTIMESTAMP),
                       error = SUBSTR(SQLERRM, 1, 1000)
                 WHERE id = v_run_id;
                DELETE FROM run_lock WHERE name = 'coding' AND run_id = v_run_id;
                COMMIT;
            END IF;
            RAISE;
    END run_coding;

END icdcoder_pkg;
/

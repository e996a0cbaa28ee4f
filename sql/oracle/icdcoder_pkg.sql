-- icdcoder: one coding run inside Oracle 19c with REGEXP_LIKE, the paper's design.
--
-- NOT RUN ON A LIVE ORACLE SERVER: none was available, and nothing in this file has been compiled
-- or executed. What was checked, and how, is in sql/README.md (statically: tables and columns
-- against the models, the statements it must keep in step with the PL/pgSQL procedure, which is
-- tested on a real PostgreSQL server). Compile it on a test schema and compare a run with
-- `icdcoder run --engine sql` before relying on it.
--
--   @sql/oracle/schema.sql          (or: icdcoder db upgrade with an oracle+oracledb URL)
--   @sql/oracle/icdcoder_pkg.sql
--   @sql/oracle/scheduler.sql       (08:00 and 14:30 every day)
--   EXEC icdcoder_pkg.run_coding(1000);
--
-- Written to the same meaning as `icdcoder run --engine sql` and sql/postgresql/icdcoder_run.sql:
-- normalize, match with REGEXP_LIKE(text, pattern, 'c') among the rules of the line's code system
-- whose code is active, resolve by priority (none: no_match; blank: invalid_input; one code at the
-- top: coded by its lowest rule id). Several codes at the top: under app_setting matching = spans
-- (the default, no row) each rule's leftmost match (REGEXP_INSTR) is its span; a hit strictly
-- inside another code's hit drops out, different codes still overlapping make the line
-- ambiguous, otherwise the line is coded with every code left, in text order (diagnosis.code the
-- first, other_codes the rest, one code_log row per code with its position); under strict,
-- ambiguous. The guard table (guard_kind, the PL/pgSQL icdcoder_guard's twin) is applied to every
-- part of a line that would be coded: any part guarded, the line fails uncertain / negated with
-- its candidates. Then, in the batch's transaction, the combination table (combine: a person's
-- code never replaced, combo_hit review marks, code_log's combination columns). Statuses,
-- code_log and fail_log rows and the run's counts are written, and each batch commits.
--
-- NOT DONE HERE: the code edits (code_edit; README "Code edits"): no edit_hit mark is written or
-- cleared, so lines this package codes are not checked. After a run, run `icdcoder edits check`
-- (checks every record and brings the marks in line), or code with `icdcoder run`.
-- Not done either (as in the PL/pgSQL procedure): no too_long outcome, no per-pattern timeout, a
-- rule whose pattern Oracle refuses stops the run.
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

    TYPE t_nums IS TABLE OF PLS_INTEGER INDEX BY PLS_INTEGER;
    TYPE t_strs IS TABLE OF VARCHAR2(1000 CHAR) INDEX BY PLS_INTEGER;
    TYPE t_flags IS TABLE OF BOOLEAN INDEX BY PLS_INTEGER;
    TYPE t_set IS TABLE OF BOOLEAN INDEX BY VARCHAR2(100);

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

    -- The guard table on a line that would be coded, its parts' words at [p_starts(i), p_ends(i))
    -- (0-based, in characters, as code_log keeps them; i = 1 .. p_n): the kind of the first enabled
    -- guard, in seq_no, id order, whose cue stands wholly before one part's words (scope before,
    -- any) or wholly after them (after, any), overlaps no part's words and stands inside none of its
    -- not_within words; NULL when none does. The twin of the PL/pgSQL icdcoder_guard (tested there
    -- against rulebase.decision.guard).
    FUNCTION guard_kind(p_text IN VARCHAR2, p_starts IN t_nums, p_ends IN t_nums, p_n IN PLS_INTEGER)
        RETURN VARCHAR2 IS
        w        VARCHAR2(200 CHAR);
        s0       PLS_INTEGER;
        e0       PLS_INTEGER;
        found_at PLS_INTEGER;
        covered  BOOLEAN;
        inside   BOOLEAN;
    BEGIN
        FOR g IN (SELECT cue, kind, scope, not_within FROM guard WHERE enabled = 1 ORDER BY seq_no, id) LOOP
            found_at := 0;
            LOOP
                s0 := INSTR(p_text, g.cue, found_at + 1);  -- 1-based, 0 when none
                EXIT WHEN s0 = 0;
                s0 := s0 - 1;  -- 0-based start of this occurrence
                e0 := s0 + LENGTH(g.cue);
                found_at := s0 + 1;  -- the next search starts one character on: occurrences may overlap
                covered := FALSE;
                IF g.not_within IS NOT NULL THEN
                    FOR k IN 1 .. REGEXP_COUNT(g.not_within, '[^|]+') LOOP
                        w := REGEXP_SUBSTR(g.not_within, '[^|]+', 1, k);
                        FOR q IN GREATEST(0, e0 - LENGTH(w)) .. s0 LOOP
                            IF SUBSTR(p_text, q + 1, LENGTH(w)) = w THEN
                                covered := TRUE;
                                EXIT;
                            END IF;
                        END LOOP;
                        EXIT WHEN covered;
                    END LOOP;
                END IF;
                IF NOT covered THEN
                    -- a cue inside any part's words is that rule's own text (发热待查): it guards nothing
                    inside := FALSE;
                    FOR i IN 1 .. p_n LOOP
                        IF s0 < p_ends(i) AND p_starts(i) < e0 THEN
                            inside := TRUE;
                        END IF;
                    END LOOP;
                    IF NOT inside THEN
                        FOR i IN 1 .. p_n LOOP
                            IF (e0 <= p_starts(i) AND g.scope <> 'after') OR (s0 >= p_ends(i) AND g.scope <> 'before') THEN
                                RETURN g.kind;
                            END IF;
                        END LOOP;
                    END IF;
                END IF;
            END LOOP;
        END LOOP;
        RETURN NULL;
    END guard_kind;

    -- A comma-joined list's k-th item (codes hold no comma).
    FUNCTION item(p_list IN VARCHAR2, p_k IN PLS_INTEGER) RETURN VARCHAR2 IS
    BEGIN
        RETURN REGEXP_SUBSTR(p_list, '[^,]+', 1, p_k);
    END item;

    FUNCTION items(p_list IN VARCHAR2) RETURN PLS_INTEGER IS
    BEGIN
        RETURN NVL(REGEXP_COUNT(p_list, '[^,]+'), 0);
    END items;

    -- The combination table on the records of a batch (p_ids), in the batch's transaction, as
    -- coder.store.combinations.apply_to_batch does it and the PL/pgSQL icdcoder_combine (tested
    -- there against it). Per record and kind (never procedures), the codes of its lines (coded in
    -- this batch or before; a line's first code and its other_codes) that are source codes, in seq
    -- then place order; the enabled rows with the most source codes first, then by id; each code of
    -- a line serves one combination, an auto-coded line's picked before a person's. When auto-coded
    -- lines hold every source code, each such code becomes the combination code in its line's list
    -- (each code kept once, first place), and the code's code_log row of this run (copied from the
    -- line's latest run when it was coded before) names the row, the lines and the code before.
    -- When a person's line holds one, the auto-coded lines get an open combo_hit mark instead, once;
    -- the open marks of these records' lines no application wants any more are cleared.
    PROCEDURE combine(p_run_id IN PLS_INTEGER, p_ids IN SYS.ODCINUMBERLIST, p_now IN DATE) IS
        -- the enabled combinations, most source codes first, then by id
        c_id      t_nums;
        c_version t_nums;
        c_codes   t_strs;
        c_code    t_strs;
        nc        PLS_INTEGER := 0;
        v_source  t_set;  -- every source code
        -- the source codes found in one record's lines of one kind, in seq then place order
        o_line    t_nums;
        o_place   t_nums;
        o_code    t_strs;
        o_auto    t_flags;
        o_used    t_flags;
        o_target  t_strs;  -- the combination code that replaces it
        n         PLS_INTEGER := 0;
        v_record  diagnosis.record_id%TYPE;
        v_kind    diagnosis.kind%TYPE;
        v_all     VARCHAR2(1000 CHAR);
        v_one     VARCHAR2(32 CHAR);
        v_wanted  t_set;  -- 'line:combination' of the marks this application wants

        PROCEDURE apply_group IS
            picked    t_nums;  -- indexes of the codes found, in source-code order
            np        PLS_INTEGER;
            pick      PLS_INTEGER;
            v_src     VARCHAR2(32 CHAR);
            auto_ids  t_nums;
            na        PLS_INTEGER;
            v_people  VARCHAR2(1000 CHAR);
            v_seen    BOOLEAN;
            v_sources VARCHAR2(200 CHAR);
            v_line    PLS_INTEGER;
            v_cid     PLS_INTEGER;
            v_cver    PLS_INTEGER;
            v_reason  VARCHAR2(500 CHAR);
            v_other   VARCHAR2(200 CHAR);
            v_new     t_strs;
            nn        PLS_INTEGER;
            v_first   BOOLEAN;
            v_dup     BOOLEAN;
            tmp       PLS_INTEGER;
            j         PLS_INTEGER;
            -- the code_log rows to mark once the group's lines are written
            m_line    t_nums;
            m_old     t_strs;
            m_combo   t_nums;
            m_version t_nums;
            m_code    t_strs;
            m_sources t_strs;
            nm        PLS_INTEGER := 0;
        BEGIN
            FOR ci IN 1 .. nc LOOP
                np := 0;
                pick := NULL;
                FOR k IN 1 .. items(c_codes(ci)) LOOP
                    v_src := item(c_codes(ci), k);
                    pick := NULL;
                    FOR q IN 1 .. n LOOP
                        IF o_code(q) = v_src AND NOT o_used(q) THEN
                            IF o_auto(q) THEN
                                pick := q;
                                EXIT;
                            END IF;
                            IF pick IS NULL THEN
                                pick := q;
                            END IF;
                        END IF;
                    END LOOP;
                    EXIT WHEN pick IS NULL;
                    np := np + 1;
                    picked(np) := pick;
                END LOOP;
                IF pick IS NOT NULL THEN  -- every source code is held
                    na := 0;
                    v_people := NULL;
                    FOR k IN 1 .. np LOOP
                        v_seen := FALSE;
                        FOR q IN 1 .. k - 1 LOOP
                            IF o_line(picked(q)) = o_line(picked(k)) THEN
                                v_seen := TRUE;
                            END IF;
                        END LOOP;
                        IF NOT v_seen THEN
                            IF o_auto(picked(k)) THEN
                                na := na + 1;
                                auto_ids(na) := o_line(picked(k));
                            ELSE
                                v_people := v_people || CASE WHEN v_people IS NOT NULL THEN ',' END || o_line(picked(k));
                            END IF;
                        END IF;
                    END LOOP;
                    IF na > 0 AND v_people IS NOT NULL THEN
                        -- a person's code stands in the way: the auto-coded lines go to review
                        v_cid := c_id(ci);
                        v_cver := c_version(ci);
                        v_reason := SUBSTR('组合编码 ' || v_cid || '（' || c_codes(ci) || ' → ' || c_code(ci)
                                           || '）未应用：第 ' || v_people || ' 号诊断为人工编码，请复核', 1, 500);
                        FOR k IN 1 .. na LOOP
                            v_line := auto_ids(k);
                            v_wanted(v_line || ':' || v_cid) := TRUE;
                            INSERT INTO combo_hit (diagnosis_id, combo_id, combo_version, reason, found_at, cleared_at)
                            SELECT v_line, v_cid, v_cver, v_reason, p_now, NULL FROM dual
                             WHERE NOT EXISTS (SELECT 1 FROM combo_hit h
                                                WHERE h.diagnosis_id = v_line AND h.combo_id = v_cid
                                                  AND h.cleared_at IS NULL);
                        END LOOP;
                    ELSIF na > 0 THEN
                        -- applied: its codes in seq then place order, its lines distinct in that order
                        FOR k IN 2 .. np LOOP
                            tmp := picked(k);
                            j := k - 1;
                            WHILE j >= 1 AND picked(j) > tmp LOOP
                                picked(j + 1) := picked(j);
                                j := j - 1;
                            END LOOP;
                            picked(j + 1) := tmp;
                        END LOOP;
                        v_sources := NULL;
                        FOR k IN 1 .. np LOOP
                            v_seen := FALSE;
                            FOR q IN 1 .. k - 1 LOOP
                                IF o_line(picked(q)) = o_line(picked(k)) THEN
                                    v_seen := TRUE;
                                END IF;
                            END LOOP;
                            IF NOT v_seen THEN
                                v_sources := v_sources || CASE WHEN v_sources IS NOT NULL THEN ',' END || o_line(picked(k));
                            END IF;
                        END LOOP;
                        FOR k IN 1 .. np LOOP
                            o_used(picked(k)) := TRUE;
                            o_target(picked(k)) := c_code(ci);
                            nm := nm + 1;
                            m_line(nm) := o_line(picked(k));
                            m_old(nm) := o_code(picked(k));
                            m_combo(nm) := c_id(ci);
                            m_version(nm) := c_version(ci);
                            m_code(nm) := c_code(ci);
                            m_sources(nm) := v_sources;
                        END LOOP;
                    END IF;
                END IF;
            END LOOP;
            -- The lines changed: their new lists, and this run's log rows (copied when coded before).
            FOR q IN 1 .. n LOOP
                IF o_target(q) IS NOT NULL THEN
                    v_first := TRUE;
                    FOR k IN 1 .. q - 1 LOOP
                        IF o_line(k) = o_line(q) AND o_target(k) IS NOT NULL THEN
                            v_first := FALSE;
                        END IF;
                    END LOOP;
                    IF v_first THEN
                        v_line := o_line(q);
                        SELECT code || CASE WHEN other_codes IS NOT NULL THEN ',' || other_codes END
                          INTO v_all FROM diagnosis WHERE id = v_line;
                        nn := 0;
                        FOR k IN 1 .. items(v_all) LOOP
                            v_one := item(v_all, k);
                            FOR r IN q .. n LOOP
                                IF o_line(r) = v_line AND o_target(r) IS NOT NULL AND o_place(r) = k - 1 THEN
                                    v_one := o_target(r);
                                END IF;
                            END LOOP;
                            v_dup := FALSE;
                            FOR r IN 1 .. nn LOOP
                                IF v_new(r) = v_one THEN
                                    v_dup := TRUE;
                                END IF;
                            END LOOP;
                            IF NOT v_dup THEN
                                nn := nn + 1;
                                v_new(nn) := v_one;
                            END IF;
                        END LOOP;
                        v_other := NULL;
                        FOR r IN 2 .. nn LOOP
                            v_other := v_other || CASE WHEN r > 2 THEN ',' END || v_new(r);
                        END LOOP;
                        v_one := v_new(1);
                        UPDATE diagnosis SET code = v_one, other_codes = v_other, updated_at = p_now
                         WHERE id = v_line AND status = 'coded' AND coded_by = 'auto';
                        INSERT INTO code_log (run_id, diagnosis_id, code, rule_id, rule_version, normalized, match_start,
                                              match_end, position, combination_id, combination_version, source_ids,
                                              source_code, logged_at)
                        SELECT p_run_id, l.diagnosis_id, l.code, l.rule_id, l.rule_version, l.normalized, l.match_start,
                               l.match_end, l.position, l.combination_id, l.combination_version, l.source_ids,
                               l.source_code, p_now
                          FROM code_log l
                         WHERE l.diagnosis_id = v_line
                           AND l.run_id = (SELECT MAX(m.run_id) FROM code_log m WHERE m.diagnosis_id = v_line)
                           AND NOT EXISTS (SELECT 1 FROM code_log m WHERE m.run_id = p_run_id AND m.diagnosis_id = v_line);
                    END IF;
                END IF;
            END LOOP;
            -- The replaced codes' rows, found by their code (a line's codes are distinct).
            FOR k IN 1 .. nm LOOP
                UPDATE code_log SET code = m_code(k), combination_id = m_combo(k), combination_version = m_version(k),
                       source_ids = m_sources(k), source_code = m_old(k)
                 WHERE run_id = p_run_id AND diagnosis_id = m_line(k) AND code = m_old(k);
            END LOOP;
        END apply_group;

    BEGIN
        FOR c IN (SELECT id, version, codes, code FROM combination WHERE enabled = 1
                   ORDER BY REGEXP_COUNT(codes, '[^,]+') DESC, id) LOOP
            nc := nc + 1;
            c_id(nc) := c.id;
            c_version(nc) := c.version;
            c_codes(nc) := c.codes;
            c_code(nc) := c.code;
            FOR k IN 1 .. items(c.codes) LOOP
                v_source(item(c.codes, k)) := TRUE;
            END LOOP;
        END LOOP;
        IF nc = 0 THEN
            RETURN;
        END IF;
        FOR d IN (SELECT id, record_id, kind, seq_no, code, other_codes, status, coded_by FROM diagnosis
                   WHERE code IS NOT NULL AND kind <> 'procedure'
                     AND record_id IN (SELECT record_id FROM diagnosis
                                        WHERE id IN (SELECT COLUMN_VALUE FROM TABLE(p_ids)))
                   ORDER BY record_id, kind, seq_no) LOOP
            IF v_record IS NULL OR d.record_id <> v_record OR d.kind <> v_kind THEN
                IF n >= 2 THEN
                    apply_group;
                END IF;
                n := 0;
                v_record := d.record_id;
                v_kind := d.kind;
            END IF;
            v_all := d.code || CASE WHEN d.other_codes IS NOT NULL THEN ',' || d.other_codes END;
            FOR k IN 1 .. items(v_all) LOOP
                v_one := item(v_all, k);
                IF v_source.EXISTS(v_one) THEN
                    n := n + 1;
                    o_line(n) := d.id;
                    o_place(n) := k - 1;
                    o_code(n) := v_one;
                    o_auto(n) := d.status = 'coded' AND NVL(d.coded_by, '-') = 'auto';
                    o_used(n) := FALSE;
                    o_target(n) := NULL;
                END IF;
            END LOOP;
        END LOOP;
        IF n >= 2 THEN
            apply_group;
        END IF;
        -- A mark whose reason is gone (a person's code changed, the auto line decided) closes.
        FOR h IN (SELECT id, diagnosis_id, combo_id FROM combo_hit
                   WHERE cleared_at IS NULL
                     AND diagnosis_id IN (SELECT id FROM diagnosis WHERE record_id IN (
                             SELECT record_id FROM diagnosis WHERE id IN (SELECT COLUMN_VALUE FROM TABLE(p_ids))))) LOOP
            IF NOT v_wanted.EXISTS(h.diagnosis_id || ':' || h.combo_id) THEN
                UPDATE combo_hit SET cleared_at = p_now WHERE id = h.id;
            END IF;
        END LOOP;
    END combine;

    PROCEDURE run_coding(p_batch_size IN PLS_INTEGER DEFAULT 1000) IS
        v_run_id   coding_run.id%TYPE;
        v_rb       rulebase_state.version%TYPE;
        v_now      DATE;
        v_ids      SYS.ODCINUMBERLIST;
        v_holder   run_lock%ROWTYPE;
        v_found    BOOLEAN;
        v_cnt      PLS_INTEGER;
        v_matching app_setting.value%TYPE;
        v_spans    BOOLEAN;
        -- the line being decided: its text, candidates and hits at the top priority (rule id order)
        v_cur      PLS_INTEGER;
        v_text     VARCHAR2(4000 CHAR);
        v_n_codes  PLS_INTEGER;
        v_cands    VARCHAR2(2000 CHAR);
        n          PLS_INTEGER := 0;
        h_rule     t_nums;
        h_code     t_strs;
        h_version  t_nums;
        h_pattern  t_strs;
        h_s        t_nums;
        h_e        t_nums;
        h_kept     t_flags;
        -- the batch's counts
        c_considered PLS_INTEGER;
        c_coded      PLS_INTEGER;
        c_no_match   PLS_INTEGER;
        c_ambiguous  PLS_INTEGER;
        c_invalid    PLS_INTEGER;
        c_uncertain  PLS_INTEGER;
        c_negated    PLS_INTEGER;

        -- One line's decision (rulebase.decision.resolve, separate and guard), written.
        PROCEDURE write_line IS
            v_outcome VARCHAR2(16);
            v_part     t_nums;  -- the parts: indexes of hits, in text order
            np        PLS_INTEGER := 0;
            g_s       t_nums;
            g_e       t_nums;
            v_clash   BOOLEAN := FALSE;
            v_dup     BOOLEAN;
            v_other   VARCHAR2(200 CHAR);
            v_ids     VARCHAR2(2000 CHAR);
            k         PLS_INTEGER;
            j         PLS_INTEGER;
        BEGIN
            IF v_text IS NULL THEN
                v_outcome := 'invalid_input';
            ELSIF n = 0 THEN
                v_outcome := 'no_match';
            ELSIF v_n_codes = 1 THEN
                np := 1;
                v_part(1) := 1;  -- the lowest rule id
                h_s(1) := REGEXP_INSTR(v_text, h_pattern(1), 1, 1, 0, 'c') - 1;
                h_e(1) := REGEXP_INSTR(v_text, h_pattern(1), 1, 1, 1, 'c') - 1;
                v_outcome := 'coded';
            ELSIF NOT v_spans THEN
                v_outcome := 'ambiguous';
            ELSE
                FOR i IN 1 .. n LOOP
                    h_s(i) := REGEXP_INSTR(v_text, h_pattern(i), 1, 1, 0, 'c') - 1;
                    h_e(i) := REGEXP_INSTR(v_text, h_pattern(i), 1, 1, 1, 'c') - 1;
                END LOOP;
                -- a hit strictly inside another code's hit drops out
                FOR i IN 1 .. n LOOP
                    h_kept(i) := TRUE;
                    FOR q IN 1 .. n LOOP
                        IF h_code(q) <> h_code(i) AND h_s(q) <= h_s(i) AND h_e(i) <= h_e(q)
                           AND (h_s(q) <> h_s(i) OR h_e(q) <> h_e(i)) THEN
                            h_kept(i) := FALSE;
                            EXIT;
                        END IF;
                    END LOOP;
                END LOOP;
                -- different codes still overlapping: ambiguous
                FOR i IN 1 .. n LOOP
                    FOR q IN i + 1 .. n LOOP
                        IF h_kept(i) AND h_kept(q) AND h_code(i) <> h_code(q)
                           AND h_s(i) < h_e(q) AND h_s(q) < h_e(i) THEN
                            v_clash := TRUE;
                        END IF;
                    END LOOP;
                END LOOP;
                IF v_clash THEN
                    v_outcome := 'ambiguous';
                ELSE
                    -- one part per code: its first kept hit (the hits come in rule id order)
                    FOR i IN 1 .. n LOOP
                        IF h_kept(i) THEN
                            v_dup := FALSE;
                            FOR q IN 1 .. np LOOP
                                IF h_code(v_part(q)) = h_code(i) THEN
                                    v_dup := TRUE;
                                END IF;
                            END LOOP;
                            IF NOT v_dup THEN
                                np := np + 1;
                                v_part(np) := i;
                            END IF;
                        END IF;
                    END LOOP;
                    -- in text order: by start, then end
                    FOR i IN 2 .. np LOOP
                        k := v_part(i);
                        j := i - 1;
                        WHILE j >= 1 AND (h_s(v_part(j)) > h_s(k) OR (h_s(v_part(j)) = h_s(k) AND h_e(v_part(j)) > h_e(k))) LOOP
                            v_part(j + 1) := v_part(j);
                            j := j - 1;
                        END LOOP;
                        v_part(j + 1) := k;
                    END LOOP;
                    v_outcome := 'coded';
                END IF;
            END IF;
            IF v_outcome = 'coded' THEN
                FOR i IN 1 .. np LOOP
                    g_s(i) := h_s(v_part(i));
                    g_e(i) := h_e(v_part(i));
                END LOOP;
                v_outcome := NVL(guard_kind(v_text, g_s, g_e, np), 'coded');
            END IF;
            IF v_outcome IN ('uncertain', 'negated') THEN
                -- the codes the line would have had, not a hit its parts' words dropped
                -- (rulebase.decision.would_have): each with every top rule of it, in text order
                v_cands := NULL;
                FOR i IN 1 .. np LOOP
                    v_ids := NULL;
                    FOR q IN 1 .. n LOOP
                        IF h_code(q) = h_code(v_part(i)) THEN
                            v_ids := v_ids || CASE WHEN v_ids IS NOT NULL THEN ',' END || TO_CHAR(h_rule(q));
                        END IF;
                    END LOOP;
                    v_cands := v_cands || CASE WHEN i > 1 THEN ',' END
                               || '{"code":"' || h_code(v_part(i)) || '","rule_ids":[' || v_ids || ']}';
                END LOOP;
                v_cands := '[' || v_cands || ']';
            END IF;
            c_considered := c_considered + 1;
            IF v_outcome = 'coded' THEN
                v_other := NULL;
                FOR i IN 1 .. np LOOP
                    k := v_part(i);
                    INSERT INTO code_log (run_id, diagnosis_id, code, rule_id, rule_version, normalized,
                                          match_start, match_end, logged_at, position)
                    VALUES (v_run_id, v_cur, h_code(k), h_rule(k), h_version(k), v_text, h_s(k), h_e(k), v_now, i - 1);
                    IF i > 1 THEN
                        v_other := v_other || CASE WHEN i > 2 THEN ',' END || h_code(k);
                    END IF;
                END LOOP;
                k := v_part(1);
                UPDATE diagnosis SET status = 'coded', code = h_code(k), other_codes = v_other, coded_by = 'auto',
                       fail_reason = NULL, attempted_at = v_now, attempted_version = v_rb, updated_at = v_now
                 WHERE id = v_cur;
                c_coded := c_coded + 1;
            ELSE
                INSERT INTO fail_log (run_id, diagnosis_id, reason, candidates, normalized, logged_at)
                VALUES (v_run_id, v_cur, v_outcome,
                        CASE WHEN v_outcome IN ('ambiguous', 'uncertain', 'negated') THEN v_cands END, v_text, v_now);
                UPDATE diagnosis SET status = 'failed', code = NULL, other_codes = NULL, coded_by = NULL,
                       fail_reason = v_outcome, attempted_at = v_now, attempted_version = v_rb, updated_at = v_now
                 WHERE id = v_cur;
                IF v_outcome = 'no_match' THEN
                    c_no_match := c_no_match + 1;
                ELSIF v_outcome = 'ambiguous' THEN
                    c_ambiguous := c_ambiguous + 1;
                ELSIF v_outcome = 'invalid_input' THEN
                    c_invalid := c_invalid + 1;
                ELSIF v_outcome = 'uncertain' THEN
                    c_uncertain := c_uncertain + 1;
                ELSE
                    c_negated := c_negated + 1;
                END IF;
            END IF;
        END write_line;

    BEGIN
        v_now := SYS_EXTRACT_UTC(SYSTIMESTAMP);
        SELECT version INTO v_rb FROM rulebase_state WHERE id = 1;
        -- app_setting 'matching': spans (the default, no row) or strict (several codes: ambiguous)
        BEGIN
            SELECT value INTO v_matching FROM app_setting WHERE name = 'matching';
        EXCEPTION WHEN NO_DATA_FOUND THEN
            v_matching := NULL;
        END;
        IF NVL(v_matching, 'spans') NOT IN ('spans', 'strict') THEN
            RAISE_APPLICATION_ERROR(-20076, 'app_setting matching is ' || v_matching
                                    || '; it is one of spans, strict. Run: icdcoder settings set matching spans');
        END IF;
        v_spans := NVL(v_matching, 'spans') = 'spans';
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

            c_considered := 0; c_coded := 0; c_no_match := 0; c_ambiguous := 0; c_invalid := 0;
            c_uncertain := 0; c_negated := 0;
            v_cur := NULL;
            n := 0;
            -- Each text with its hits at the top priority, in rule id order (none: one row, no rule),
            -- and the candidates; CHR(0) marks a blank description.
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
                      FROM per_code GROUP BY diagnosis_id)
                SELECT t.diagnosis_id, NULLIF(t.normalized, CHR(0)) AS normalized, p.n_codes, p.candidates,
                       b.rule_id, b.code, b.version, b.pattern
                  FROM match_text t
                  LEFT JOIN per_diag p ON p.diagnosis_id = t.diagnosis_id
                  LEFT JOIN best b ON b.diagnosis_id = t.diagnosis_id
                 WHERE t.run_id = v_run_id
                 ORDER BY t.diagnosis_id, b.rule_id)
            LOOP
                IF v_cur IS NOT NULL AND x.diagnosis_id <> v_cur THEN
                    write_line;
                    n := 0;
                END IF;
                v_cur := x.diagnosis_id;
                v_text := x.normalized;
                v_n_codes := x.n_codes;
                v_cands := x.candidates;
                IF x.rule_id IS NOT NULL THEN
                    n := n + 1;
                    h_rule(n) := x.rule_id;
                    h_code(n) := x.code;
                    h_version(n) := x.version;
                    h_pattern(n) := x.pattern;
                END IF;
            END LOOP;
            IF v_cur IS NOT NULL THEN
                write_line;
            END IF;

            -- The combination codes, in this batch's transaction, once its lines are written.
            combine(v_run_id, v_ids, v_now);

            UPDATE coding_run SET considered = considered + c_considered, coded = coded + c_coded,
                   no_match = no_match + c_no_match, ambiguous = ambiguous + c_ambiguous,
                   invalid_input = invalid_input + c_invalid, uncertain = uncertain + c_uncertain,
                   negated = negated + c_negated, heartbeat_at = v_now
             WHERE id = v_run_id;
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

-- icdcoder: the coding run twice a day inside Oracle (DBMS_SCHEDULER), as in Zhou et al. 2020.
-- NOT RUN ON A LIVE ORACLE SERVER; see sql/README.md. Needs the CREATE JOB privilege.
-- Two jobs, because one calendar with BYHOUR=8,14;BYMINUTE=0,30 would also fire at 08:30 and 14:00.

BEGIN
    DBMS_SCHEDULER.CREATE_JOB(
        job_name        => 'ICDCODER_RUN_0800',
        job_type        => 'PLSQL_BLOCK',
        job_action      => 'BEGIN icdcoder_pkg.run_coding(1000); END;',
        start_date      => SYSTIMESTAMP,
        repeat_interval => 'FREQ=DAILY;BYHOUR=8;BYMINUTE=0;BYSECOND=0',
        enabled         => TRUE,
        comments        => 'icdcoder coding run, morning');
    DBMS_SCHEDULER.CREATE_JOB(
        job_name        => 'ICDCODER_RUN_1430',
        job_type        => 'PLSQL_BLOCK',
        job_action      => 'BEGIN icdcoder_pkg.run_coding(1000); END;',
        start_date      => SYSTIMESTAMP,
        repeat_interval => 'FREQ=DAILY;BYHOUR=14;BYMINUTE=30;BYSECOND=0',
        enabled         => TRUE,
        comments        => 'icdcoder coding run, afternoon');
END;
/

-- To remove them:
--   EXEC DBMS_SCHEDULER.DROP_JOB('ICDCODER_RUN_0800');
--   EXEC DBMS_SCHEDULER.DROP_JOB('ICDCODER_RUN_1430');

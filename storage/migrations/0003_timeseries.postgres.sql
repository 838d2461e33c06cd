-- Time series on plain PostgreSQL (no TimescaleDB): declarative range
-- partitioning by time, aggregate tables kept fresh by `rpm db maintain`
-- (or the sink's maintenance thread), and views with the same names and
-- columns as the TimescaleDB continuous aggregates, so the query API runs
-- the same SQL on both backends.
--
-- Partitions (<table>_pYYYYMMDD) are created ahead and dropped for
-- retention by storage/partitions.py. Each partitioned table has a DEFAULT
-- partition so a reading outside every partition (a very late upload) is
-- still stored, never refused; maintenance moves such rows into proper
-- partitions. Buckets and partition bounds share the origin 2000-01-03 UTC
-- (a Monday), TimescaleDB's time_bucket origin.

-- Raw readings. The natural key makes a replayed or re-uploaded reading a
-- no-op. It leads with the patient so the same index serves the trend and
-- "latest value" queries (one index to maintain per insert, not two), and
-- it contains measured_at because a partitioned table's keys must include
-- the partition key.
-- Identifier columns use the "C" collation: byte-wise comparison makes the
-- text-keyed primary key markedly cheaper to maintain than a linguistic
-- collation, and ids have no language.
CREATE TABLE readings (
    measured_at  timestamptz NOT NULL,
    patient_id   text COLLATE "C" NOT NULL,
    device_id    text COLLATE "C" NOT NULL,
    type         text COLLATE "C" NOT NULL,
    value        double precision NOT NULL,
    unit         text NOT NULL,
    flags        text[] NOT NULL DEFAULT '{}',
    seq          bigint NOT NULL,
    received_at  timestamptz NOT NULL,
    PRIMARY KEY (patient_id, type, measured_at, device_id)
) PARTITION BY RANGE (measured_at);
CREATE TABLE readings_default PARTITION OF readings DEFAULT;

-- Per-window features from the stream workers (e.g. 1-minute median HR).
CREATE TABLE window_features (
    patient_id    text COLLATE "C" NOT NULL,
    type          text COLLATE "C" NOT NULL,
    window_start  timestamptz NOT NULL,
    window_end    timestamptz NOT NULL,
    length_s      integer NOT NULL,
    count         integer NOT NULL,
    received      integer NOT NULL,
    rejected      integer NOT NULL,
    rejected_by   jsonb NOT NULL DEFAULT '{}',
    mean          double precision,
    median        double precision,
    min           double precision,
    max           double precision,
    std           double precision,
    slope_per_h   double precision,
    coverage      double precision NOT NULL,
    quality       double precision,
    PRIMARY KEY (patient_id, type, window_start, window_end)
) PARTITION BY RANGE (window_start);
CREATE TABLE window_features_default PARTITION OF window_features DEFAULT;

-- NEWS2 (RCP 2017) with its sub-scores; a NULL sub-score = not scored
-- (missing, stale or indeterminate), and then total is a lower bound.
CREATE TABLE news2_scores (
    patient_id            text COLLATE "C" NOT NULL,
    scored_at             timestamptz NOT NULL,
    total                 smallint NOT NULL,
    band                  text NOT NULL,
    red_flag              boolean NOT NULL,
    red_flag_parameters   text[] NOT NULL DEFAULT '{}',
    complete              boolean NOT NULL,
    spo2_scale            smallint NOT NULL CHECK (spo2_scale IN (1, 2)),
    resp_rate             smallint,
    spo2                  smallint,
    air_or_oxygen         smallint,
    systolic_bp           smallint,
    pulse                 smallint,
    consciousness         smallint,
    temperature           smallint,
    missing               text[] NOT NULL DEFAULT '{}',
    stale                 text[] NOT NULL DEFAULT '{}',
    indeterminate         text[] NOT NULL DEFAULT '{}',
    monitoring_frequency  text NOT NULL,
    inputs                jsonb NOT NULL DEFAULT '{}',
    PRIMARY KEY (patient_id, scored_at)
) PARTITION BY RANGE (scored_at);
CREATE TABLE news2_scores_default PARTITION OF news2_scores DEFAULT;

-- CGM trend at each reading (rate, arrow, 20/30-min predictions) and heart
-- rate derived from waveform snippets, as the stream workers publish them.
CREATE TABLE glucose_trends (
    patient_id          text COLLATE "C" NOT NULL,
    at                  timestamptz NOT NULL,
    mg_dl               double precision NOT NULL,
    rate_mg_dl_min      double precision,
    trend               text,
    predicted_20_mg_dl  double precision,
    predicted_30_mg_dl  double precision,
    predicted_low       boolean,
    PRIMARY KEY (patient_id, at)
) PARTITION BY RANGE (at);
CREATE TABLE glucose_trends_default PARTITION OF glucose_trends DEFAULT;

CREATE TABLE waveform_hr (
    patient_id    text COLLATE "C" NOT NULL,
    device_id     text COLLATE "C" NOT NULL,
    waveform      text COLLATE "C" NOT NULL,
    at            timestamptz NOT NULL,
    hr_bpm        double precision,
    reason        text NOT NULL,
    good_windows  integer NOT NULL,
    windows       integer NOT NULL,
    PRIMARY KEY (patient_id, device_id, waveform, at)
) PARTITION BY RANGE (at);
CREATE TABLE waveform_hr_default PARTITION OF waveform_hr DEFAULT;

-- Materialised 1-minute and 1-hour aggregates. Statistics cover readings
-- without quality flags (artifacts must not draw the min/max band);
-- n_flagged counts the others. Sums, not means, so 1 h is exact from 1 min.
CREATE TABLE readings_1m_mat (
    patient_id  text COLLATE "C" NOT NULL,
    type        text COLLATE "C" NOT NULL,
    bucket      timestamptz NOT NULL,
    n           bigint NOT NULL,
    n_flagged   bigint NOT NULL,
    sum         double precision,
    min         double precision,
    max         double precision,
    PRIMARY KEY (patient_id, type, bucket)
) PARTITION BY RANGE (bucket);
CREATE TABLE readings_1m_mat_default PARTITION OF readings_1m_mat DEFAULT;

CREATE TABLE readings_1h_mat (LIKE readings_1m_mat INCLUDING ALL) PARTITION BY RANGE (bucket);
CREATE TABLE readings_1h_mat_default PARTITION OF readings_1h_mat DEFAULT;

-- (patient, vital, hour) triples whose aggregates are out of date
-- (TimescaleDB keeps an invalidation log for the same purpose). A statement
-- trigger marks the triples of rows actually inserted; the refresh
-- recomputes and unmarks them. Until then the views below compute those
-- hours from the raw rows, so queries are exact at any moment. The vital is
-- part of the mark so every lookup is a tight range on the primary key.
CREATE TABLE agg_pending (
    patient_id  text COLLATE "C" NOT NULL,
    type        text COLLATE "C" NOT NULL,
    hour        timestamptz NOT NULL,
    PRIMARY KEY (patient_id, type, hour)
);
CREATE INDEX agg_pending_hour ON agg_pending (hour);

-- SET search_path FROM CURRENT: the function finds agg_pending in this
-- schema whatever the inserting session's search_path is.
CREATE FUNCTION readings_mark_pending() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
BEGIN
    -- DO UPDATE ... WHERE false writes nothing but locks an existing row,
    -- so a concurrent refresh cannot unmark the hour before this
    -- transaction's rows are visible to it (DO NOTHING would not lock).
    -- Sorted to take row locks in one order across concurrent writers.
    INSERT INTO agg_pending (patient_id, type, hour)
    SELECT DISTINCT patient_id, type, date_bin('1 hour', measured_at, TIMESTAMPTZ '2000-01-03 00:00:00+00')
    FROM new_rows ORDER BY 1, 2, 3
    ON CONFLICT (patient_id, type, hour) DO UPDATE SET hour = EXCLUDED.hour WHERE false;
    RETURN NULL;
END $$;
CREATE TRIGGER readings_mark_pending AFTER INSERT ON readings
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION readings_mark_pending();

CREATE VIEW readings_1m AS
SELECT m.patient_id, m.type, m.bucket, m.n, m.n_flagged, m.sum, m.min, m.max
FROM readings_1m_mat m
WHERE NOT EXISTS (
    SELECT 1 FROM agg_pending p
    WHERE p.patient_id = m.patient_id AND p.type = m.type
      AND p.hour = date_bin('1 hour', m.bucket, TIMESTAMPTZ '2000-01-03 00:00:00+00'))
UNION ALL
SELECT r.patient_id, r.type,
       date_bin('1 minute', r.measured_at, TIMESTAMPTZ '2000-01-03 00:00:00+00') AS bucket,
       count(*) FILTER (WHERE r.flags = '{}') AS n,
       count(*) FILTER (WHERE r.flags <> '{}') AS n_flagged,
       sum(r.value) FILTER (WHERE r.flags = '{}') AS sum,
       min(r.value) FILTER (WHERE r.flags = '{}') AS min,
       max(r.value) FILTER (WHERE r.flags = '{}') AS max
FROM agg_pending p
JOIN readings r ON r.patient_id = p.patient_id AND r.type = p.type
    AND r.measured_at >= p.hour AND r.measured_at < p.hour + INTERVAL '1 hour'
GROUP BY 1, 2, 3;

CREATE VIEW readings_1h AS
SELECT m.patient_id, m.type, m.bucket, m.n, m.n_flagged, m.sum, m.min, m.max
FROM readings_1h_mat m
WHERE NOT EXISTS (
    SELECT 1 FROM agg_pending p WHERE p.patient_id = m.patient_id AND p.type = m.type AND p.hour = m.bucket)
UNION ALL
SELECT r.patient_id, r.type, p.hour AS bucket,
       count(*) FILTER (WHERE r.flags = '{}') AS n,
       count(*) FILTER (WHERE r.flags <> '{}') AS n_flagged,
       sum(r.value) FILTER (WHERE r.flags = '{}') AS sum,
       min(r.value) FILTER (WHERE r.flags = '{}') AS min,
       max(r.value) FILTER (WHERE r.flags = '{}') AS max
FROM agg_pending p
JOIN readings r ON r.patient_id = p.patient_id AND r.type = p.type
    AND r.measured_at >= p.hour AND r.measured_at < p.hour + INTERVAL '1 hour'
GROUP BY 1, 2, 3;

-- Time series on TimescaleDB (>= 2.13): hypertables, continuous aggregates
-- at 1 minute and 1 hour with real-time aggregation, compression segmented
-- by patient. Columns and names equal the plain-PostgreSQL variant, so the
-- query API runs the same SQL on both. Chunk intervals, compression, refresh
-- and retention policies are configuration: storage/policy.py generates
-- and applies them after every migrate and `rpm db maintain`.
--
-- TimescaleDB's functions (create_hypertable, by_range, time_bucket, ...)
-- live in the schema the extension was created in, which an application's
-- search_path need not contain: storage.migrate appends that schema to the
-- search_path of the migration's transaction (SET LOCAL), and the views
-- keep the functions they resolved.

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
);
SELECT create_hypertable('readings', by_range('measured_at', INTERVAL '1 day'));
-- Segment by patient: a patient's trend reads one segment per chunk, and
-- the natural-key check for late data into a compressed chunk only
-- decompresses that patient's segment.
ALTER TABLE readings SET (
    timescaledb.compress,
    timescaledb.compress_segmentby = 'patient_id',
    timescaledb.compress_orderby = 'type, measured_at DESC, device_id'
);

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
);
SELECT create_hypertable('window_features', by_range('window_start', INTERVAL '1 day'));
ALTER TABLE window_features SET (
    timescaledb.compress,
    timescaledb.compress_segmentby = 'patient_id',
    timescaledb.compress_orderby = 'type, window_start DESC, window_end'
);

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
);
SELECT create_hypertable('news2_scores', by_range('scored_at', INTERVAL '7 days'));
ALTER TABLE news2_scores SET (
    timescaledb.compress,
    timescaledb.compress_segmentby = 'patient_id',
    timescaledb.compress_orderby = 'scored_at DESC'
);

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
);
SELECT create_hypertable('glucose_trends', by_range('at', INTERVAL '7 days'));

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
);
SELECT create_hypertable('waveform_hr', by_range('at', INTERVAL '7 days'));

-- Real-time (materialized_only = false): rows newer than the last refresh
-- are aggregated at query time, as the plain backend's views do.
CREATE MATERIALIZED VIEW readings_1m
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT patient_id, type,
       time_bucket(INTERVAL '1 minute', measured_at) AS bucket,
       count(*) FILTER (WHERE flags = '{}') AS n,
       count(*) FILTER (WHERE flags <> '{}') AS n_flagged,
       sum(value) FILTER (WHERE flags = '{}') AS sum,
       min(value) FILTER (WHERE flags = '{}') AS min,
       max(value) FILTER (WHERE flags = '{}') AS max
FROM readings
GROUP BY patient_id, type, time_bucket(INTERVAL '1 minute', measured_at)
WITH NO DATA;

-- Hierarchical continuous aggregate (TimescaleDB >= 2.9): 1 h from 1 min.
CREATE MATERIALIZED VIEW readings_1h
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT patient_id, type,
       time_bucket(INTERVAL '1 hour', bucket) AS bucket,
       sum(n)::bigint AS n,
       sum(n_flagged)::bigint AS n_flagged,
       sum(sum) AS sum,
       min(min) AS min,
       max(max) AS max
FROM readings_1m
GROUP BY patient_id, type, time_bucket(INTERVAL '1 hour', bucket)
WITH NO DATA;

-- Segmented by patient like the raw table: a patient's trend reads one
-- segment per compressed chunk.
ALTER MATERIALIZED VIEW readings_1m SET (
    timescaledb.compress = true,
    timescaledb.compress_segmentby = 'patient_id',
    timescaledb.compress_orderby = 'type, bucket DESC'
);

-- Raw waveform snippets (PPG pleth, ECG) on TimescaleDB: a hypertable with
-- daily chunks, compressed segmented by patient, dropped by a retention job
-- (RPM_RETENTION_WAVEFORM_DAYS, shorter than raw readings: docs/storage.md).
-- Columns equal the plain-PostgreSQL variant (0400_waveform_snippets.postgres.sql,
-- which explains the encoding), so storage/waveforms.py runs the same SQL.
CREATE TABLE waveform_snippets (
    patient_id   text COLLATE "C" NOT NULL,
    device_id    text COLLATE "C" NOT NULL,
    kind         text COLLATE "C" NOT NULL CHECK (kind IN ('ppg', 'ecg')),
    start_at     timestamptz NOT NULL,
    end_at       timestamptz NOT NULL,
    fs_hz        double precision NOT NULL CHECK (fs_hz > 0 AND fs_hz <= 1000),
    adc_bits     smallint CHECK (adc_bits BETWEEN 8 AND 24),
    unit         text NOT NULL,
    n_samples    integer NOT NULL CHECK (n_samples BETWEEN 1 AND 30000),
    encoding     text COLLATE "C" NOT NULL CHECK (encoding IN ('i16', 'i32', 'f32', 'f64')),
    samples      bytea NOT NULL,
    received_at  timestamptz NOT NULL,
    CHECK (octet_length(samples) = n_samples * CASE encoding WHEN 'i16' THEN 2 WHEN 'f64' THEN 8 ELSE 4 END),
    CHECK (end_at > start_at),
    PRIMARY KEY (patient_id, device_id, kind, start_at)
);
SELECT create_hypertable('waveform_snippets', by_range('start_at', INTERVAL '1 day'));
-- Segment by patient: a strip reads one segment per chunk, and a late
-- snippet's natural-key check only decompresses that patient's segment.
ALTER TABLE waveform_snippets SET (
    timescaledb.compress,
    timescaledb.compress_segmentby = 'patient_id',
    timescaledb.compress_orderby = 'device_id, kind, start_at DESC'
);
